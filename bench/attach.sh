#!/bin/sh
# bench/attach.sh: how fast is `ulxc attach NAME -- /bin/true` into a running
# busybox system container, against util-linux nsenter into the same
# namespaces, as the same unprivileged user, with 20 containers running.
#
# Run as root from the repository root (it switches to the test user):
#   sh bench/attach.sh [RUNS]
#
# In one run of the script (hyperfine, 10 rounds, each in its own shuffled
# order, as bench/start.sh does), as ULXC_TEST_USER (default ulxc-test):
#   ulxc     ulxc attach bb -- /bin/true   (all seven namespaces joined in
#            one setns through a pidfd, setsid, the container's bounding set
#            and ids, the exec; no pty: stdin is not a terminal)
#   nsenter  nsenter -t PID -U -m -u -i -n -p /bin/true  (the same join by
#            util-linux: the floor for a process in those namespaces)
#   base     with ULXC_BASE=PATH, the same attach by another ulxc binary
#            (say, one built from the previous commit), for a before/after
# and prints the medians and their ratios to nsenter.
set -eu
for tool in hyperfine nsenter; do
	command -v "$tool" >/dev/null || { echo "$0: needs $tool (apt-get install -y hyperfine util-linux)" >&2; exit 1; }
done
RUNS=${1:-200}
U=${ULXC_TEST_USER:-ulxc-test}
W=$(mktemp -d /var/tmp/ulxc-bench-attach.XXXXXX)
chmod 755 "$W"
H=$W/home
mkdir -p "$H/run" "$H/.local/share/ulxc"
chown -R "$U:" "$H"
cleanup() {
	as sh -c 'for d in "$HOME"/.local/share/ulxc/*/; do "$0" stop -k "$(basename "$d")" >/dev/null 2>&1 || true; done' "$W/ulxc" || true
	rm -rf "$W"
}
trap cleanup EXIT
as() {
	setpriv --reuid "$U" --regid "$U" --clear-groups env -i HOME="$H" XDG_RUNTIME_DIR="$H/run" \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

mkdir "$W/build"
CGO_ENABLED=0 go build -trimpath -tags ulxc_lean -o "$W/build/ulxc" ./cmd/ulxc
cp "$W/build/ulxc" "$W/ulxc"
chmod 755 "$W/ulxc"
if [ -n "${ULXC_BASE:-}" ]; then
	cp "$ULXC_BASE" "$W/base"
	chmod 755 "$W/base"
fi
. bench/lib.sh
settle "$W/ulxc" ${ULXC_BASE:+"$W/base"}
sub=$(awk -F: -v u="$U" '$1 == u { print $2 ":" $3; exit }' /etc/subuid)
start=${sub%%:*}
count=${sub##*:}
[ "$count" -gt 65536 ] && count=65536

S=$H/.local/share/ulxc
mkct() { # mkct NAME: a container on the shared rootfs of bb
	as mkdir -m 0700 "$S/$1"
	as sh -c "cat > '$S/$1/config'" <<EOT
lxc.idmap = u 0 $start $count
lxc.idmap = g 0 $start $count
lxc.rootfs.path = dir:$S/bb/rootfs
lxc.uts.name = $1
lxc.signal.halt = SIGUSR1
EOT
}
mkct bb
as "$W/ulxc" usernsexec -m "b:0:$start:$count" -s -- /bin/busybox sh -c '
set -e; r="$1/rootfs"; mkdir -p "$r"; cd "$r"
mkdir -p bin sbin etc proc sys dev tmp root run
cp /bin/busybox bin/busybox
for a in $(bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "bin/$a"; done
ln -sf ../bin/busybox sbin/init
printf "::sysinit:/bin/true\n::respawn:/bin/sleep 100000\n" > etc/inittab
echo "root:x:0:0:root:/root:/bin/sh" > etc/passwd
chmod 1777 tmp; chown -R 0:0 .' sh "$S/bb"
as "$W/ulxc" start bb
for i in $(seq 2 20); do
	mkct "c$i"
	as "$W/ulxc" start "c$i"
done
pid=$(as "$W/ulxc" info -p bb 2>/dev/null | awk '/[Pp][Ii][Dd]/ { print $NF; exit }')
[ -n "$pid" ] || pid=$(as "$W/ulxc" info bb | awk '/^ *[Pp][Ii][Dd]:/ { print $2; exit }')
as "$W/ulxc" ls -f
echo "bb's init: pid $pid"

cmds="ulxc|$W/ulxc attach bb -- /bin/true
nsenter|nsenter -t $pid -U -m -u -i -n -p /bin/true"
if [ -n "${ULXC_BASE:-}" ]; then
	cmds="$cmds
base|$W/base attach bb -- /bin/true"
fi
interleave "$RUNS" nsenter attach as "$cmds"
uptime
