//go:build linux && cgo

package nsenter

// extern int ulxc_nsenter_joined;
import "C"

func joined() bool { return C.ulxc_nsenter_joined == 1 }

const haveCgo = true
