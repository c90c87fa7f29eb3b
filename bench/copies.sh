#!/bin/sh
# bench/copies.sh: what copies and ephemeral containers cost, as the test
# user (issue 10).
#
# Run as root from the repository root (it switches to the test user):
#   sh bench/copies.sh [RUNS]
#
# In one run (hyperfine), as ULXC_TEST_USER (default ulxc-test):
#   start      ulxc start -F bb -- /bin/true          (a busybox container)
#   ephemeral  ulxc start-ephemeral -o bb -- /bin/true (an overlay over bb's
#              rootfs with a tmpfs upper layer, made and removed each run)
#   snapshot   ulxc copy -s bb snap, then ulxc destroy snap
# then the same start and ephemeral start-to-exit of /bin/true on a Debian
# minbase container, in one run with the busybox ones, interleaved in
# shuffled rounds (bench/lib.sh's interleave; the ratios of each ephemeral
# start to its plain start, and Debian's to busybox's, follow the table;
# issue 10 wants the ephemeral runs within 2 ms of each other and within
# 1.5x of start -F):
#   start/ephemeral deb    deb made with create -B dir
#   start/ephemeral debov  debov made with create -B overlay (a shared layer)
# The Debian containers include LXC's common.conf, as the image's config
# asks; with lxcfs installed its common.conf.d adds a post-stop hook that
# sleeps 0.5 s (/usr/share/lxcfs/lxc.reboot.hook), which lxc-start runs as
# well. The runs are repeated with that hook cleared (lxc.hook.post-stop =
# appended to the configs), and once more with their network set to
# empty, as busybox's is (the download template gives them pasta, whose
# helper starts and stops with each run), and once more with lxcfs's
# mount hook cleared too (common.conf.d's lxc.mount.hook, a shell script
# that a host without lxcfs does not have; it costs plain starts the
# same): Debian's own config as such a host runs it. Then common.conf's
# clone hook is cleared too (clonehostname, which the ephemeral start's
# init runs once the copy's root is mounted: a shell's exec).
# Last, bb's own config on the Debian dir container's root (its
# lxc.rootfs lines): then only the root filesystems differ.
# The minbase tree is bench/create.sh's ($ULXC_BENCH_DIR/minbase, made with
# debootstrap when absent), packed as a signed image with ulxc image pack
# and served on the loopback by ulxc image serve.
# then a full copy of a bigger tree (bb plus a copy of the host's /usr/local/go/src,
# unpacked as the container's root, so every file belongs to subordinate
# ids) against cp -a of the same tree in the same user namespace:
#   copy       ulxc copy big big2
#   cp -a      ulxc usernsexec -m b:0:START:COUNT -s -- cp -a ROOTFS DEST
# Each copy is removed between runs (--prepare), outside the timing.
set -eu
RUNS=${1:-30}
U=${ULXC_TEST_USER:-ulxc-test}
BENCH=${ULXC_BENCH_DIR:-/var/tmp/ulxc-bench}
ROOT=$BENCH/minbase
W=$(mktemp -d /var/tmp/ulxc-bench-copies.XXXXXX)
chmod 755 "$W"
H=$W/home
mkdir -p "$H/run" "$H/.local/share/ulxc"
chown -R "$U:" "$H"
SERVER=
cleanup() {
	[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
cat >"$W/as" <<EOT
#!/bin/sh
exec setpriv --reuid "$U" --regid "$U" --clear-groups env -i HOME="$H" XDG_RUNTIME_DIR="$H/run" \\
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "\$@"
EOT
chmod 755 "$W/as"
as() { "$W/as" "$@"; }
mkdir "$W/build"
CGO_ENABLED=0 go build -trimpath -tags ulxc_lean -o "$W/build/ulxc" ./cmd/ulxc
CGO_ENABLED=0 go build -trimpath -o "$W/build/ulxc-image" ./cmd/ulxc
cp "$W/build/ulxc" "$W/build/ulxc-image" "$W/"
chmod 755 "$W/ulxc" "$W/ulxc-image"
. bench/lib.sh
settle "$W/ulxc" "$W/ulxc-image"
sub=$(awk -F: -v u="$U" '$1 == u { print $2 ":" $3; exit }' /etc/subuid)
start=${sub%%:*}
count=${sub##*:}
[ "$count" -gt 65536 ] && count=65536
U_=$W/ulxc
as "$W/ulxc-image" create bb -t busybox >/dev/null
as "$U_" start -F bb -- /bin/true

echo "== start vs ephemeral vs snapshot (busybox), $RUNS runs each"
hyperfine -N -w 3 -r "$RUNS" \
	-n start "$W/as $U_ start -F bb -- /bin/true" \
	-n ephemeral "$W/as $U_ start-ephemeral -o bb -- /bin/true" \
	-n snapshot "$W/as sh -c '$U_ copy -q -s bb snap && $U_ destroy -q snap'"

if [ ! -x "$ROOT/bin/sh" ]; then
	echo "building $ROOT with debootstrap (minbase, bookworm)..." >&2
	mkdir -p "$BENCH"
	debootstrap --variant=minbase bookworm "$ROOT" http://deb.debian.org/debian >"$BENCH/debootstrap.log" 2>&1
fi
arch=$(dpkg --print-architecture)
"$W/ulxc-image" -q keys generate bench -o "$W/keys" >"$W/keys.txt"
fpr=$(awk '/^Fingerprint:/ { print $2 }' "$W/keys.txt")
cp "$W/keys/bench.asc" "$H/bench.asc"
chmod 644 "$H/bench.asc"
"$W/ulxc-image" -q image pack "$ROOT" -d debian -r bookworm -a "$arch" --variant minbase \
	--sign-key "$W/keys/bench.key" -o "$W/tree"
"$W/ulxc-image" -q image index "$W/tree" --sign-key "$W/keys/bench.key"
port=$((20000 + $$ % 20000))
"$W/ulxc-image" image serve "$W/tree" -q --addr "127.0.0.1:$port" &
SERVER=$!
sleep 1
for b in dir overlay; do
	name=deb
	[ "$b" = overlay ] && name=debov
	as "$W/ulxc-image" -q create "$name" -B "$b" -d debian -r bookworm -a "$arch" --variant minbase \
		--server "http://127.0.0.1:$port" --keyid "$fpr" --keyring "$H/bench.asc"
	as "$U_" start -F "$name" -- /bin/true
done
du -sh "$H/.local/share/ulxc/deb" "$H/.local/share/ulxc/debov" | sed 's/^/container: /'

export PAIRS="ephemeral-bb:start-bb ephemeral-deb:start-deb ephemeral-debov:start-debov ephemeral-deb:ephemeral-bb"
startstop() {
	interleave "$RUNS" start-bb copies "$W/as" "start-bb|$U_ start -F bb -- /bin/true
ephemeral-bb|$U_ start-ephemeral -o bb -- /bin/true
start-deb|$U_ start -F deb -- /bin/true
ephemeral-deb|$U_ start-ephemeral -o deb -- /bin/true
start-debov|$U_ start -F debov -- /bin/true
ephemeral-debov|$U_ start-ephemeral -o debov -- /bin/true"
}
echo "== start -F vs ephemeral, /bin/true, busybox and Debian minbase, $RUNS runs each"
startstop
echo "== the same, lxcfs's 0.5 s post-stop hook cleared in the Debian containers"
for name in deb debov; do
	echo "lxc.hook.post-stop =" | as tee -a "$H/.local/share/ulxc/$name/config" >/dev/null
done
startstop
echo "== the same, and lxc.net.0.type = empty in the Debian containers, as in bb"
for name in deb debov; do
	as sed -i 's/^lxc.net.0.type = .*/lxc.net.0.type = empty/' "$H/.local/share/ulxc/$name/config"
done
startstop
echo "== the same, and lxcfs's mount hook cleared: Debian's own config as a host without lxcfs has it"
for name in deb debov; do
	echo "lxc.hook.mount =" | as tee -a "$H/.local/share/ulxc/$name/config" >/dev/null
done
startstop
echo "== the same, and common.conf's clone hook too (clonehostname) cleared: init runs it inside the ephemeral start"
for name in deb debov; do
	echo "lxc.hook.clone =" | as tee -a "$H/.local/share/ulxc/$name/config" >/dev/null
done
startstop
# Only the root filesystem differs: bb's config with the Debian dir
# container's root (206 MB against 2 MB), so that what is measured is what
# a bigger root costs an ephemeral copy.
S=$H/.local/share/ulxc
as mkdir -m 0700 "$S/debroot"
as sh -c "grep -v -e '^lxc.rootfs' -e '^lxc.uts.name' '$S/bb/config'; grep '^lxc.rootfs' '$S/deb/config'; echo 'lxc.uts.name = debroot'" \
	| as tee "$S/debroot/config" >/dev/null
echo "== busybox's config on bb's root and on the Debian dir container's"
PAIRS="ephemeral-bb:start-bb ephemeral-debroot:start-debroot ephemeral-debroot:ephemeral-bb" \
	interleave "$RUNS" start-bb debroot "$W/as" "start-bb|$U_ start -F bb -- /bin/true
ephemeral-bb|$U_ start-ephemeral -o bb -- /bin/true
start-debroot|$U_ start -F debroot -- /bin/true
ephemeral-debroot|$U_ start-ephemeral -o debroot -- /bin/true"

echo "== full copy vs cp -a in the same user namespace"
as "$W/ulxc-image" create big -t busybox >/dev/null
R=$H/.local/share/ulxc/big/rootfs
as "$U_" usernsexec -m "b:0:$start:$count" -s -- sh -c "cp -a /usr/local/go/src '$R/usr/src-copy' && chown -R 0:0 '$R/usr/src-copy'"
du -sh "$R" | sed 's/^/tree: /'
find "$R" | wc -l | sed 's/^/entries: /'
hyperfine -N -w 1 -r 5 \
	--prepare "$W/as sh -c '$U_ destroy -q big2 2>/dev/null; $U_ usernsexec -m b:0:$start:$count -s -- rm -rf $W/home/cp-dest; true'" \
	-n "ulxc copy" "$W/as $U_ copy -q big big2" \
	-n "cp -a" "$W/as $U_ usernsexec -m b:0:$start:$count -s -- cp -a $R $W/home/cp-dest"
