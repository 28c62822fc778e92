#!/bin/sh
# bench/run.sh: what `make bench` runs.  Times `logaudit ingest` against its
# floor (bench/floor: read(2) + a yajl parse that only counts entries) and
# against the jq | grep pipeline a user would otherwise write, on >= 1 GiB
# of generated Cloud Run logs in both framings (NDJSON as a log sink writes
# it, the pretty array gcloud logging read prints).  Method and how to read
# the table: docs/BENCHMARKS.md.
#
# Run from the build directory (it uses ./logaudit and ./bench/floor); the
# generator and the default catalogue come from the source tree next to
# this script.  Installs nothing.  Environment:
#   BENCH_MB       input size per framing, MiB (default 1024)
#   BENCH_RUNS     floor/logaudit pairs per framing (default 5)
#   BENCH_JQ_RUNS  jq pipeline runs per framing (default 1; 0 skips jq)
#   BENCH_DIR      where inputs are cached and results kept (./bench-data)
#   LOGAUDIT_PATTERNS  catalogue (default: the source tree's patterns/)
# Exit status: 0, or 1 when a run fails or a tool is missing.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(dirname "$here")
logaudit=./logaudit
floor=./bench/floor
BENCH_MB=${BENCH_MB:-1024}
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_JQ_RUNS=${BENCH_JQ_RUNS:-1}
BENCH_DIR=${BENCH_DIR:-./bench-data}
LOGAUDIT_PATTERNS=${LOGAUDIT_PATTERNS:-$top_srcdir/patterns}
PYTHON3=${PYTHON3:-python3}
export LOGAUDIT_PATTERNS
unset LOGAUDIT_DB || true

die() {
	echo "bench: $*" >&2
	exit 1
}

is_count() {
	case $1 in
	''|*[!0-9]*) return 1 ;;
	*) return 0 ;;
	esac
}

# -- what we need, said plainly --------------------------------------------

if ! is_count "$BENCH_MB" || [ "$BENCH_MB" -eq 0 ]; then
	die "BENCH_MB must be a positive whole number of MiB, not '$BENCH_MB'"
fi
if ! is_count "$BENCH_RUNS" || [ "$BENCH_RUNS" -eq 0 ]; then
	die "BENCH_RUNS must be a positive number, not '$BENCH_RUNS'"
fi
is_count "$BENCH_JQ_RUNS" ||
	die "BENCH_JQ_RUNS must be a number (0 skips jq), not '$BENCH_JQ_RUNS'"
if ! /usr/bin/time -f '%e %M' true 2>/dev/null; then
	die "GNU time is needed as /usr/bin/time: apt-get install jq time"
fi
if [ "$BENCH_JQ_RUNS" -gt 0 ]; then
	command -v jq >/dev/null 2>&1 ||
		die "jq not found (or set BENCH_JQ_RUNS=0): apt-get install jq time"
	echo x | grep -aP 'x' >/dev/null 2>&1 ||
		die "the jq pipeline needs grep -P (GNU grep built with PCRE)"
fi
command -v "$PYTHON3" >/dev/null 2>&1 ||
	die "python3 not found (it generates the input): apt-get install python3"
[ -x "$logaudit" ] ||
	die "no ./logaudit here: run 'make' first, from the build directory"
[ -x "$floor" ] ||
	die "no ./bench/floor here: run 'make bench/floor' (make bench does)"
[ -d "$LOGAUDIT_PATTERNS" ] ||
	die "LOGAUDIT_PATTERNS=$LOGAUDIT_PATTERNS is not a directory"

mkdir -p "$BENCH_DIR"
work=$(mktemp -d "$BENCH_DIR/run.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# -- inputs: generated once, reused while gen.py and the size are the same --

gen_stamp() {	# framing
	printf '%s %s %s\n' "$1" "$BENCH_MB" "$(cksum < "$here/gen.py")"
}

input() {	# framing -> path, generating it when missing or stale
	f="$BENCH_DIR/$1-$BENCH_MB.json"
	if [ -f "$f" ] && [ -f "$f.stamp" ] &&
	    [ "$(cat "$f.stamp")" = "$(gen_stamp "$1")" ]; then
		echo "$f"
		return
	fi
	need_kib=$((BENCH_MB * 1024 + 65536))
	avail_kib=$(df -Pk "$BENCH_DIR" | awk 'NR == 2 { print $4 }')
	[ "${avail_kib:-0}" -ge "$need_kib" ] ||
		die "$BENCH_DIR: need $((need_kib / 1024)) MiB free for the" \
		    "$1 input, have $((${avail_kib:-0} / 1024)) MiB (set BENCH_DIR)"
	echo "bench: generating $f ($BENCH_MB MiB)" >&2
	rm -f "$f" "$f.stamp"
	# into $work first: an interrupted run leaves no half file behind
	"$PYTHON3" "$here/gen.py" --format "$1" --size-mb "$BENCH_MB" \
	    "$work/gen.tmp" >&2 || die "gen.py failed for $1"
	mv "$work/gen.tmp" "$f"
	gen_stamp "$1" > "$f.stamp"
	echo "$f"
}

# -- measuring ------------------------------------------------------------------

now_ns() {
	date +%s%N
}

# measure NAME CMD...: run CMD with its output in $work/NAME.{out,err};
# sets secs, rss_kib and rc.  Wall time from date(1) in ns when it can,
# else /usr/bin/time's %e (1/100 s); peak RSS is always time's %M.
measure() {
	name=$1
	shift
	t0=$(now_ns)
	rc=0
	/usr/bin/time -f '%e %M' -o "$work/$name.time" "$@" \
	    > "$work/$name.out" 2> "$work/$name.err" || rc=$?
	t1=$(now_ns)
	rss_kib=$(awk 'END { print $2 }' "$work/$name.time")
	case $t0$t1 in
	*[!0-9]*) secs=$(awk 'END { print $1 }' "$work/$name.time") ;;
	*) secs=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.4f", d / 1e9 }') ;;
	esac
}

