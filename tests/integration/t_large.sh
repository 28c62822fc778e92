#!/bin/sh
#
# t_large.sh -- memory stays bounded by the largest entry kept, never by the
# input, and counts stay exact at size.  Run only when LOGAUDIT_LARGE_MB is
# set (e.g. LOGAUDIT_LARGE_MB=1024 make check); the inputs are generated in
# the temporary directory, streamed from python3 to a file (about
# LOGAUDIT_LARGE_MB MiB each, one at a time: the disk needs that much free).
#   (a) an NDJSON export of LOGAUDIT_LARGE_MB MiB over 4 revisions: the exact
#       entry count per revision and of the auth-no-token pattern, nothing
#       bad, peak RSS under 64 MiB; ingested again, every entry a duplicate
#       (past STORE_DEDUP_KEYS_MAX keys the dedup set reloads from the
#       database) and no count changed, still under 64 MiB;
#   (b) LOGAUDIT_LARGE_MB MiB without a newline, one
#       {"insertId":"x","textPayload":"aaaa... string that never ends: the
#       ingest finishes, counts nothing, reports one bad entry, RSS < 64 MiB;
#   (c) as much junk text without a newline, then one valid entry on the
#       next line: the junk is skipped as one non-JSON line and the entry
#       counted under its own service and revision, RSS < 64 MiB.

. "$(dirname "$0")/lib.sh"

case "${LOGAUDIT_LARGE_MB:-}" in
'')	skip_all "set LOGAUDIT_LARGE_MB to run" ;;
*[!0-9]*)
	bail_out "LOGAUDIT_LARGE_MB must be a number of MiB, not" \
	    "\"$LOGAUDIT_LARGE_MB\"" ;;
esac
[ "$LOGAUDIT_LARGE_MB" -gt 0 ] || skip_all "set LOGAUDIT_LARGE_MB to run"
"$PYTHON3" -c 'import json, sqlite3, resource' >/dev/null 2>&1 ||
    skip_all "python3 with json, sqlite3 and resource not found as '$PYTHON3'"
[ -x "$LOGAUDIT" ] || bail_out "no logaudit binary at $LOGAUDIT"

MB=$LOGAUDIT_LARGE_MB
RSS_MAX_KIB=65536	# 64 MiB
# No input may take longer than this (seconds); at 10 MiB/s and up.
TIME_MAX=$((MB / 10 + 120))

# gen.py CASE FILE MIB: write CASE's input of MIB MiB to FILE; for "ndjson"
# print what logaudit must count, as JSON.
cat >"$T/gen.py" <<'EOF'
import json, sys

case, path, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
size = mib << 20

REVS = [("api", "api-00041-tux"), ("api", "api-00042-vow"),
        ("web", "web-00007-ark"), ("web", "web-00008-bee")]
LINE = ('{"insertId":"big-%%09d","logName":"projects/big-proj/logs/'
        'run.googleapis.com%%%%2Fstdout","resource":{"type":'
        '"cloud_run_revision","labels":{"project_id":"big-proj",'
        '"location":"us-central1","service_name":"%s","revision_name":'
        '"%s","configuration_name":"%s"}},"timestamp":'
        '"2024-05-01T%%02d:%%02d:%%02d.%%03dZ","severity":"INFO",'
        '"textPayload":"%%s"}\n')
TEMPLATES = [LINE % (s, r, s) for s, r in REVS]

def entry(i):
    ms = i		# one entry per millisecond from 10:00
    t = 10 * 3600 + ms // 1000
    msg = ("WebSocket connection rejected: NO_TOKEN" if i % 97 == 0 else
           "GET /api/items/%d 200 in %d ms, user agent okhttp/4.12" %
           (i, i % 1000))
    return TEMPLATES[i % 4] % (i, t // 3600, t // 60 % 60, t % 60,
                                ms % 1000, msg)

out = open(path, "wb")
if case == "ndjson":
    want = {"entries": 0, "revisions": {"%s/%s" % sr: 0 for sr in REVS},
            "no_token": 0}
    n, i, buf = 0, 0, []
    while n < size:
        line = entry(i)
        buf.append(line)
        n += len(line)
        want["revisions"]["%s/%s" % REVS[i % 4]] += 1
        want["no_token"] += i % 97 == 0
        i += 1
        if len(buf) == 4096:
            out.write("".join(buf).encode())
            buf = []
    out.write("".join(buf).encode())
    want["entries"] = i
    print(json.dumps(want, sort_keys=True))
elif case == "nonl":
    out.write(b'{"insertId":"x","textPayload":"')
    chunk, n = b"a" * (1 << 20), out.tell()
    while n < size:
        k = min(len(chunk), size - n)
        out.write(chunk[:k])
        n += k
elif case == "junk":
    chunk, n = b"junk text, no JSON, no end of line; " * 29127, 0
    while n < size:
        k = min(len(chunk), size - n)
        out.write(chunk[:k])
        n += k
    out.write(b"\n" + json.dumps({
        "insertId": "after-the-junk",
        "logName": "projects/big-proj/logs/run.googleapis.com%2Fstderr",
        "resource": {"type": "cloud_run_revision", "labels": {
            "project_id": "big-proj", "location": "us-central1",
            "service_name": "late", "revision_name": "late-00001-abc"}},
        "timestamp": "2024-05-01T12:00:00.5Z",
        "severity": "ERROR",
        "textPayload": "the one survivor"}).encode() + b"\n")
out.close()
EOF

