#!/bin/sh
# bench/patterns.sh -- what the catalogue costs: ingest throughput with no
# patterns, the shipped catalogue (templates on, and --no-templates), and
# generated catalogues of 10, 40, 160 and 200 patterns, all on the same input in the same run, alternating the
# configurations in rounds; medians and ratios.  Run from the build
# directory (make bench runs it after bench/run.sh).  Each configuration is
# measured with --threads 2 (the default: parsing is then the bottleneck)
# and --threads 1 (matching shares the core, so its cost shows).
#
#   BENCH_PATTERNS_MB  input size, MiB (default 256)
#   BENCH_RUNS         rounds (default 5)
#   BENCH_DIR          where the input is cached (./bench-data)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$here/.." && pwd)
MB=${BENCH_PATTERNS_MB:-256}
RUNS=${BENCH_RUNS:-5}
BENCH_DIR=${BENCH_DIR:-./bench-data}
PYTHON3=${PYTHON3:-python3}
logaudit=./logaudit
[ -x "$logaudit" ] || { echo "bench: run from the build directory" >&2; exit 2; }

mkdir -p "$BENCH_DIR"
work=$(mktemp -d "$BENCH_DIR/patterns.XXXXXX")
trap 'rm -rf "$work"' EXIT
input="$BENCH_DIR/ndjson-$MB.json"
[ -f "$input" ] || "$PYTHON3" "$here/gen.py" --format ndjson --size-mb "$MB" "$input" >&2

# N distinct patterns, each with a required literal that the input never
# holds and a regex shaped like the shipped ones.
gen_catalogue() {	# n dir
	mkdir -p "$2"
	"$PYTHON3" - "$1" "$2/gen.conf" <<'PY'
import random, sys
n, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(n)
with open(out, "w") as f:
    for i in range(n):
        word = "".join(rng.choice("bcdfghjklmnpqrtvwxz") for _ in range(7))
        f.write("[gen-%d]\ntitle = generated %d\n" % (i, i))
        f.write("regex = \\b%s(?:Error|Exception)?\\b.{0,40}\\b(?:failed|refused)\\b\n" % word)
        f.write("# generated\nexample = %sError: connect failed\n\n" % word)
PY
}

mkdir -p "$work/none"
for n in 10 40 160 200; do gen_catalogue $n "$work/gen$n"; done
configs="none shipped notpl gen10 gen40 gen160 gen200"
dir_of() {
	case $1 in
	none) echo "$work/none" ;;
	shipped|notpl) echo "$top_srcdir/patterns" ;;
	*) echo "$work/$1" ;;
	esac
}

cat "$input" > /dev/null
for threads in 2 1; do
	r=1
	while [ $r -le "$RUNS" ]; do
		for c in $configs; do
			rm -f "$work/db"*
			t0=$(date +%s%N)
			tpl=
			[ $c = notpl ] && tpl=--no-templates
			"$logaudit" ingest -q --threads $threads $tpl \
			    --patterns "$(dir_of $c)" --db "$work/db" "$input"
			t1=$(date +%s%N)
			echo "$threads $c $r $(( (t1 - t0) / 1000000 ))" >> "$work/times"
		done
		echo "bench: patterns, threads $threads, round $r/$RUNS" >&2
		r=$((r + 1))
	done
done

printf 'logaudit catalogue bench, %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
printf 'input: %s (%s MiB), shipped catalogue: %s patterns\n' "$input" "$MB" \
    "$("$logaudit" patterns --patterns "$top_srcdir/patterns" list --format json |
    "$PYTHON3" -c 'import json,sys; print(len(json.load(sys.stdin)["patterns"]))')"
"$PYTHON3" - "$work/times" "$MB" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
mb = int(sys.argv[2]) * 1048576 / 1e6
t = {}
for th, c, r, ms in rows:
    t.setdefault((th, c), {})[r] = int(ms) / 1000
def ratio(th, a, b):	# median per-round throughput ratio a/b
    return statistics.median(t[(th, b)][r] / t[(th, a)][r] for r in t[(th, a)])
for th in ("2", "1"):
    print("\n--threads %s" % th)
    print("%-8s %8s %8s %10s" % ("config", "median_s", "MB/s", "vs none"))
    for c in ("none", "shipped", "notpl", "gen10", "gen40", "gen160", "gen200"):
        s = statistics.median(t[(th, c)].values())
        print("%-8s %8.2f %8.1f %10.3f" % (c, s, mb / s, ratio(th, c, "none")))
    print("shipped/none throughput: %.3f   gen200/gen10: %.3f   "
          "templates on/off: %.3f" % (ratio(th, "shipped", "none"),
          ratio(th, "gen200", "gen10"), ratio(th, "shipped", "notpl")))
PY
