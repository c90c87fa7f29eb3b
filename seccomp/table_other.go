//go:build !(linux && (amd64 || arm64))

package seccomp

// No syscall table here: Compile refuses every policy (ErrUnsupported).
var native = arch{}

var compat *arch
