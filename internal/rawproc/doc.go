// Package rawproc is the code that runs in a process cloned from a Go
// program with no Go runtime behind it: a container's init, from its
// clone to the exec of the container's process (init.go, with the clone
// itself in fork_amd64.s and fork_other.go), and the forks of package
// nsenter, which join a running container (join.go: attach's process,
// and Socket's), or bind a device node into it (device.go). Init and
// the join become their command by the same steps in the same order
// (exec.go: bounding set, seccomp, ids, directory, exec), and report a
// failure the same way (report.go: the step's number, never its text,
// which the caller keeps). Package runtime (init's supervisor) and
// package nsenter prepare what these processes do, as data (Plan, Join,
// DeviceBind, SocketJob), fork them and read what they report; every
// function of this package runs in the forked process, or around the
// fork with every signal blocked (ForkJoin), or with no Go runtime behind
// it in the caller: the handler that passes attach's signals on to the
// attached process, which the kernel calls (forward.go). Nothing else
// belongs here, so that the package can be audited as one unit, and
// tested as one (TestInitRuntimeCalls).
//
// It lives in the module's internal directory rather than under runtime
// because nsenter, a top-level package, imports it too.
//
// # The rule
//
// A forked process runs on the parent's memory (on amd64 init shares it
// with CLONE_VM unless it sets an OOM score, its hooks share init's until
// their exec, and so do nsenter's two forks for attach; the others have a
// copy), with
// only the forking thread copied: no thread of the Go runtime runs
// there, and another may have held a runtime lock at the fork. So, like
// the child half of package syscall's forkExec, the code here may not
// allocate, grow the stack, write a pointer (a write barrier may be on),
// index a slice where the compiler cannot prove the index in range (the
// bounds-check panic is the runtime's), or call anything but raw system
// calls and other functions of this package, all of them nosplit (but
// for ForkJoin and StartChild, which the Go side calls to fork: their
// stack check runs at their entry, in the caller, before any clone).
// Everything it needs is prepared before the fork; what it learns
// (descriptors, which mounts worked) goes into the data's non-pointer
// fields. Copy a slice field to a local before a loop over it, so that
// the compiler can drop the bounds check; take &s[0] as
// unsafe.SliceData(s); check an index against the length as a uint.
//
// What checks that rule, and what happens if it is broken anyway:
//
//   - The linker checks the nosplit stack budget of every chain of calls
//     from here (nothing else: it does not look at what is called).
//   - TestInitRuntimeCalls disassembles the built ulxc and nsenter's test
//     binary (go tool objdump) and fails on any call or jump from a
//     function of this package to anything but another function of it
//     and syscall.RawSyscall and RawSyscall6: an allocation, a bounds
//     check, a write barrier. It also builds ulxc with the tag
//     ulxc_initfault (fault_on.go: init allocates) and must find that
//     call. It reads amd64's code only; TestLinksElsewhere links ulxc
//     for arm64, whose chains (plain forks, on the caller's stack) are
//     the longest.
//   - On amd64 init runs on a stack and a thread-local block of its own,
//     with the g register cleared (runtime's forkInit, fork_amd64.s): the
//     Go runtime's first use of g faults, and with every signal blocked
//     the kernel kills init for it. cmd/ulxc's TestInitFaultKillsInit
//     runs the ulxc_initfault build: init dies, the supervisor says so
//     and lives. Elsewhere init continues on a copy of the supervisor's
//     stack with the supervisor's g (StartChild), and nsenter's forks
//     always do: there only the disassembly (of amd64) stands for the
//     rule.
//
// The nosplit budget is tight: the deepest chain (cloneVM, childEntry,
// childMain, consoles or mountOne, resolveInRoot, syscall.RawSyscall6)
// leaves about 100 of the linker's 792 bytes. A step that does not fit
// fails the build with "nosplit stack over 792 byte limit" and the chain:
// call it from childMain rather than from deeper down, keep its locals
// few, and call syscall.RawSyscall6 directly (syscall.RawSyscall costs a
// frame more). A hook's chain counts from init's too, through forkHook,
// which is assembly on amd64 so that it adds no frame.
package rawproc
