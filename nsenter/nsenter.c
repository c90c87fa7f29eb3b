//go:build linux && cgo

// The pre-runtime half of package nsenter: see doc.go. It runs in every
// ulxc process and does nothing unless _ULXC_NSENTER is set. Keep it tiny:
// it runs before Go, so it cannot report errors the Go way; it writes one
// line on the sync descriptor, "pid N" or "STEP ERRNO", and exits.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

// ulxc_nsenter_joined is 1 in the process that the constructor forked
// inside the namespaces; Go reads it through Joined.
int ulxc_nsenter_joined;

static void say(int fd, const char *what, long n)
{
	char buf[64];
	int len = snprintf(buf, sizeof(buf), "%s %ld\n", what, n);
	if (write(fd, buf, len) < 0) {
		// Nobody to tell: the parent sees EOF.
	}
}

__attribute__((constructor)) static void ulxc_nsenter(void)
{
	const char *marker = getenv("_ULXC_NSENTER");
	int pidfd, syncfd;
	unsigned long flags;
	long pid;

	if (marker == NULL)
		return;
	if (sscanf(marker, "%d,%d,%lu", &pidfd, &syncfd, &flags) != 3)
		_exit(126);
	// Before anything of the container can see us (doc.go, step 1).
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		say(syncfd, "dumpable", errno);
		_exit(1);
	}
	if (setns(pidfd, (int)flags) < 0) {
		say(syncfd, "setns", errno);
		_exit(1);
	}
	// A fork (no new stack) whose parent is our parent. s390 swaps the
	// first two arguments of the raw clone syscall.
#if defined(__s390__) || defined(__s390x__)
	pid = syscall(SYS_clone, 0, CLONE_PARENT | SIGCHLD, 0, 0, 0);
#else
	pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
#endif
	if (pid < 0) {
		say(syncfd, "clone", errno);
		_exit(1);
	}
	if (pid > 0) {
		say(syncfd, "pid", pid);
		_exit(0);
	}
	close(pidfd);
	close(syncfd);
	ulxc_nsenter_joined = 1;
}
