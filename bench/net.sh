#!/bin/sh
# bench/net.sh: what user-mode networking costs a container, as the same
# unprivileged user, in one run:
#   start   `ulxc start -F NAME -- /bin/true` on a busybox container with
#           lxc.net.0.type = empty (loopback only: no network phase),
#           pasta and slirp4netns: start to exit, helper started, waited
#           for and stopped included
#   bulk    TCP bulk transfer of BYTES (default 256 MiB) from the
#           container to a sink on the host side, through pasta and
#           through slirp4netns, against the same transfer over the host's
#           loopback (iperf3-style: one connection, 256 KiB writes, timed
#           from connect to the sink's count of what it read; the same
#           program, cmd/ulxc/testdata/netprobe, on both ends)
# and prints medians and their ratios to empty and to loopback.
#
# Debian 12's pasta (passt 0.0~git20230309) now and then stalls a bulk
# transfer for 10 to 17 seconds (retransmission timeouts: it has no SACK),
# more often the longer the transfer: min and max show it (with
# BYTES=1073741824, four of five stalled in one run here).
#
# Run as root from the repository root (it switches to the test user):
#   sh bench/net.sh [RUNS]
#
# Everything happens in a network namespace the script makes (ip netns
# add) holding a veth pair: the uplink with the default route (which
# pasta copies into the container) and 10.98.0.1, where the sink listens.
# Nothing is sent outside it. The test user (ULXC_TEST_USER, default
# ulxc-test) needs subordinate ids and a /dev/net/tun it may open
# (scripts/setup). The start rounds alternate the three commands in a
# shuffled order each round, as bench/start.sh does; compare ratios of
# one run, and note the load average.
set -eu
RUNS=${1:-30}
BYTES=${BYTES:-268435456}
REPS=${REPS:-5}
U=${ULXC_TEST_USER:-ulxc-test}
NS=ulxc-bench-net-$$
W=$(mktemp -d /var/tmp/ulxc-bench-net.XXXXXX)
chmod 755 "$W"
H=$W/home
mkdir -p "$H/run" "$H/.local/share/ulxc"
chown -R "$U:" "$H"
sink=
cleanup() {
	[ -n "$sink" ] && kill "$sink" 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
# as CMD...: CMD as the user, in the namespace, in a clean environment; a
# script, so that CMD & leaves CMD's own pid in $! (each step execs).
cat >"$W/as" <<EOT
#!/bin/sh
exec ip netns exec "$NS" setpriv --reuid "$U" --regid "$U" --clear-groups env -i HOME="$H" XDG_RUNTIME_DIR="$H/run" \\
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "\$@"
EOT
chmod 755 "$W/as"
as() { "$W/as" "$@"; }

ip netns add "$NS"
ip -n "$NS" link add uplink0 type veth peer name srv0
ip -n "$NS" addr add 10.99.0.1/24 dev uplink0
ip -n "$NS" addr add 10.98.0.1/24 dev srv0
for l in lo uplink0 srv0; do ip -n "$NS" link set "$l" up; done
ip -n "$NS" route add default via 10.99.0.254 dev uplink0

mkdir "$W/build" "$W/probe"
CGO_ENABLED=0 go build -trimpath -tags ulxc_lean -o "$W/build/ulxc" ./cmd/ulxc
CGO_ENABLED=0 go build -trimpath -o "$W/probe/netprobe" ./cmd/ulxc/testdata/netprobe
cp "$W/build/ulxc" "$W/ulxc"
chmod 755 "$W/ulxc" "$W/probe" "$W/probe/netprobe"
. bench/lib.sh
settle "$W/ulxc" "$W/probe/netprobe"
if ! as sh -c 'exec 3<>/dev/net/tun' 2>/dev/null; then
	echo "bench/net.sh: $U may not open /dev/net/tun: chmod 0666 /dev/net/tun (scripts/setup does)" >&2
	exit 1
fi
for h in pasta slirp4netns; do
	command -v "$h" >/dev/null || { echo "bench/net.sh: no $h: apt-get install passt slirp4netns" >&2; exit 1; }
done

sub=$(awk -F: -v u="$U" '$1 == u { print $2 ":" $3; exit }' /etc/subuid)
start=${sub%%:*}
count=${sub##*:}
[ "$count" -gt 65536 ] && count=65536
S=$H/.local/share/ulxc
mkct() { # mkct NAME TYPE: a container on the shared rootfs of bb
	as mkdir -m 0700 -p "$S/$1"
	as sh -c "cat > '$S/$1/config'" <<EOT
lxc.idmap = u 0 $start $count
lxc.idmap = g 0 $start $count
lxc.rootfs.path = dir:$S/bb/rootfs
lxc.uts.name = $1
lxc.net.0.type = $2
lxc.mount.entry = $W/probe opt/probe none bind,ro,create=dir 0 0
EOT
}
mkct bb empty
as "$W/ulxc" usernsexec -m "b:0:$start:$count" -s -- /bin/busybox sh -c '
set -e; r="$1/rootfs"; mkdir -p "$r"; cd "$r"
mkdir -p bin sbin etc proc sys dev tmp root run opt/probe
cp /bin/busybox bin/busybox
for a in $(bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "bin/$a"; done
chmod 1777 tmp; chown -R 0:0 .' sh "$S/bb"
mkct pasta pasta
mkct slirp slirp4netns

echo "== start to exit of /bin/true ($RUNS runs each)"
uptime
cmds="empty|$W/ulxc start -F bb -- /bin/true
pasta|$W/ulxc start -F pasta -- /bin/true
slirp4netns|$W/ulxc start -F slirp -- /bin/true"
PAIRS="pasta:empty slirp4netns:empty" ROUNDS=5 interleave "$RUNS" empty start as "$cmds"

echo "== TCP bulk transfer of $BYTES bytes, container to host ($REPS each, alternating)"
uptime
"$W/as" "$W/probe/netprobe" sink 0.0.0.0:5201 >"$W/sink.out" 2>&1 &
sink=$!
for i in $(seq 50); do grep -q listening "$W/sink.out" 2>/dev/null && break; sleep 0.1; done
: >"$W/bulk.txt"
for i in $(seq "$REPS"); do
	as "$W/probe/netprobe" send 127.0.0.1:5201 "$BYTES" | sed 's/^/loopback /' >>"$W/bulk.txt"
	as "$W/ulxc" start -F pasta -- /opt/probe/netprobe send 10.98.0.1:5201 "$BYTES" | sed 's/^/pasta /' >>"$W/bulk.txt"
	as "$W/ulxc" start -F slirp -- /opt/probe/netprobe send 10.98.0.1:5201 "$BYTES" | sed 's/^/slirp4netns /' >>"$W/bulk.txt"
done
python3 - "$W/bulk.txt" <<'EOT'
import re, statistics, sys
rates = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) send .*: ([0-9.]+) MB/s", line)
    if m:
        rates.setdefault(m.group(1), []).append(float(m.group(2)))
base = statistics.median(rates["loopback"])
print(f"{'path':12} {'median':>12} {'min':>12} {'max':>12} {'vs loopback':>12}")
for name in ("loopback", "pasta", "slirp4netns"):
    r = rates[name]
    print(f"{name:12} {statistics.median(r):7.0f} MB/s {min(r):7.0f} MB/s {max(r):7.0f} MB/s {statistics.median(r)/base:11.2f}x")
EOT
