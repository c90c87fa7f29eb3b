# bench/lib.sh: what the benchmark scripts share. Source it after setting H
# (a directory the measured user may write to).

# settle FILE... drops each file from the page cache and reads it back in
# one pass, as after a reboot. How a binary sits in the page cache changes
# how fast it starts: written while memory was fragmented (or by the
# linker), its pages are small folios, which every exec maps one by one;
# read back sequentially, they are large folios. The same ulxc binary
# attached 0.35 ms slower (3.44 against 3.10 ms, 300 runs, against a
# fresh copy of itself) with 256 of its 615 text pages in large folios
# against all 615 (/proc/PID/pagemap, /proc/kpageflags). Every binary a
# benchmark compares is settled alike.
settle() {
	for _f in "$@"; do
		dd if="$_f" iflag=nocache count=0 status=none
		cat "$_f" >/dev/null
	done
}

# interleave RUNS BASE TAG RUNNER CMDS times each command of CMDS (lines
# "name|command", names without spaces) about RUNS times and prints, for
# each, its median, its minimum and the ratio of its median to the median
# of the command named BASE; then, for each A:B of $PAIRS, the ratio of
# A's median to B's and their difference.
#
# hyperfine times one command after the other; in ROUNDS rounds (default
# 10) the commands alternate, so that load from elsewhere falls on all of
# them, each round in its own order (a shuffle seeded by the round), so
# that none always runs right after the same one: lxc-execute leaves the
# machine slower for a while (the same ulxc binary measured 7.05 ms where
# it always came right after it, 6.69 ms in the next place). RUNNER is
# what runs hyperfine (a function such as `as`, or "hide $W/as"); TAG
# names its JSON files in $H. Setting up usually wrote files: the writeback
# is let finish first, which otherwise falls on the first command of round
# 1 (9.15 ms against 6.25-7.32 ms in the other rounds, once).
interleave() {
	_runs=$1 _base=$2 _tag=$3 _runner=$4 _cmds=$5
	_rounds=${ROUNDS:-10}
	_per=$(( (_runs + _rounds - 1) / _rounds ))
	sync
	sleep 1
	rm -f "$H/$_tag"-*.json
	for _r in $(seq "$_rounds"); do
		set --
		while IFS='|' read -r _name _cmd; do
			set -- "$@" -n "$_name" "$_cmd"
		done <<EOT
$(printf '%s\n' "$_cmds" | awk -v r="$_r" '{ line[NR] = $0 } END {
	srand(r); for (i = NR; i > 1; i--) { j = int(rand() * i) + 1; t = line[i]; line[i] = line[j]; line[j] = t }
	for (i = 1; i <= NR; i++) print line[i] }')
EOT
		$_runner hyperfine -N --warmup 3 --runs "$_per" --export-json "$H/$_tag-$_r.json" --style basic "$@" \
			>"$H/$_tag-hyperfine.txt" 2>&1 || { cat "$H/$_tag-hyperfine.txt"; return 1; }
	done
	python3 - "$_base" "$(printf '%s\n' "$_cmds" | cut -d'|' -f1 | tr '\n' ' ')" "$H/$_tag"-*.json <<'EOT'
import json, statistics, sys
times = {}
for f in sys.argv[3:]:
    for x in json.load(open(f))["results"]:
        times.setdefault(x["command"], []).extend(x["times"])
base = sys.argv[1]
floor = statistics.median(times[base])
width = max(len(n) for n in times) + 1
print(f"{'command':{width}} {'median':>9} {'min':>9} {'vs ' + base:>12}  ({len(times[base])} runs each)")
for name in sys.argv[2].split():
    t = times[name]
    m = statistics.median(t)
    print(f"{name:{width}} {m*1e3:7.2f}ms {min(t)*1e3:7.2f}ms {m/floor:11.2f}x")
import os
for pair in os.environ.get("PAIRS", "").split():
    a, b = pair.split(":")
    ma, mb = statistics.median(times[a]), statistics.median(times[b])
    print(f"{a} / {b}: {ma/mb:.2f}x ({(ma-mb)*1e3:+.2f} ms)")
EOT
}
