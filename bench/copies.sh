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
# then a full copy of a bigger tree (bb plus a copy of the host's /usr/local/go/src,
# unpacked as the container's root, so every file belongs to subordinate
# ids) against cp -a of the same tree in the same user namespace:
#   copy       ulxc copy big big2
#   cp -a      ulxc usernsexec -m b:0:START:COUNT -s -- cp -a ROOTFS DEST
# Each copy is removed between runs (--prepare), outside the timing.
set -eu
RUNS=${1:-30}
U=${ULXC_TEST_USER:-ulxc-test}
W=$(mktemp -d /var/tmp/ulxc-bench-copies.XXXXXX)
chmod 755 "$W"
H=$W/home
mkdir -p "$H/run" "$H/.local/share/ulxc"
chown -R "$U:" "$H"
cleanup() { rm -rf "$W"; }
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
