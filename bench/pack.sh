#!/bin/sh
# bench/pack.sh: how fast and how small is `ulxc image pack` compared with
# the C pipeline `tar -cf - | xz -T0`, on a Debian minbase rootfs, in the
# same run.
#
# Run as root from the repository root (debootstrap needs it, and root
# reads the tree directly, as tar does):  sh bench/pack.sh [ITERATIONS]
#
# It builds $ULXC_BENCH_DIR/minbase (default /var/tmp/ulxc-bench, shared
# with create.sh) with debootstrap when absent, builds ulxc-image, and
# times, interleaved, ITERATIONS (default 3) runs of:
#   pack        ulxc image pack DIR (xz-utils at level 6 in 24 MiB blocks,
#               the default) plus meta.tar.xz, SHA256SUMS and signatures
#   pack-l3     the same with --xz-level 3
#   pack-go     the same with the pure-Go encoder (ULXC_XZ=go)
#   tar|xz      tar --numeric-owner --xattrs -C DIR -cf - . | xz -T0 -c
# and prints, per variant, the median wall time, its ratio to tar|xz, the
# median user+system CPU time and the size of rootfs.tar.xz.
set -eu
N=${1:-3}
BENCH=${ULXC_BENCH_DIR:-/var/tmp/ulxc-bench}
ROOT=$BENCH/minbase

if [ ! -x "$ROOT/bin/sh" ]; then
	echo "building $ROOT with debootstrap (minbase, bookworm)..." >&2
	mkdir -p "$BENCH"
	debootstrap --variant=minbase bookworm "$ROOT" http://deb.debian.org/debian >"$BENCH/debootstrap.log" 2>&1
fi

work=$(mktemp -d "$BENCH/pack.XXXXXX")
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -trimpath -o "$work/ulxc-image" ./cmd/ulxc
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
"$work/ulxc-image" -q keys generate bench >/dev/null
KEY=$XDG_CONFIG_HOME/ulxc/signing/bench.key

# run NAME OUT CMD...: time CMD, record "NAME wall cpu size(OUT)".
run() {
	name=$1 out=$2
	shift 2
	/usr/bin/time -f "%e %U %S" -o "$work/time" "$@" >/dev/null
	read -r wall user sys <"$work/time"
	size=$(stat -c %s "$out")
	echo "$name $wall $(echo "$user $sys" | awk '{print $1 + $2}') $size" >>"$work/results"
	rm -rf "$work/tree" "$work/ref.tar.xz"
}
pack() { # pack NAME [FLAGS...] (ULXC_XZ from the environment)
	name=$1
	shift
	run "$name" "$work/tree/images/debian/bookworm/amd64/minbase/20240101_00:00/rootfs.tar.xz" \
		sh -c 'exec "$0" image pack "$1" -d debian -r bookworm -a amd64 --variant minbase --build 20240101_00:00 \
			--sign-key "$2" -o "$3" "$4" "$5" 2>/dev/null' "$work/ulxc-image" "$ROOT" "$KEY" "$work/tree" "$@"
}

echo "== $(du -sh --apparent-size "$ROOT" | cut -f1) in $(find "$ROOT" | wc -l) files; xz $(xz --version | head -1 | awk '{print $4}'); $(nproc) cores"
i=0
while [ "$i" -lt "$N" ]; do
	run "tar|xz" "$work/ref.tar.xz" sh -c 'tar --numeric-owner --xattrs -C "$0" -cf - . | xz -T0 -c >"$1"' "$ROOT" "$work/ref.tar.xz"
	pack pack --xz-level 6
	pack pack-l3 --xz-level 3
	ULXC_XZ=go pack pack-go --xz-level 6
	i=$((i + 1))
done

echo
echo "medians of $N runs (seconds; ratio = wall / tar|xz wall; CPU = user + system of the process and its children)"
printf '%-8s %7s %6s %7s %12s\n' variant wall ratio cpu rootfs.tar.xz
for name in "tar|xz" pack pack-l3 pack-go; do
	awk -v n="$name" '$1 == n' "$work/results" | sort -k2,2n | awk -v n="$N" '{w[NR] = $2; c[NR] = $3; s = $4}
		END { print w[int((n + 1) / 2)], c[int((n + 1) / 2)], s }' >"$work/med.$(echo "$name" | tr '|' '_')"
done
read -r refw _ _ <"$work/med.tar_xz"
for name in "tar|xz" pack pack-l3 pack-go; do
	read -r w c s <"$work/med.$(echo "$name" | tr '|' '_')"
	printf '%-8s %7.2f %6.2f %7.2f %7.1f MiB\n' "$name" "$w" "$(echo "$w $refw" | awk '{print $1 / $2}')" "$c" "$(echo "$s" | awk '{print $1 / 1048576}')"
done
