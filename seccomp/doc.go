// Package seccomp compiles the linux.seccomp section of a runtime spec into
// a classic BPF filter and installs it: how a container gets the syscall
// policy of lxc.seccomp.profile (package ocispec reads LXC's policy files
// into the spec).
//
// The filter checks the architecture first: the machine's own and its
// 32-bit compat one (x86_64 and i386, aarch64 and arm) each get the rules
// with their own syscall numbers (table_GOARCH.go, generated from
// golang.org/x/sys/unix by gen_tables.go), so that a denied call cannot be
// made through int 0x80 or a 32-bit binary instead; any other
// architecture, and x86_64's x32 calls, get ENOSYS. Rules are checked in
// order and the first match decides; argument conditions can be
// SCMP_CMP_EQ and SCMP_CMP_MASKED_EQ, which is what LXC's policies use
// (reject_force_umount). Actions are allow, errno, kill (thread or
// process), trap and log; notify and trace need a supervisor listening and
// are refused (ErrUnsupported), as is a machine with no syscall table.
//
// Install needs CAP_SYS_ADMIN in the caller's user namespace (root of the
// container has it), or no_new_privs. A filter belongs to a thread and is
// inherited across exec: the runtime installs it on the thread that execs
// the container's process, after everything else is set up, and attach
// does the same for an attached process.
package seccomp
