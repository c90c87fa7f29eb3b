#!/bin/sh
# bench/start.sh: how fast is `ulxc start -F NAME -- /bin/true` on a busybox
# system container, against the floor and other runtimes, as the same
# unprivileged user; and how much memory a monitor costs.
#
# Run as root from the repository root (it switches to the test user):
#   sh bench/start.sh [RUNS]
#
# In one run of the script (hyperfine, 10 rounds), as ULXC_TEST_USER (default
# ulxc-test, who needs a subordinate range):
#   ulxc    ulxc start -F bb -- /bin/true        (user, mnt, pid, uts, ipc,
#           net, cgroup namespaces; proc, sysfs, /dev with six device binds,
#           devpts, shm, mqueue, /proc/sys read-only; lo up; pivot_root)
#   floor   unshare --map-users --map-groups --setuid 0 --setgid 0 --mount
#           --pid --fork chroot ROOTFS /bin/true  (the same id map through
#           newuidmap/newgidmap, two namespaces, no mounts at all)
#   bwrap   bwrap --unshare-all --uid 0 --gid 0 --bind ROOTFS / --proc /proc
#           --dev /dev /bin/true  (single-id map, no helper)
#   crun    crun --cgroup-manager=disabled run on `ulxc spec bb` (the same
#           spec). crun refuses hybrid cgroup hosts; on one, the whole
#           hyperfine run happens in a private mount namespace in which a
#           read-only tmpfs hides the cgroup2 mount, as TestSpecRunsInCrun
#           does, and the script says so. Nothing here uses a cgroup.
#   lxc     lxc-execute on the same config, when LXC can run unprivileged here
#   base    with ULXC_BASE=PATH, the same start by another ulxc binary
#           (say, one built from the previous commit), for a before/after
#           in one run
# and prints the medians and their ratios to the floor. hyperfine times one
# command after the other, so the runs are split into rounds in which the
# commands alternate, each round in its own shuffled order (the command
# that comes first, or right after lxc-execute, runs slower); still, on a
# loaded machine compare ratios of the same run, repeat runs and note the
# load average. Then it starts 1 and 20
# daemonized containers and prints the monitors' RSS, PSS and anonymous
# memory (/proc/PID/smaps_rollup).
#
# The container directory is made 0711 (not ulxc's 0700) so that the floor
# and bwrap, which chroot by path as the namespace's root, can reach the
# rootfs; ulxc itself does not need it.
set -eu
for tool in hyperfine bwrap crun; do
	command -v "$tool" >/dev/null || { echo "$0: needs $tool (apt-get install -y hyperfine bubblewrap crun)" >&2; exit 1; }
done
RUNS=${1:-50}
U=${ULXC_TEST_USER:-ulxc-test}
W=$(mktemp -d /var/tmp/ulxc-bench-start.XXXXXX)
chmod 755 "$W"
H=$W/home
mkdir -p "$H/run" "$H/.local/share/ulxc"
chown -R "$U:" "$H"
cleanup() {
	as sh -c 'for d in "$HOME"/.local/share/ulxc/*/; do "$0" stop -k "$(basename "$d")" >/dev/null 2>&1 || true; done' "$W/ulxc" || true
	rm -rf "$W"
}
trap cleanup EXIT
# as CMD...: run CMD as the user, in a clean environment; a script, so that
# hide (below) can exec it.
cat >"$W/as" <<EOT
#!/bin/sh
exec setpriv --reuid "$U" --regid "$U" --clear-groups env -i HOME="$H" XDG_RUNTIME_DIR="$H/run" \\
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "\$@"
EOT
chmod 755 "$W/as"
as() { "$W/as" "$@"; }

# As scripts/setup and internal/testenv build them. Built elsewhere and
# copied in, as the base binary is, then settled (bench/lib.sh): a file
# the linker has just written sits in the page cache in small folios,
# which made the same binary start about 0.2 ms slower than its copy, and
# all should be measured alike.
mkdir "$W/build"
CGO_ENABLED=0 go build -trimpath -tags ulxc_lean -o "$W/build/ulxc" ./cmd/ulxc
CGO_ENABLED=0 go build -trimpath -o "$W/build/ulxc-image" ./cmd/ulxc
cp "$W/build/ulxc" "$W/build/ulxc-image" "$W/"
chmod 755 "$W/ulxc" "$W/ulxc-image"
if [ -n "${ULXC_BASE:-}" ]; then
	cp "$ULXC_BASE" "$W/base"
	chmod 755 "$W/base"
