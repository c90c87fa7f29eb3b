#!/bin/sh
# An LXC user's script: the life of a busybox container, run by
# TestCompat as written (LXC itself) and with "lxc-" made "ulxc " (ulxc).
# $1 is the container path (-P), $2 a directory for each step's stderr.
# Each step prints "== NAME", the command's stdout, then "== exit CODE".
P=$1
E=$2
step() {
	name=$1
	shift
	echo "== $name"
	"$@" 2>"$E/$name"
	echo "== exit $?"
}
step create lxc-create -P "$P" -n c1 -t busybox
step start lxc-start -P "$P" -n c1 -d
step wait-running lxc-wait -P "$P" -n c1 -s RUNNING -t 30
step ls-fancy lxc-ls -P "$P" -f
step ls-names lxc-ls -P "$P"
step ls-line lxc-ls -P "$P" -1 --running
step info-state lxc-info -P "$P" -n c1 -s
step info-state-raw lxc-info -P "$P" -n c1 -s -H
step info-pid-raw lxc-info -P "$P" -n c1 -p -H
step info-key lxc-info -P "$P" -n c1 -c lxc.signal.halt
step attach lxc-attach -P "$P" -n c1 -- /bin/sh -c 'echo inside $(hostname); exit 3'
step attach-missing lxc-attach -P "$P" -n c1 -- /nonexistent/command
step stop lxc-stop -P "$P" -n c1
step stop-again lxc-stop -P "$P" -n c1
step wait-stopped lxc-wait -P "$P" -n c1 -s STOPPED -t 30
step info-stopped lxc-info -P "$P" -n c1 -s
step ls-stopped lxc-ls -P "$P" -f
step destroy lxc-destroy -P "$P" -n c1
step ls-empty lxc-ls -P "$P" -f
step info-gone lxc-info -P "$P" -n c1 -s
