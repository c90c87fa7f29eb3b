package cgroup

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ulxc/ulxc/internal/testenv"
	"golang.org/x/sys/unix"
)

func TestEnableFake(t *testing.T) {
	tests := []struct {
		name        string
		avail, on   string
		ctrls       []string
		wantErr     error
		wantWritten string // what Enable wrote to cgroup.subtree_control; "" for nothing
	}{
		{"enable two", "cpu memory pids\n", "", []string{"memory", "pids"}, nil, "+memory +pids"},
		{"skip enabled", "cpu memory pids\n", "memory\n", []string{"memory", "pids"}, nil, "+pids"},
		{"all enabled", "memory pids\n", "memory pids\n", []string{"pids", "memory"}, nil, ""},
		{"duplicate", "memory\n", "", []string{"memory", "memory"}, nil, "+memory"},
		{"missing", "memory pids\n", "", []string{"memory", "hugetlb"}, ErrNoController, ""},
		{"none available", "", "", []string{"pids"}, ErrNoController, ""},
		{"nothing asked", "", "", nil, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fakeCgroup(t, dir, tc.avail, "")
			// Enable reads the file first; give it the enabled list,
			// then see what it writes over it.
			sc := filepath.Join(dir, subtreeControlFile)
			if err := os.WriteFile(sc, []byte(tc.on), 0o644); err != nil {
				t.Fatal(err)
			}
			err := Enable(dir, tc.ctrls)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Enable(%q, %q) = %v, want %v", tc.avail, tc.ctrls, err, tc.wantErr)
			}
			b, _ := os.ReadFile(sc)
			written := string(b)
			if written == tc.on {
				written = ""
			}
			if written != tc.wantWritten {
				t.Errorf("Enable(%q, %q) wrote %q, want %q", tc.avail, tc.ctrls, written, tc.wantWritten)
			}
			if errors.Is(err, ErrNoController) && !strings.Contains(err.Error(), "available: ") {
				t.Errorf("Enable(%q, %q) = %v, want the available controllers named", tc.avail, tc.ctrls, err)
			}
		})
	}
}

func TestBusyErrorText(t *testing.T) {
	e := &BusyError{Dir: "/cg/x", Procs: []Proc{{Pid: 12, Comm: "bash"}, {Pid: 13}}}
	want := "/cg/x: cgroup holds processes: 12 (bash), 13"
	if e.Error() != want || !errors.Is(e, ErrBusy) {
		t.Errorf("BusyError.Error() = %q, want %q (and ErrBusy)", e.Error(), want)
	}
}

func TestProcsAndChildrenFake(t *testing.T) {
	dir := t.TempDir()
	fakeCgroup(t, dir, "", "")
	if err := os.WriteFile(filepath.Join(dir, procsFile), []byte("1\n"+itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"b", "a"} {
		if err := os.Mkdir(filepath.Join(dir, c), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	procs, err := Procs(dir)
	if err != nil || len(procs) != 2 || procs[0].Pid != 1 || procs[1].Pid != os.Getpid() || procs[1].Comm == "" {
		t.Errorf("Procs(fake) = %v, %v, want pid 1 and this process with its comm", procs, err)
	}
	if kids, err := Children(dir); err != nil || !slices.Equal(kids, []string{"a", "b"}) {
		t.Errorf("Children(fake) = %q, %v, want [a b]", kids, err)
	}
	if err := os.WriteFile(filepath.Join(dir, procsFile), []byte("12 x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Procs(dir); err == nil {
		t.Errorf("Procs(%q) = nil error, want a bad pid", "12 x")
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatalf("Lock(%q) = %v", dir, err)
	}
	// flock locks belong to open file descriptions: a second one
	// conflicts even in the same process.
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Errorf("flock while Lock holds it = %v, want EWOULDBLOCK", err)
	}
	unlock()
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Errorf("flock after unlock = %v, want nil", err)
	}
	if _, err := Lock(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Lock(missing) = %v, want ErrNotExist", err)
	}
}

// realCgroup makes a fresh cgroup under the cgroup2 mount, with a
// controller available in it, and returns it with that controller's name.
func realCgroup(t *testing.T) (dir, ctrl string) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "making cgroups needs root")
	}
	mp, err := Mountpoint()
	if err != nil {
		testenv.Skipf(t, "no cgroup2 hierarchy: %v", err)
	}
	avail, err := readList(filepath.Join(mp, controllersFile))
	if err != nil || len(avail) == 0 {
		testenv.Skipf(t, "no controller in %s: %v", filepath.Join(mp, controllersFile), err)
	}
	ctrl = avail[0]
	// The root may enable controllers while it holds processes; systemd
	// hosts enable them all. This stays: other tests may rely on it.
	if err := Enable(mp, []string{ctrl}); err != nil {
		t.Fatalf("enable %s at the root: %v", ctrl, err)
	}
	dir, err = os.MkdirTemp(mp, "ulxc-cgtest-")
	if err != nil {
		testenv.Skipf(t, "cannot make a cgroup under %s: %v", mp, err)
	}
	t.Cleanup(func() {
		subs, _ := filepath.Glob(filepath.Join(dir, "*", procsFile))
		for _, s := range subs {
			os.Remove(filepath.Dir(s))
		}
		if err := os.Remove(dir); err != nil {
			t.Logf("remove %s: %v", dir, err)
		}
	})
	return dir, ctrl
}

