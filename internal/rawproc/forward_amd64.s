#include "textflag.h"

// forwardHandler is the signal handler of forward.go, called by the
// kernel with the signal in DI: pidfd_send_signal(forwardFD, sig, NULL,
// 0) unless forwardFD is -1. It touches only registers a C function may
// clobber, and the kernel restores them all at rt_sigreturn anyway.
TEXT ·forwardHandler(SB),NOSPLIT|NOFRAME,$0
	MOVL	DI, SI
	MOVLQSX	·forwardFD(SB), DI
	TESTQ	DI, DI
	JS	done
	XORL	DX, DX
	XORL	R10, R10
	MOVL	$424, AX // SYS_pidfd_send_signal
	SYSCALL
done:
	RET

// forwardRestorer is where forwardHandler returns to (SA_RESTORER).
TEXT ·forwardRestorer(SB),NOSPLIT|NOFRAME,$0
	MOVL	$15, AX // SYS_rt_sigreturn
	SYSCALL
	INT	$3

// func forwardEntries() (handler, restorer uintptr)
TEXT ·forwardEntries(SB),NOSPLIT,$0-16
	LEAQ	·forwardHandler(SB), AX
	MOVQ	AX, handler+0(FP)
	LEAQ	·forwardRestorer(SB), AX
	MOVQ	AX, restorer+8(FP)
	RET
