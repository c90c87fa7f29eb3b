package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
// test user, on the same tarball:
//
//	warm     ulxc create, image cached with its decompressed tar kept
//	cold     ulxc create --flush-cache: download from a loopback server,
//	         verify, commit, decompress with xz-utils (the default where
//	         it is installed) piped to the unpacking child, keep the tar
//	cold-go  the same with the pure-Go decoder (ULXC_XZ=go)
//	xz|tar   unshare --map-auto --map-root-user sh -c 'xz -dc F | tar -x'
//	overlay  ulxc create -B overlay, the image's shared layer cached: an
//	         upper layer and the config, no unpack (goal: under 50 ms)
//
// It reports each one's median wall time, the ratios to the C pipeline, and
// the median user and system CPU time of each (the process and every child
// it waited for).
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
	run := func(cmd *exec.Cmd) cost {
		b.Helper()
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %v\n%s", cmd.Args, err, out)
		}
		return cost{time.Since(start), cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime()}
	}
	remove := func(dir string) {
		b.Helper()
		run(h.Exec(b, nil, "unshare", "--map-auto", "--map-root-user", "rm", "-rf", dir))
	}
	// Fill the cache once, and the layer cache.
	run(h.Command(b, nil, create("warmup")...))
	run(h.Command(b, nil, "destroy", "warmup"))
	run(h.Command(b, nil, create("warmup", "-B", "overlay")...))
	run(h.Command(b, nil, "destroy", "warmup"))

	costs := map[string][]cost{}
	b.ResetTimer()
	for i := range b.N {
		name := "c" + strconv.Itoa(i)
		for _, v := range []struct {
			key string
			env []string
			cmd func() *exec.Cmd
		}{
			{"warm", nil, func() *exec.Cmd { return h.Command(b, nil, create(name)...) }},
			{"cold", nil, func() *exec.Cmd { return h.Command(b, nil, create(name, "--flush-cache")...) }},
			{"cold-go", nil, func() *exec.Cmd { return h.Command(b, []string{"ULXC_XZ=go"}, create(name, "--flush-cache")...) }},
			{"overlay", nil, func() *exec.Cmd { return h.Command(b, nil, create(name, "-B", "overlay")...) }},
		} {
			costs[v.key] = append(costs[v.key], run(v.cmd()))
			b.StopTimer()
			run(h.Command(b, nil, "destroy", name))
			b.StartTimer()
		}
		b.StopTimer()
		dir := filepath.Join(h.Dir, "tar-"+name)
		run(h.Exec(b, nil, "mkdir", dir))
		b.StartTimer()
		costs["xz|tar"] = append(costs["xz|tar"], run(h.Exec(b, nil, "unshare", "--map-auto", "--map-root-user", "sh", "-c",
			`xz -dc "$1" | tar --numeric-owner --exclude='./dev/*' -xpf - -C "$2"`, "sh", local, dir)))
		b.StopTimer()
		remove(dir)
		b.StartTimer()
	}
	b.StopTimer()
	// One more warm and cold create with --debug: where the time goes.
	for _, more := range [][]string{nil, {"--flush-cache"}} {
		out, err := h.Command(b, nil, append([]string{"--debug"}, create("debug", more...)...)...).CombinedOutput()
		if err != nil {
			b.Fatalf("create --debug: %v\n%s", err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "seconds=") || strings.Contains(l, "decoder=") {
				b.Logf("%v: %s", more, l[strings.Index(l, "msg="):])
			}
		}
		run(h.Command(b, nil, "destroy", "debug"))
	}
	pipe := medianCost(costs["xz|tar"])
	for _, k := range []string{"warm", "cold", "cold-go", "overlay", "xz|tar"} {
		m := medianCost(costs[k])
		b.ReportMetric(m.wall.Seconds(), k+"-s")
		b.ReportMetric(m.user.Seconds(), k+"-user-s")
		b.ReportMetric(m.sys.Seconds(), k+"-sys-s")
		if k != "xz|tar" {
			b.ReportMetric(m.wall.Seconds()/pipe.wall.Seconds(), k+"/xz|tar")
		}
	}
}

// cost is what one command took: wall-clock, user and system CPU time.
type cost struct{ wall, user, sys time.Duration }

// medianCost takes the median of each measure on its own.
func medianCost(cs []cost) cost {
	var w, u, s []time.Duration
	for _, c := range cs {
		w, u, s = append(w, c.wall), append(u, c.user), append(s, c.sys)
	}
	return cost{median(w), median(u), median(s)}
}

// BenchmarkDecompress compares decompression alone: image.DecompressXZ
// with each decoder (Go: parallel on multi-block files; xz-utils: `xz -dc
// -T0` through a pipe), and plain `xz -dc` as the C pipeline runs it.
func BenchmarkDecompress(b *testing.B) {
	rootfsXZ := benchRootfs(b)
	for _, d := range []image.XZDecoder{image.XZGo, image.XZUtils} {
		b.Run(string(d), func(b *testing.B) {
			for range b.N {
				f, err := os.Open(rootfsXZ)
				if err != nil {
					b.Fatal(err)
				}
				xr, _, err := image.DecompressXZ(f, d)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.CopyBuffer(io.Discard, xr, make([]byte, 1<<20))
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(n)
				xr.Close()
				f.Close()
			}
		})
	}
	b.Run("xz-dc", func(b *testing.B) {
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
