package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ulxc/ulxc/download/downloadtest"
	"github.com/ulxc/ulxc/image"
	"github.com/ulxc/ulxc/internal/testenv"
)

// benchRootfs is the rootfs.tar.xz the benchmarks use: a Debian minbase
// packed by bench/create.sh. Without it they are skipped.
func benchRootfs(b *testing.B) string {
	b.Helper()
	f := os.Getenv("ULXC_BENCH_ROOTFS")
	if f == "" {
		b.Skip("set ULXC_BENCH_ROOTFS to a rootfs.tar.xz (bench/create.sh does)")
	}
	return f
}

// BenchmarkCreate compares, interleaved in one run and as the unprivileged
// test user, `ulxc create` from a warm cache, `ulxc create --flush-cache`
// from a loopback server, and the C pipeline `xz -dc | tar -x` in a user
// namespace, on the same tarball. It reports each one's median and the
// ratios to the C pipeline.
func BenchmarkCreate(b *testing.B) {
	rootfsXZ := benchRootfs(b)
	data, err := os.ReadFile(rootfsXZ)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		b.Skip("no unshare (util-linux)")
	}
	u := testenv.SubIDUser(b)
	srv := downloadtest.New(b, downloadtest.Options{})
	p := downloadtest.Image{}.Path() + "rootfs.tar.xz"
	srv.SetFile(p, data)
	srv.Sign(b, p, srv.Key, nil)
	h := u.NewHome(b)
	keyFile := h.WriteFile(b, "keys/images.asc", string(downloadtest.ArmoredPublicKey(b, srv.Key)))
	local := h.WriteFile(b, "rootfs.tar.xz", "")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		b.Fatal(err)
	}
	create := func(name string, more ...string) []string {
		return append([]string{"-q", "create", name, "-d", "busybox", "-r", "1.36", "--server", srv.URL,
			"--keyid", srv.Fingerprint, "--keyring", keyFile}, more...)
	}
	run := func(cmd *exec.Cmd) time.Duration {
		b.Helper()
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %v\n%s", cmd.Args, err, out)
		}
		return time.Since(start)
	}
	remove := func(dir string) {
		b.Helper()
		run(h.Exec(b, nil, "unshare", "--map-auto", "--map-root-user", "rm", "-rf", dir))
	}
	// Fill the cache once.
	run(h.Command(b, nil, create("warmup")...))
	run(h.Command(b, nil, "destroy", "warmup"))

	var warm, cold, pipe []time.Duration
	b.ResetTimer()
	for i := range b.N {
		name := "c" + strconv.Itoa(i)
		warm = append(warm, run(h.Command(b, nil, create(name)...)))
		b.StopTimer()
		run(h.Command(b, nil, "destroy", name))
		b.StartTimer()

		cold = append(cold, run(h.Command(b, nil, create(name, "--flush-cache")...)))
		b.StopTimer()
		run(h.Command(b, nil, "destroy", name))
		dir := filepath.Join(h.Dir, "tar-"+name)
		run(h.Exec(b, nil, "mkdir", dir))
		b.StartTimer()

		pipe = append(pipe, run(h.Exec(b, nil, "unshare", "--map-auto", "--map-root-user", "sh", "-c",
			`xz -dc "$1" | tar --numeric-owner --exclude='./dev/*' -xpf - -C "$2"`, "sh", local, dir)))
		b.StopTimer()
		remove(dir)
		b.StartTimer()
	}
	b.StopTimer()
	mw, mc, mp := median(warm), median(cold), median(pipe)
	b.ReportMetric(mw.Seconds(), "warm-s")
	b.ReportMetric(mc.Seconds(), "cold-s")
	b.ReportMetric(mp.Seconds(), "xz|tar-s")
	b.ReportMetric(mw.Seconds()/mp.Seconds(), "warm/xz|tar")
	b.ReportMetric(mc.Seconds()/mp.Seconds(), "cold/xz|tar")
}

// BenchmarkDecompress compares decompression alone: image.NewXZReader
// (parallel on multi-block files) with xz-utils' `xz -dc`.
func BenchmarkDecompress(b *testing.B) {
	rootfsXZ := benchRootfs(b)
	b.Run("ulxc", func(b *testing.B) {
		for range b.N {
			f, err := os.Open(rootfsXZ)
			if err != nil {
				b.Fatal(err)
			}
			xr, err := image.NewXZReader(f)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, xr)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(n)
			xr.Close()
			f.Close()
		}
	})
	b.Run("xz-utils", func(b *testing.B) {
		for range b.N {
			cmd := exec.Command("xz", "-dc", rootfsXZ)
			cmd.Stdout = io.Discard
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
