#!/bin/sh
# t_chunks.sh -- the same input split anywhere gives the same counts.
#
# The real binary reads each real capture from a pipe that a writer feeds
# in random chunk sizes (with pauses, so reads really return short), and
# one byte at a time; the per-revision counts, the matched patterns and the
# entries `match` prints must equal those of reading the file whole.  The
# reader's own unit test (test_entry) splits at every size in-process; this
# one proves the binary's read loop and the reader agree across real
# read(2) boundaries, for the gcloud array, console copies and NDJSON.

. "$(dirname "$0")/lib.sh"

# feed FILE MODE: write FILE to stdout in chunks (MODE: random | byte)
cat > feed.py <<'PY'
import os, random, sys, time
data = open(sys.argv[1], "rb").read()
mode = sys.argv[2]
rng = random.Random(7)
i = 0
while i < len(data):
    n = 1 if mode == "byte" else rng.randint(1, 4096)
    os.write(1, data[i:i + n])
    i += n
    if mode == "random" and rng.random() < 0.2:
        time.sleep(0.001)
PY

for name in netra_gcloud-read_frontend-auth_100-entries.json \
    cerberus_console-copy_concatenated-objects.txt \
    cityhelper_console-copy_summary-lines-mixed.txt \
    plaso_testdata_gcp-logging_ndjson.jsonl; do
	f="$TEST_SRCDIR/data/real/$name"
	"$LOGAUDIT" ingest -q --db whole.db "$f" 2>/dev/null
	"$LOGAUDIT" revisions --db whole.db --format json > whole.json
	"$LOGAUDIT" match --format json "$f" > whole.match 2>/dev/null
	n=$("$PYTHON3" -c 'import json,sys; print(sum(r["entries"] for r in json.load(open(sys.argv[1]))["revisions"]))' whole.json)
	[ "${n:-0}" -gt 0 ] && [ -s whole.match ]
	ok $? "$name: read whole, $n entries"
	for mode in random byte; do
		rm -f split.db*
		"$PYTHON3" feed.py "$f" $mode | "$LOGAUDIT" ingest --db split.db - 2> split.err
		"$LOGAUDIT" revisions --db split.db --format json > split.json
		"$PYTHON3" feed.py "$f" $mode | "$LOGAUDIT" match --format json - > split.match 2>/dev/null
		cmp -s whole.json split.json
		ok $? "$name, $mode chunks: the same $n entries per revision, severity and pattern"
		# "line" differs only if line counting broke at a boundary
		cmp -s whole.match split.match
		ok $? "$name, $mode chunks: match prints the same entries, messages and lines"
		[ -s split.err ] || diag "no summary"
	done
	rm -f whole.db*
done
done_testing
