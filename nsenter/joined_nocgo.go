//go:build !cgo

package nsenter

func joined() bool { return false }

const haveCgo = false
