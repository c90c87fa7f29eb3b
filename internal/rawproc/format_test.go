package rawproc

import (
	"bytes"
	"strconv"
	"testing"
)

// TestFormatFD: the descriptor init writes into the fd option of the
// FUSE mount, NUL-terminated.
func TestFormatFD(t *testing.T) {
	for _, fd := range []uintptr{0, 7, 10, 123, 1<<31 - 1} {
		var buf [12]byte
		formatFD(&buf, fd)
		got, _, _ := bytes.Cut(buf[:], []byte{0})
		if want := strconv.FormatUint(uint64(fd), 10); string(got) != want {
			t.Errorf("formatFD(%d) = %q, want %q", fd, got, want)
		}
	}
}
