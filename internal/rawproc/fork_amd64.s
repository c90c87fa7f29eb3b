#include "textflag.h"

// nsenter's two forks (fork_amd64.go): the same clone, whose child calls
// FN(j). Two copies, one per child, so that the linker's check of the
// nosplit stack sees no cycle (intermediate calls cloneJoined).
#define CLONE_AND_CALL(FN) \
	MOVQ	args+0(FP), DI \
	MOVQ	size+8(FP), SI \
	MOVQ	j+16(FP), R12 \
	MOVQ	$435, AX \
	SYSCALL \
	CMPQ	AX, $0 \
	JEQ	child \
	CMPQ	AX, $0xfffffffffffff001 \
	JLS	ok \
	MOVQ	$0, pid+24(FP) \
	NEGQ	AX \
	MOVQ	AX, errno+32(FP) \
	RET \
ok: \
	MOVQ	AX, pid+24(FP) \
	MOVQ	$0, errno+32(FP) \
	RET \
child: \
	ANDQ	$-16, SP \
	SUBQ	$16, SP \
	MOVQ	R12, 0(SP) \
	XORQ	R14, R14 \
	CALL	FN(SB) \
	MOVL	$127, DI \
	MOVL	$231, AX \
	SYSCALL \
	INT	$3


// func cloneVM(args *cloneArgs, size uintptr, p *rawPlan) (pid uintptr, errno uintptr)
//
// clone3 with the caller's args (CLONE_VM and a stack of init's own). The
// parent returns the pid or the errno. The child, on the new stack, calls
// childEntry(p), which execs or exits, and never returns here.
TEXT ·cloneVM(SB),NOSPLIT|NOFRAME,$0-40
	MOVQ	args+0(FP), DI
	MOVQ	size+8(FP), SI
	MOVQ	p+16(FP), R12 // the system call keeps R12 (it clobbers CX and R11)
	MOVQ	$435, AX // SYS_clone3
	SYSCALL
	CMPQ	AX, $0
	JEQ	child
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	MOVQ	$0, pid+24(FP)
	NEGQ	AX
	MOVQ	AX, errno+32(FP)
	RET
ok:
	MOVQ	AX, pid+24(FP)
	MOVQ	$0, errno+32(FP)
	RET
child:
	// The kernel started the child with SP at the top of args.stack and
	// FS at a thread-local block whose g is nil. R14 is the g register
	// of Go's internal ABI: clear it too, so that any use of g by the Go
	// runtime faults in init (forkInit).
	ANDQ	$-16, SP
	SUBQ	$16, SP
	MOVQ	R12, 0(SP)
	XORQ	R14, R14
	CALL	·childEntry(SB)
	MOVL	$127, DI
	MOVL	$231, AX // SYS_exit_group
	SYSCALL
	INT	$3

// func cloneIntermediate(args *CloneArgs, size uintptr, j *Join) (pid uintptr, errno uintptr)
TEXT ·cloneIntermediate(SB),NOSPLIT|NOFRAME,$0-40
	CLONE_AND_CALL(·intermediate)

// func cloneJoined(args *CloneArgs, size uintptr, j *Join) (pid uintptr, errno uintptr)
TEXT ·cloneJoined(SB),NOSPLIT|NOFRAME,$0-40
	CLONE_AND_CALL(·joined)

// func forkHook(args *CloneArgs, size uintptr, j *Plan) (pid uintptr, errno uintptr)
//
// clone3 with args (Plan.HookArgs: a stack of the hook's own, sharing
// init's memory until the exec); the child calls hookEntry(j). Called
// straight from init's forkHooks, with no Go frame between: the hook's
// chain of calls follows init's on the linker's nosplit budget.
TEXT ·forkHook(SB),NOSPLIT|NOFRAME,$0-40
	CLONE_AND_CALL(·hookEntry)