median() {	# numbers on stdin -> their median
	sort -g | awk '{ v[NR] = $1 }
	    END { if (NR == 0) print "nan";
		  else if (NR % 2) print v[(NR + 1) / 2];
		  else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

maximum() {
	sort -g | tail -n 1
}

# -- the jq pipeline: what a user writes without logaudit ---------------------

# One PCRE for grep -P: every regex of the catalogue, and its status ranges
# matched against the status column.  Lines are revision TAB status TAB
# message, so "^"/"$" anchors in a catalogue regex see the whole line; the
# log and min-severity filters are not applied.  Close enough for a timing.
union_regex() {
	"$PYTHON3" - "$LOGAUDIT_PATTERNS" <<'EOF'
import glob, os, re, sys
pats = {}
for d in sys.argv[1].split(":"):
    for path in sorted(glob.glob(os.path.join(d, "*.conf"))):
        cur = None
        for line in open(path, encoding="utf-8"):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.match(r"^\[(.+)\]$", line)
            if m:
                cur = m.group(1)
                pats[cur] = ([], [])
                continue
            key, _, value = line.partition("=")
            key, value = key.strip(), value.strip()
            if cur is None:
                continue
            if key == "regex":
                pats[cur][0].append("(?:%s)" % value)
            elif key == "status":
                for part in value.split(","):
                    lo, _, hi = part.strip().partition("-")
                    codes = range(int(lo), int(hi or lo) + 1)
                    pats[cur][1].extend(str(c) for c in codes)
alts = []
for regexes, codes in pats.values():
    alts.extend(regexes)
    if codes:
        alts.append("(?:^[^\\t]*\\t(?:%s)\\t)" % "|".join(codes))
if not alts:
    sys.exit("bench: no regex or status in the catalogue")
print("|".join(alts))
EOF
}

write_jq_pipeline() {	# framing -> a script taking FILE
	if [ "$1" = array ]; then
		each='.[] | '
	else
		each=''
	fi
	cat > "$work/jq-$1.sh" <<EOF
# revision, status, message of every entry; keep the lines the catalogue
# would match; count them per revision
LC_ALL=C
export LC_ALL
jq -r '${each}[.resource.labels.revision_name // "",
    (.httpRequest.status // "" | tostring),
    (.textPayload // .jsonPayload.message // "" | tostring)] | @tsv' "\$1" \\
    2> "$work/jq-$1.jqerr" |
    grep -aP -- "\$(cat "$work/union.re")" | cut -f1 | sort | uniq -c
EOF
}

# row COMMAND SECS-FILE RSS-FILE RUNS: one line of the table, for the
# current $framing, $bytes and $entries
row() {
	s=$(median < "$2")
	r=$(maximum < "$3")
	awk -v fr="$framing" -v c="$1" -v s="$s" -v r="$r" -v b="$bytes" \
	    -v n="$entries" -v k="$4" 'BEGIN {
		printf "%-7s %-9s %5s %9.2f %9.1f %12.0f %13.1f\n",
		    fr, c, k, s, b / 1e6 / s, n / s, r / 1024 }' >> "$work/table"
}

# -- the runs -------------------------------------------------------------------

ndjson=$(input ndjson)
array=$(input array)
if [ "$BENCH_JQ_RUNS" -gt 0 ]; then
	union_regex > "$work/union.re" || die "cannot read the catalogue in" \
	    "$LOGAUDIT_PATTERNS"
fi

echo "bench: warming the page cache" >&2
cat "$ndjson" "$array" > /dev/null

results="$BENCH_DIR/results.txt"
: > "$work/table"
: > "$work/ratios"

for framing in ndjson array; do
	if [ "$framing" = ndjson ]; then
		file=$ndjson
	else
		file=$array
	fi
	bytes=$(wc -c < "$file" | tr -d ' ')
	: > "$work/floor.secs"; : > "$work/floor.rss"
	: > "$work/la.secs"; : > "$work/la.rss"
	: > "$work/pair.ratio"
	entries=
	i=1
	while [ "$i" -le "$BENCH_RUNS" ]; do
		echo "bench: $framing pair $i/$BENCH_RUNS" >&2
		# alternate which goes first, so neither always gets the
		# warmer cache or the quieter moment
		if [ $((i % 2)) -eq 1 ]; then
			order="floor logaudit"
		else
			order="logaudit floor"
		fi
		for which in $order; do
			if [ "$which" = floor ]; then
				measure floor "$floor" "$file"
				[ "$rc" -eq 0 ] || {
					cat "$work/floor.err" >&2
					die "bench/floor failed on $file"
				}
				n=$(cat "$work/floor.out")
				[ -z "$entries" ] || [ "$n" = "$entries" ] ||
					die "floor counted $n entries, then $entries"
				entries=$n
				f_secs=$secs
				echo "$secs" >> "$work/floor.secs"
				echo "$rss_kib" >> "$work/floor.rss"
			else
				db="$work/ingest.db"
				rm -f "$db" "$db-wal" "$db-shm" "$db-journal"
				measure logaudit "$logaudit" ingest --db "$db" \
				    "$file"
				if [ "$rc" -ne 0 ]; then
					tail -n 20 "$work/logaudit.err" >&2
					die "logaudit ingest failed (exit $rc) on" \
					    "$file"
				fi
				l_secs=$secs
				echo "$secs" >> "$work/la.secs"
				echo "$rss_kib" >> "$work/la.rss"
			fi
		done
		# logaudit's throughput as a share of the floor's, this pair
		awk -v f="$f_secs" -v l="$l_secs" \
		    'BEGIN { printf "%.4f\n", f / l }' >> "$work/pair.ratio"
		i=$((i + 1))
	done
	# what logaudit said about its last run, for the record
	said=$(cat "$work/logaudit.out" "$work/logaudit.err" |
	    grep -v '^[[:space:]]*$' | tail -n 1 || true)
	[ -z "$said" ] || echo "bench: logaudit ($framing) said: $said" >&2

	row floor "$work/floor.secs" "$work/floor.rss" "$BENCH_RUNS"
	row logaudit "$work/la.secs" "$work/la.rss" "$BENCH_RUNS"
	ratio=$(median < "$work/pair.ratio")
	ratios="$(sort -g "$work/pair.ratio" | tr '\n' ' ')"

	jq_vs="-"
	if [ "$BENCH_JQ_RUNS" -gt 0 ]; then
		write_jq_pipeline "$framing"
		: > "$work/jq.secs"; : > "$work/jq.rss"
		j=1
		while [ "$j" -le "$BENCH_JQ_RUNS" ]; do
			echo "bench: $framing jq pipeline $j/$BENCH_JQ_RUNS" \
			    "(slow)" >&2
			measure jq sh "$work/jq-$framing.sh" "$file"
			if [ "$rc" -ne 0 ] || [ -s "$work/jq-$framing.jqerr" ] ||
			    [ -s "$work/jq.err" ]; then
				cat "$work/jq-$framing.jqerr" "$work/jq.err" >&2
				die "the jq pipeline failed on $file"
			fi
			echo "$secs" >> "$work/jq.secs"
			echo "$rss_kib" >> "$work/jq.rss"
			j=$((j + 1))
		done
		cp "$work/jq.out" "$BENCH_DIR/jq-$framing-counts.txt"
		row "jq|grep" "$work/jq.secs" "$work/jq.rss" "$BENCH_JQ_RUNS"
		jq_vs=$(awk -v j="$(median < "$work/jq.secs")" \
		    -v l="$(median < "$work/la.secs")" \
		    'BEGIN { printf "%.1f", j / l }')
	fi
	printf '%-7s %22.3f %14s   %s\n' "$framing" "$ratio" "$jq_vs" \
	    "$ratios" >> "$work/ratios"
done

# -- the report -------------------------------------------------------------

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo \
    2>/dev/null || true)
{
	echo "logaudit bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: ${cpu:-unknown cpu}, $(nproc 2>/dev/null || echo '?')" \
	    "cpus, $(uname -sr)"
	echo "inputs:  $ndjson, $array ($BENCH_MB MiB each, page cache warm)"
	echo "catalogue: $LOGAUDIT_PATTERNS"
	echo
	echo "framing command   runs  median_s      MB/s    entries/s  peak_RSS_MiB"
	cat "$work/table"
	echo
	echo "framing logaudit/floor_throughput  jq_s/logaudit_s   per-pair ratios"
	cat "$work/ratios"
	echo
	echo "entries/s counts the entries bench/floor found; MB/s is 10^6 bytes."
	echo "logaudit/floor is the median of per-pair ratios of throughput"
	echo "(1.000 = as fast as parsing alone)."
} | tee "$results"
echo "bench: results kept in $results" >&2
