package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/download"
	"github.com/ulxc/ulxc/download/downloadtest"
	"github.com/ulxc/ulxc/internal/testenv"
	"github.com/ulxc/ulxc/runtime/runtimetest"
)

// TestLXCCreatedContainer runs, with ulxc, a container that LXC 5 itself
// made as the unprivileged user: lxc-create -t download against a local
// HTTPS image server that wget is told to trust.
func TestLXCCreatedContainer(t *testing.T) {
	if _, err := exec.LookPath("lxc-create"); err != nil {
		testenv.Skipf(t, "LXC is not installed (apt-get install lxc): %v", err)
	}
	if _, err := exec.LookPath("wget"); err != nil {
		testenv.Skipf(t, "lxc-download needs wget: %v", err)
	}
	u := testenv.SubIDUser(t)
	h := u.NewHome(t)
	start, count := runtimetest.SubRange(t, u)
	srv, cert := downloadtest.NewTLS(t, downloadtest.Options{})
	certFile := h.WriteFile(t, "tls/cert.pem", string(cert))
	wgetrc := h.WriteFile(t, "tls/wgetrc", "ca_certificate = "+certFile+"\n")
	h.WriteFile(t, ".config/lxc/default.conf", strings.Join([]string{
		"lxc.idmap = u 0 " + itoa(start) + " " + itoa(count),
		"lxc.idmap = g 0 " + itoa(start) + " " + itoa(count),
		"lxc.net.0.type = empty",
	}, "\n")+"\n")
	server := strings.TrimPrefix(srv.URL, "https://")
	create := h.Exec(t, []string{"WGETRC=" + wgetrc}, "lxc-create", "-n", "c1", "-t", "download", "--",
		"-d", "busybox", "-r", "1.36", "-a", download.HostArch(), "--server", server)
	r := testenv.RunCmd(t, create)
	t.Logf("lxc-create: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	if r.Code != 0 {
		t.Fatalf("lxc-create as %s: exit %d", u.Name, r.Code)
	}
	lxcpath := filepath.Join(h.Dir, ".local/share/lxc")
	run := func(args ...string) testenv.Result {
		t.Helper()
		return h.MustRun(t, append([]string{"-P", lxcpath}, args...)...)
	}
	if r := h.Run(t, "-P", lxcpath, "start", "c1"); r.Code != 0 {
		log, _ := os.ReadFile(filepath.Join(lxcpath, "c1", "c1.log"))
		t.Fatalf("ulxc start of LXC's c1: exit %d: %s\nlog:\n%s", r.Code, r.Stderr, log)
	}
	t.Cleanup(func() { h.Run(t, "-P", lxcpath, "stop", "-k", "c1") })
	if row := lsIn(t, h, lxcpath)["c1"]; row.State != "RUNNING" || row.Pid == 0 {
		t.Errorf("ls: c1 is %+v, want RUNNING with a pid", row)
	}
	r = run("attach", "c1", "--", "sh", "-c", "id -u; hostname; cat /proc/self/uid_map")
	if got := lines(r.Stdout); len(got) != 3 || got[0] != "0" || got[1] != "c1" || got[2] != "0 "+itoa(start)+" "+itoa(count) {
		t.Errorf("attach c1 -- id -u; hostname; uid_map = %q, want 0, c1, 0 %d %d", got, start, count)
	}
	run("stop", "c1")
	if row := lsIn(t, h, lxcpath)["c1"]; row.State != "STOPPED" {
		t.Errorf("ls after stop: c1 is %s, want STOPPED", row.State)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