# ingest NAME DB FILE: ingest under rss_run and a time limit; stderr in
# $T/NAME.err, peak RSS in KiB in $kib, seconds in $secs; returns the exit
# status.
ingest()
{
	_t0=$("$PYTHON3" -c 'import time; print(time.time())')
	if command -v timeout >/dev/null 2>&1; then
		rss_run "$T/$1.kib" timeout "$TIME_MAX" \
		    "$LOGAUDIT" ingest --db "$2" "$3" >"$T/$1.out" 2>"$T/$1.err"
	else
		rss_run "$T/$1.kib" "$LOGAUDIT" ingest --db "$2" "$3" \
		    >"$T/$1.out" 2>"$T/$1.err"
	fi
	_st=$?
	secs=$("$PYTHON3" -c 'import sys, time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$_t0")
	kib=$(cat "$T/$1.kib" 2>/dev/null)
	diag "$1: ${MB} MiB in ${secs}s, peak RSS ${kib:-?} KiB, exit $_st"
	return $_st
}

# rss_ok NAME: a test that $kib is under the limit.
rss_ok()
{
	[ "${kib:-999999999}" -lt "$RSS_MAX_KIB" ]
	ok $? "$1: peak RSS ${kib:-?} KiB < $RSS_MAX_KIB KiB"
}

# revision_entries DB: "service/revision=entries ..." sorted, and the
# auth-no-token count over all revisions, from `revisions --format json`.
revision_entries()
{
	"$LOGAUDIT" revisions --db "$1" --format json 2>/dev/null | "$PYTHON3" -c '
import json, sys
revs = json.load(sys.stdin)["revisions"]
print(" ".join(sorted("%s/%s=%d" % (r["service"], r["revision"], r["entries"])
                      for r in revs)),
      sum(p["count"] for r in revs for p in r["top_patterns"]
          if p["id"] == "auth-no-token"))' 2>&1
}

#
# (a) a large NDJSON export.
#
"$PYTHON3" "$T/gen.py" ndjson "$T/a.ndjson" "$MB" >"$T/a.want" ||
    bail_out "cannot generate $MB MiB of NDJSON"
want_n=$("$PYTHON3" -c 'import json, sys; print(json.load(open(sys.argv[1]))["entries"])' "$T/a.want")
want_revs=$("$PYTHON3" -c '
import json, sys
w = json.load(open(sys.argv[1]))
print(" ".join(sorted("%s=%d" % kv for kv in w["revisions"].items())),
      w["no_token"])' "$T/a.want")
ingest a1 "$T/a.db" "$T/a.ndjson"
is $? 0 "(a) ndjson: ingest exits 0" || diag_file "$T/a1.err"
is "$(summary_count "$T/a1.err" counted)/$(summary_count "$T/a1.err" bad)" \
    "$want_n/0" "(a) ndjson: $want_n counted, 0 bad" || diag_file "$T/a1.err"
is "$(revision_entries "$T/a.db")" "$want_revs" \
    "(a) ndjson: entries per revision and auth-no-token count exact"
rss_ok "(a) ndjson"
"$LOGAUDIT" revisions --db "$T/a.db" --format json >"$T/a1.json" 2>/dev/null
ingest a2 "$T/a.db" "$T/a.ndjson"
is $? 0 "(a) ndjson again: ingest exits 0" || diag_file "$T/a2.err"
is "$(summary_count "$T/a2.err" counted)/$(summary_count "$T/a2.err" duplicates)" \
    "0/$want_n" "(a) ndjson again: 0 counted, $want_n duplicates" ||
    diag_file "$T/a2.err"
"$LOGAUDIT" revisions --db "$T/a.db" --format json >"$T/a2.json" 2>/dev/null
cmp -s "$T/a1.json" "$T/a2.json"
ok $? "(a) ndjson again: revisions JSON unchanged"
rss_ok "(a) ndjson again"
rm -f "$T/a.ndjson"

#
# (b) one string that never ends.
#
"$PYTHON3" "$T/gen.py" nonl "$T/b.in" "$MB" ||
    bail_out "cannot generate $MB MiB without a newline"
ingest b "$T/b.db" "$T/b.in"
is $? 0 "(b) no newline: ingest finishes, exit 0" || diag_file "$T/b.err"
is "$(rev_total "$T/b.db")" 0 "(b) no newline: nothing counted"
is "$(db_value "$T/b.db" 'SELECT bad FROM ingest_runs')" 1 \
    "(b) no newline: ingest_runs: 1 bad"
grep -q 'b.in:1: byte 0: entry too large' "$T/b.err"
ok $? "(b) no newline: stderr reports it at line 1, byte 0" ||
    diag_file "$T/b.err"
rss_ok "(b) no newline"
rm -f "$T/b.in"

#
# (c) a line of junk as long, then one entry.
#
"$PYTHON3" "$T/gen.py" junk "$T/c.in" "$MB" ||
    bail_out "cannot generate $MB MiB of junk"
ingest c "$T/c.db" "$T/c.in"
is $? 0 "(c) junk line then an entry: ingest exits 0" || diag_file "$T/c.err"
is "$(revision_entries "$T/c.db")" "late/late-00001-abc=1 0" \
    "(c) junk line then an entry: the entry counted under late/late-00001-abc, nothing else" ||
    diag_file "$T/c.err"
is "$(summary_count "$T/c.err" 'lines skipped')" 1 \
    "(c) junk line then an entry: 1 line skipped"
rss_ok "(c) junk line then an entry"
# counted as a LogEntry, it is deduplicated: a second ingest adds nothing
ingest c2 "$T/c.db" "$T/c.in"
is "$(revision_entries "$T/c.db")" "late/late-00001-abc=1 0" \
    "(c) again: the entry is a duplicate, no count changed"
rm -f "$T/c.in"

done_testing
