#!/bin/sh
# bench/create.sh: how fast is `ulxc create` compared with the C pipeline
# `xz -dc F | tar -x` run in a user namespace (`unshare --map-auto
# --map-root-user`), on a Debian minbase rootfs, as the same unprivileged user.
#
# Run as root from the repository root (debootstrap and the switch to the
# test user need it):  sh bench/create.sh [ITERATIONS]
#
# It builds /var/tmp/ulxc-bench/minbase with debootstrap when absent, packs it
# twice as rootfs.tar.xz, and runs BenchmarkCreate (cmd/ulxc) on each:
#   single/  `xz -T1 -6`: one xz block, what an xz older than 5.6 writes by
#            default; decoding cannot be parallel
#   multi/   `xz -T0 -6`: one block per 24 MiB of tar, what distrobuilder's
#            `xz -f rootfs.tar` writes with xz 5.6+ (multi-threaded by
#            default) and what `xz -T0` writes anywhere
# BenchmarkCreate serves the signed image from a loopback downloadtest
# server and times, interleaved and as the ulxc-test user:
#   warm     ulxc create (image cached with its decompressed rootfs.tar kept:
#            no verification, no decompression, unpack only)
#   cold     ulxc create --flush-cache (download, verify, commit, decompress
#            with xz-utils piped to the unpacking child, keep the tar)
#   cold-go  the same with the pure-Go decoder (ULXC_XZ=go)
#   xz|tar   unshare --map-auto --map-root-user sh -c 'xz -dc F | tar -x -C D'
#   overlay  ulxc create -B overlay with the image's shared layer cached (an
#            upper layer over it and the config: goal under 50 ms)
# and prints, per variant, the median wall time, its ratio to xz|tar and
# the median user and system CPU time (the process and its children). It
# also times decompression alone (image.DecompressXZ with each decoder, and
# xz -dc).
set -eu
N=${1:-5}
BENCH=${ULXC_BENCH_DIR:-/var/tmp/ulxc-bench}
ROOT=$BENCH/minbase

if [ ! -x "$ROOT/bin/sh" ]; then
	echo "building $ROOT with debootstrap (minbase, bookworm)..." >&2
	mkdir -p "$BENCH"
	debootstrap --variant=minbase bookworm "$ROOT" http://deb.debian.org/debian >"$BENCH/debootstrap.log" 2>&1 &&
		echo rc=0 >>"$BENCH/debootstrap.log"
fi

pack() { # pack DIR XZFLAGS
	mkdir -p "$BENCH/$1"
	if [ ! -s "$BENCH/$1/rootfs.tar.xz" ]; then
		echo "packing $BENCH/$1/rootfs.tar.xz (xz $2)..." >&2
		tar --numeric-owner --xattrs -C "$ROOT" -cf - . | xz $2 -c >"$BENCH/$1/rootfs.tar.xz.tmp"
		mv "$BENCH/$1/rootfs.tar.xz.tmp" "$BENCH/$1/rootfs.tar.xz"
	fi
	chmod 0644 "$BENCH/$1/rootfs.tar.xz"
}
pack single "-T1 -6"
pack multi "-T0 -6"

table() { # table KIND < benchmark output: one line per variant
	awk -v kind="$1" '
	/^BenchmarkCreate/ {
		for (i = 5; i < NF; i += 2) v[$(i+1)] = $i
		n = split("warm cold cold-go overlay xz|tar", names, " ")
		for (j = 1; j <= n; j++) {
			k = names[j]
			ratio = (k == "xz|tar") ? "1.00" : sprintf("%.2f", v[k "/xz|tar"])
			printf "%-7s %-8s %7.3f %6s %7.3f %7.3f\n", kind, k, v[k "-s"], ratio, v[k "-user-s"], v[k "-sys-s"]
		}
	}
	/^BenchmarkDecompress/ { printf "%-7s decompress %-34s %6.2f s\n", kind, $1, $3 / 1e9 }'
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
summary=""
for kind in single multi; do
	f=$BENCH/$kind/rootfs.tar.xz
	echo "== $kind: $(du -h "$f" | cut -f1) compressed, $(xz --robot --list "$f" | awk -F'\t' '/^file/ {print $3 " block(s), " int($5/1048576) " MiB uncompressed"}')"
	ULXC_BENCH_ROOTFS=$f go test ./cmd/ulxc -run '^$' -bench '^BenchmarkCreate$|^BenchmarkDecompress$' \
		-benchtime "${N}x" -count 1 -timeout 60m >"$out" 2>&1 || { cat "$out"; exit 1; }
	grep -E '^Benchmark|^ok|msg=' "$out"
	summary="$summary$(table "$kind" <"$out")
"
done
echo
echo "medians of $N runs (seconds; ratio = wall / xz|tar wall; CPU of the process and its children)"
printf '%-7s %-8s %7s %6s %7s %7s\n' kind variant wall ratio user sys
printf '%s' "$summary" | grep -v decompress
echo
printf '%s' "$summary" | grep decompress