func TestEnableBusy(t *testing.T) {
	dir, ctrl := realCgroup(t)
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	if err := Move(dir, sleep.Process.Pid); err != nil {
		t.Fatalf("Move(%s, sleep) = %v", dir, err)
	}

	err := Enable(dir, []string{ctrl})
	var be *BusyError
	if !errors.As(err, &be) || !errors.Is(err, ErrBusy) {
		t.Fatalf("Enable(%s) with a process inside = %v, want a *BusyError", dir, err)
	}
	if len(be.Procs) != 1 || be.Procs[0].Pid != sleep.Process.Pid || be.Procs[0].Comm != "sleep" {
		t.Errorf("BusyError.Procs = %v, want [%d (sleep)]", be.Procs, sleep.Process.Pid)
	}

	// Once the process sits in a leaf, the controller can be enabled.
	leaf := filepath.Join(dir, "leaf")
	if err := os.Mkdir(leaf, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Move(leaf, sleep.Process.Pid); err != nil {
		t.Fatalf("Move(leaf, sleep) = %v", err)
	}
	if err := Enable(dir, []string{ctrl}); err != nil {
		t.Fatalf("Enable(%s) without processes = %v", dir, err)
	}
	if on, err := SubtreeControl(dir); err != nil || !slices.Contains(on, ctrl) {
		t.Errorf("SubtreeControl(%s) = %q, %v, want %s in it", dir, on, err, ctrl)
	}
	if got, _ := readList(filepath.Join(leaf, controllersFile)); !slices.Contains(got, ctrl) {
		t.Errorf("leaf's cgroup.controllers = %q, want %s in it", got, ctrl)
	}
	if kids, err := Children(dir); err != nil || !slices.Equal(kids, []string{"leaf"}) {
		t.Errorf("Children(%s) = %q, %v, want [leaf]", dir, kids, err)
	}
	// With a controller enabled for its children, the kernel lets no
	// process back into dir.
	if err := Move(dir, sleep.Process.Pid); !errors.Is(err, unix.EBUSY) {
		t.Errorf("Move(dir) with %s enabled = %v, want EBUSY", ctrl, err)
	}
	if err := Disable(dir, []string{ctrl}); err != nil {
		t.Fatalf("Disable(%s) = %v", dir, err)
	}
	if on, _ := SubtreeControl(dir); len(on) != 0 {
		t.Errorf("SubtreeControl(%s) after Disable = %q, want none", dir, on)
	}
	if err := Move(dir, sleep.Process.Pid); err != nil {
		t.Errorf("Move(dir) after Disable = %v", err)
	}
	if procs, err := Procs(dir); err != nil || len(procs) != 1 || procs[0].Pid != sleep.Process.Pid {
		t.Errorf("Procs(%s) = %v, %v, want the sleep", dir, procs, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
