package ocispec

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOverlayMountError: the kernel's refusals of overlayfs in a user
// namespace get the explanation and the caller's fix, keeping the errno;
// other failures (a layer that is gone) get neither.
func TestOverlayMountError(t *testing.T) {
	for _, tc := range []struct {
		errno   error
		refused bool
	}{
		{unix.EPERM, true}, {unix.EINVAL, true}, {unix.ENODEV, true}, {unix.EOPNOTSUPP, true},
		{unix.ENOENT, false}, {unix.ENOSPC, false},
	} {
		err := OverlayMountError("/a:/b on /c", tc.errno, "use -B dir")
		msg := err.Error()
		if !errors.Is(err, tc.errno) || !strings.HasPrefix(msg, "mount overlay of /a:/b on /c: ") {
			t.Errorf("%v: %q does not keep the errno or name the layers", tc.errno, msg)
		}
		if got := errors.Is(err, ErrOverlayRefused) && strings.HasSuffix(msg, "; use -B dir"); got != tc.refused {
			t.Errorf("%v: %q: explained with the fix = %v, want %v", tc.errno, msg, got, tc.refused)
		}
	}
}
