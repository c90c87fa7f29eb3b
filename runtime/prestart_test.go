package runtime

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestUnfitPrestart(t *testing.T) {
	clone := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID)
	ps := &prestarted{flags: clone}
	own := Options{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	var buf bytes.Buffer
	for _, tc := range []struct {
		name  string
		opts  Options
		flags uintptr
		want  string // in the reason; "" for a fit
	}{
		{"foreground on our stdio", own, unix.CLONE_NEWNS | unix.CLONE_NEWPID, ""},
		{"console, stdio unused", Options{Console: true, Stderr: os.Stderr}, unix.CLONE_NEWNS | unix.CLONE_NEWPID, ""},
		{"no pid namespace", own, unix.CLONE_NEWNS, "namespaces"},
		{"another stdout", Options{Stdin: os.Stdin, Stdout: &buf, Stderr: os.Stderr}, unix.CLONE_NEWNS | unix.CLONE_NEWPID, "stdio"},
		{"another stderr", Options{Console: true, Stderr: &buf}, unix.CLONE_NEWNS | unix.CLONE_NEWPID, "stderr"},
	} {
		c := &Container{opts: tc.opts}
		got := c.unfitPrestart(ps, tc.flags)
		if (got == "") != (tc.want == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: unfitPrestart = %q, want %q", tc.name, got, tc.want)
		}
	}
}