fi
. bench/lib.sh
settle "$W/ulxc" "$W/ulxc-image" ${ULXC_BASE:+"$W/base"}
sub=$(awk -F: -v u="$U" '$1 == u { print $2 ":" $3; exit }' /etc/subuid)
start=${sub%%:*}
count=${sub##*:}
[ "$count" -gt 65536 ] && count=65536

S=$H/.local/share/ulxc
mkct() { # mkct NAME: a container on the shared rootfs of bb
	as mkdir -m 0711 "$S/$1"
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
printf "::sysinit:/bin/true\n" > etc/inittab
chmod 1777 tmp; chown -R 0:0 .' sh "$S/bb"
R=$S/bb/rootfs

cmds="ulxc|$W/ulxc start -F bb -- /bin/true"
if [ -n "${ULXC_BASE:-}" ]; then
	cmds="$cmds
base|$W/base start -F bb -- /bin/true"
fi
cmds="$cmds
floor|unshare --map-users=$start,0,$count --map-groups=$start,0,$count --setuid 0 --setgid 0 --mount --pid --fork chroot $R /bin/true
bwrap|bwrap --unshare-all --uid 0 --gid 0 --bind $R / --proc /proc --dev /dev /bin/true"

# crun on the same spec. crun refuses hybrid cgroup hosts ("cgroups in
# hybrid mode not supported"): there, as in cmd/ulxc's TestSpecRunsInCrun,
# every command of the run is timed in a private mount namespace in which a
# read-only tmpfs hides the cgroup2 mount (unified), so all of them see the
# same host. No command here uses a cgroup: the test user is not delegated.
mkdir -p "$W/bundle" && chown "$U:" "$W/bundle"
as sh -c "'$W/ulxc' spec bb -- /bin/true > '$W/bundle/config.json'"
unified=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") break }
	$(i + 1) == "cgroup2" && $5 != "/sys/fs/cgroup" { print $5; exit }' /proc/self/mountinfo)
if [ -n "$unified" ]; then
	echo "hybrid cgroups (cgroup2 at $unified): every command is timed in a mount namespace that hides it, so that crun runs"
	hide() { unshare -m --propagation private sh -c 'mount -t tmpfs -o ro none "$1" && shift && exec "$@"' sh "$unified" "$@"; }
else
	hide() { "$@"; }
fi
crun_cmd="crun --root $H/run/crun --cgroup-manager=disabled run -b $W/bundle bench"
if why=$(hide "$W/as" $crun_cmd 2>&1); then
	cmds="$cmds
crun|$crun_cmd"
else
	echo "skip crun: $(echo "$why" | tail -1)"
fi
# LXC itself, unprivileged, on an equivalent config.
mkdir -p "$H/.local/share/lxc/bb" && cp "$S/bb/config" "$H/.local/share/lxc/bb/config" && chown -R "$U:" "$H/.local/share/lxc"
lxc_cmd="lxc-execute -n bb -- /bin/true"
if why=$(as $lxc_cmd 2>&1); then
	cmds="$cmds
lxc|$lxc_cmd"
else
	echo "skip lxc-execute: $(echo "$why" | grep -m1 -i 'error\|fail' || echo "$why" | tail -1)"
fi

interleave "$RUNS" floor start "hide $W/as" "$cmds"

# Memory of the monitor, with 1 and 20 containers running.
mem() { # mem: RSS, PSS and anonymous memory of the monitors, in KiB
	n=0; rss=0; pss=0; anon=0
	for p in $(pgrep -u "$U" -f '\[monitor\]'); do
		# Only ours: tests may run monitors as the same user.
		[ "$(readlink "/proc/$p/exe")" = "$W/ulxc" ] || continue
		n=$((n + 1))
		rss=$((rss + $(awk '/^Rss:/ {print $2}' /proc/$p/smaps_rollup)))
		pss=$((pss + $(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup)))
		anon=$((anon + $(awk '/^Anonymous:/ {print $2}' /proc/$p/smaps_rollup)))
	done
	echo "$n monitor(s): RSS $((rss / n)) KiB, PSS $((pss / n)) KiB, anonymous $((anon / n)) KiB each (total PSS $pss KiB)"
}
uptime
as "$W/ulxc" start bb
sleep 1
mem
for i in $(seq 2 20); do mkct "bb$i"; as "$W/ulxc" start "bb$i"; done
sleep 1
mem
