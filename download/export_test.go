package download

import "testing"

// SetMaxRootfsBytes lowers the rootfs.tar.xz size limit for the test t.
func SetMaxRootfsBytes(t testing.TB, n int64) {
	old := maxRootfsBytes
	maxRootfsBytes = n
	t.Cleanup(func() { maxRootfsBytes = old })
}

// MaxRootfsBytes is the rootfs.tar.xz size limit.
func MaxRootfsBytes() int64 { return maxRootfsBytes }
