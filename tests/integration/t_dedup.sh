#!/bin/sh
#
# t_dedup.sh -- exactly-once counting across runs, the promise cron jobs
# with overlapping windows rely on.  A generated export of 1000 entries over
# 2 services x 2 revisions (stdout, stderr and request logs; messages the
# default catalogue counts as auth-no-token, python-traceback and, through
# httpRequest.status 502, http-5xx) is ingested and its per-revision
# entries, requests, first/last seen and top_patterns compared with what
# the generator knows it wrote.  Then, each in a separate process (so the
# dedup memory is reloaded from the database):
#   - the same file again: nothing counted, 1000 duplicates, the revisions
#     JSON byte-identical, pattern counts unchanged;
#   - two overlapping windows (entries 1..600, then 400..1000), in two runs
#     and in one run with two inputs: the same counts as one pass;
#   - the same entries as a gcloud pretty array, newest first, timestamps
#     with extra trailing zeros (.123400Z, .123400000Z for .1234Z): all
#     duplicates;
#   - the same insertId with another logName or another timestamp: counted;
#     with the same logName and the same instant written differently
#     (9 digits, a +02:00 offset) but another payload: a duplicate;
#   - --dedup-window 1h: an entry older than the newest stored one minus
#     an hour is refused as "too old" and not counted, one younger counted;
#     with the default 7d window, an entry 8 days older is refused too.

. "$(dirname "$0")/lib.sh"

"$PYTHON3" -c 'import json, sqlite3' >/dev/null 2>&1 ||
    skip_all "python3 with json and sqlite3 not found as '$PYTHON3'"
[ -x "$LOGAUDIT" ] || bail_out "no logaudit binary at $LOGAUDIT"

N=1000

# gen.py MODE FROM TO: entries FROM..TO (1-based, inclusive) of the export.
#   ndjson   compact, one per line, in order, fractions as written: .1234Z
#   pretty   gcloud logging read --format=json: an indented array, newest
#            first, fractions padded to 6 digits (every third to 9)
#   expect   what logaudit revisions must show for them, as JSON
#   variants entries that share entry 11's insertId (see below)
#   window   two new entries, 2 h and 30 min before the newest (--dedup-window)
#   ancient  one new entry 8 days before the newest
cat >"$T/gen.py" <<'EOF'
import datetime, json, sys

BASE = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
SUFFIX = {1: "aaa", 2: "bbb"}

def when(i):
    """Entry i's instant: 2 s apart, a 4-digit fraction (100 us units)."""
    frac = (i * 37) % 10000
    return BASE + datetime.timedelta(seconds=2 * i, microseconds=frac * 100)

def stamp(t, digits=4):
    frac = "%06d" % t.microsecond
    frac = (frac + "000")[:digits] if digits > 6 else frac[:digits]
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + frac + "Z"

def ident(i):
    svc = ("api", "web")[i % 2]
    seq = 1 + (i // 2) % 2
    return svc, "%s-%05d-%s" % (svc, seq, SUFFIX[seq])

def log_name(kind):
    return "projects/demo-proj/logs/run.googleapis.com%%2F%s" % kind

def entry(i, digits=4):
    svc, rev = ident(i)
    t = when(i)
    e = {"insertId": "ins-%05d" % i,
         "resource": {"type": "cloud_run_revision", "labels": {
             "project_id": "demo-proj", "location": "us-central1",
             "service_name": svc, "revision_name": rev,
             "configuration_name": svc}},
         "timestamp": stamp(t, digits),
         "receiveTimestamp": stamp(t + datetime.timedelta(seconds=1), 9)}
    k = (i // 4) % 10	# independent of service (i % 2) and revision
    if k == 3:
        e.update(logName=log_name("stderr"), severity="ERROR",
                 textPayload="WebSocket connection rejected: NO_TOKEN")
    elif k == 7:
        e.update(logName=log_name("requests"), severity="ERROR",
                 httpRequest={"requestMethod": "POST", "status": 502,
                              "requestUrl": "https://%s.example/book/%d"
                              % (svc, i), "latency": "0.250s"})
    elif k == 5:
        e.update(logName=log_name("requests"), severity="INFO",
                 httpRequest={"requestMethod": "GET", "status": 200,
                              "requestUrl": "https://%s.example/items/%d"
                              % (svc, i), "latency": "0.012s"})
    elif k == 9:
        e.update(logName=log_name("stderr"), severity="ERROR",
                 jsonPayload={"message": "Traceback (most recent call "
                              "last):\n  File \"/app/main.py\", line %d, in "
                              "handler\nKeyError: 'user'" % i})
    else:
        e.update(logName=log_name("stdout"), severity="INFO",
                 textPayload="request handled id=%d" % i)
    return e

def patterns(i):
    return {3: ["auth-no-token"], 7: ["http-5xx"],
            9: ["python-traceback"]}.get((i // 4) % 10, [])

mode, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ids = range(lo, hi + 1)
out = sys.stdout
if mode == "ndjson":
    for i in ids:
        out.write(json.dumps(entry(i)) + "\n")
elif mode == "pretty":
    es = [entry(i, 9 if i % 3 == 0 else 6) for i in reversed(ids)]
    out.write(json.dumps(es, indent=2) + "\n")
elif mode == "expect":
    revs = {}
    for i in ids:
        svc, rev = ident(i)
        r = revs.setdefault(svc + "/" + rev, {
            "entries": 0, "requests": 0, "patterns": {},
            "first_seen": None, "last_seen": None})
        r["entries"] += 1
        if (i // 4) % 10 in (5, 7):
            r["requests"] += 1
        for p in patterns(i):
            r["patterns"][p] = r["patterns"].get(p, 0) + 1
        s = stamp(when(i), 6)
        r["first_seen"] = min(r["first_seen"] or s, s)
        r["last_seen"] = max(r["last_seen"] or s, s)
    json.dump(revs, out, sort_keys=True)
elif mode == "variants":
    base = entry(lo)
    t = when(lo)
    def v(**kw):
        e = json.loads(json.dumps(base))
        e.update(kw)
        out.write(json.dumps(e) + "\n")
    # counted: another logName; another instant (1 us later)
    v(logName=log_name("stderr"))
    v(timestamp=stamp(t + datetime.timedelta(microseconds=1), 6))
    # duplicates: the same key, whatever else differs
    v(textPayload="a different message", severity="WARNING")
    v(timestamp=stamp(t, 9), textPayload="nine digits")
    local = t.astimezone(datetime.timezone(datetime.timedelta(hours=2)))
    v(timestamp=local.strftime("%Y-%m-%dT%H:%M:%S.%f+02:00"),
      textPayload="an offset")
elif mode in ("window", "ancient"):
    newest = when(hi)
    ago = {"window": [("too-old-1", datetime.timedelta(hours=2)),
                      ("recent-1", datetime.timedelta(minutes=30))],
           "ancient": [("ancient-1", datetime.timedelta(days=8))]}[mode]
    for name, d in ago:
        e = entry(lo)
        e["insertId"] = name
        e["timestamp"] = stamp(newest - d, 6)
        e["textPayload"] = "late entry " + name
        out.write(json.dumps(e) + "\n")
EOF

# compare REVISIONS_JSON EXPECT_JSON: exit 0 when every revision shows the
# expected numbers; the differences as TAP diagnostics.
compare()
{
	"$PYTHON3" - "$1" "$2" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))
got = {}
for r in doc["revisions"]:
    got[r["service"] + "/" + r["revision"]] = {
        "entries": r["entries"], "requests": r["requests"],
        # catalogue patterns only: templates are t_templates.sh's
        "patterns": {p["id"]: p["count"] for p in r["top_patterns"]
                     if not p["id"].startswith("tpl-")},
        "first_seen": r["first_seen"], "last_seen": r["last_seen"]}
bad = 0
for k in sorted(set(got) | set(want)):
    if got.get(k) != want.get(k):
        print("# %s:\n#   got  %s\n#   want %s" % (
            k, json.dumps(got.get(k), sort_keys=True),
            json.dumps(want.get(k), sort_keys=True)))
        bad = 1
sys.exit(bad)
EOF
}

# run NAME CMD...: CMD's stdout in $T/NAME.out, stderr in $T/NAME.err.
run()
{
	_name=$1
	shift
	"$@" >"$T/$_name.out" 2>"$T/$_name.err"
}

# revisions NAME DB: `revisions --format json` of DB into $T/NAME.json.
revisions()
{
	"$LOGAUDIT" revisions --db "$2" --format json >"$T/$1.json" \
	    2>"$T/$1.json.err"
}

# summary NAME WANT-COUNTED WANT-DUPLICATES TEXT: two tests on the summary
# line of run NAME.
summary()
{
	is "$(summary_count "$T/$1.err" counted)" "$2" "$4: $2 counted" ||
	    diag_file "$T/$1.err" 5
	is "$(summary_count "$T/$1.err" duplicates)" "$3" "$4: $3 duplicates"
}

# pattern_sums DB: "matches in revision_patterns / in counts", which must
# agree (revision_patterns.count = sum(counts.count)).
pattern_sums()
{
	echo "$(db_value "$1" "SELECT coalesce(sum(count), 0) FROM revision_patterns WHERE pattern NOT LIKE 'tpl-%'")/$(db_value "$1" "SELECT coalesce(sum(count), 0) FROM counts WHERE pattern NOT LIKE 'tpl-%'")"
}

"$PYTHON3" "$T/gen.py" ndjson 1 $N >"$T/full.ndjson" &&
"$PYTHON3" "$T/gen.py" ndjson 1 600 >"$T/w1.ndjson" &&
"$PYTHON3" "$T/gen.py" ndjson 400 $N >"$T/w2.ndjson" &&
"$PYTHON3" "$T/gen.py" pretty 1 $N >"$T/full.pretty.json" &&
"$PYTHON3" "$T/gen.py" expect 1 $N >"$T/full.expect" &&
"$PYTHON3" "$T/gen.py" variants 11 11 >"$T/variants.ndjson" &&
"$PYTHON3" "$T/gen.py" window 1 $N >"$T/window.ndjson" &&
"$PYTHON3" "$T/gen.py" ancient 1 $N >"$T/ancient.ndjson" ||
    bail_out "cannot generate the test data"
# the patterns the generator's messages are meant to hit
want_matches=$("$PYTHON3" -c '
import json, sys
print(sum(sum(r["patterns"].values()) for r in json.load(open(sys.argv[1])).values()))' \
    "$T/full.expect")

#
# One pass, then the same file again.
#
run a1 "$LOGAUDIT" ingest --db "$T/a.db" "$T/full.ndjson"
is $? 0 "first ingest exits 0" || diag_file "$T/a1.err"
summary a1 $N 0 "first ingest"
revisions a1 "$T/a.db"
compare "$T/a1.json" "$T/full.expect" >"$T/cmp.out"
ok $? "first ingest: per revision entries, requests, first/last seen and top_patterns as generated" ||
    cat "$T/cmp.out"
is "$(pattern_sums "$T/a.db")" "$want_matches/$want_matches" \
    "first ingest: $want_matches pattern matches stored"

run a2 "$LOGAUDIT" ingest --db "$T/a.db" "$T/full.ndjson"
is $? 0 "second ingest exits 0" || diag_file "$T/a2.err"
summary a2 0 $N "second ingest"
revisions a2 "$T/a.db"
cmp -s "$T/a1.json" "$T/a2.json"
ok $? "second ingest: revisions JSON unchanged (counts and top_patterns)" ||
    diff "$T/a1.json" "$T/a2.json" | head -n 20 | sed 's/^/#   /'
is "$(pattern_sums "$T/a.db")" "$want_matches/$want_matches" \
    "second ingest: pattern matches unchanged"
is "$(db_value "$T/a.db" "SELECT count(*) || ' ' || group_concat(status || ':' || counted || ':' || duplicates, ' ') FROM (SELECT * FROM ingest_runs ORDER BY id)")" \
    "2 ok:$N:0 ok:0:$N" "ingest_runs: two runs, ok, $N counted then $N duplicates"

#
# Overlapping windows: 1..600, then 400..1000.
#
run b1 "$LOGAUDIT" ingest --db "$T/b.db" "$T/w1.ndjson"
summary b1 600 0 "window 1..600"
run b2 "$LOGAUDIT" ingest --db "$T/b.db" "$T/w2.ndjson"
is $? 0 "window 400..1000 exits 0"
summary b2 400 201 "window 400..1000"
revisions b "$T/b.db"
cmp -s "$T/a1.json" "$T/b.json"
ok $? "overlapping windows: revisions JSON as one pass over 1..1000" ||
    diff "$T/a1.json" "$T/b.json" | head -n 20 | sed 's/^/#   /'

run c "$LOGAUDIT" ingest --db "$T/c.db" "$T/w1.ndjson" "$T/w2.ndjson"
is $? 0 "both windows in one run exits 0"
summary c 400 201 "both windows in one run, second input"
revisions c "$T/c.db"
cmp -s "$T/a1.json" "$T/c.json"
ok $? "both windows in one run: revisions JSON as one pass" ||
    diff "$T/a1.json" "$T/c.json" | head -n 20 | sed 's/^/#   /'

#
# The same entries as gcloud prints them, newest first, timestamps padded.
#
grep -q '"timestamp": "2024-05-01T12:00:06.0111Z"' "$T/full.ndjson" &&
    grep -q '"timestamp": "2024-05-01T12:00:06.011100000Z"' \
    "$T/full.pretty.json" &&
    grep -q '"timestamp": "2024-05-01T12:00:04.007400Z"' "$T/full.pretty.json"
ok $? "(the pretty copy writes .0111Z as .011100000Z, .0074Z as .007400Z)"
run a3 "$LOGAUDIT" ingest --db "$T/a.db" "$T/full.pretty.json"
is $? 0 "pretty array with padded timestamps exits 0" || diag_file "$T/a3.err"
grep -q '(array)' "$T/a3.err"
ok $? "pretty array read as an array" || diag_file "$T/a3.err" 5
summary a3 0 $N "pretty array with padded timestamps"
revisions a3 "$T/a.db"
cmp -s "$T/a1.json" "$T/a3.json"
ok $? "pretty array with padded timestamps: revisions JSON unchanged" ||
    diff "$T/a1.json" "$T/a3.json" | head -n 20 | sed 's/^/#   /'
is "$(pattern_sums "$T/a.db")" "$want_matches/$want_matches" \
    "pretty array: pattern matches unchanged"

#
# What makes a key: insertId + instant + logName.
#
entry11=$("$PYTHON3" -c '
import json, sys
for r in json.load(open(sys.argv[1]))["revisions"]:
    if r["revision"] == "web-00002-bbb":
        print(r["entries"])' "$T/a3.json")
run v "$LOGAUDIT" ingest --db "$T/a.db" "$T/variants.ndjson"
is $? 0 "variants of entry 11 exit 0" || diag_file "$T/v.err"
summary v 2 3 "same insertId: other logName, other instant counted; same key"
revisions v "$T/a.db"
is "$("$PYTHON3" -c '
import json, sys
for r in json.load(open(sys.argv[1]))["revisions"]:
    if r["revision"] == "web-00002-bbb":
        print(r["entries"])' "$T/v.json")" "$((entry11 + 2))" \
    "variants: entry 11's revision web-00002-bbb has 2 entries more"
is "$(rev_total "$T/a.db")" "$((N + 2))" "variants: $((N + 2)) entries in all"

#
# The dedup window.
#
run d1 "$LOGAUDIT" ingest --db "$T/d.db" "$T/full.ndjson"
summary d1 $N 0 "dedup window: the export"
run d2 "$LOGAUDIT" ingest --db "$T/d.db" --dedup-window 1h "$T/window.ndjson"
is $? 0 "--dedup-window 1h with a too-old entry exits 0" ||
    diag_file "$T/d2.err"
is "$(summary_count "$T/d2.err" 'too old')" 1 \
    "--dedup-window 1h: the entry 2 h before the newest is too old" ||
    diag_file "$T/d2.err" 5
is "$(summary_count "$T/d2.err" counted)" 1 \
    "--dedup-window 1h: the entry 30 min before the newest is counted"
grep -q 'older than the dedup window' "$T/d2.err"
ok $? "--dedup-window 1h: stderr explains the refusal" ||
    diag_file "$T/d2.err" 5
is "$(rev_total "$T/d.db")" "$((N + 1))" \
    "--dedup-window 1h: only the younger entry added ($((N + 1)) entries)"
is "$(db_value "$T/d.db" "SELECT too_old || '/' || counted FROM ingest_runs ORDER BY id DESC LIMIT 1")" \
    "1/1" "--dedup-window 1h: ingest_runs records 1 too old, 1 counted"
"$LOGAUDIT" revisions --db "$T/d.db" --format json | "$PYTHON3" -c '
import json, sys
firsts = [r["first_seen"] for r in json.load(sys.stdin)["revisions"]]
sys.exit(0 if min(firsts) == "2024-05-01T12:00:02.003700Z" else 1)'
ok $? "--dedup-window 1h: the too-old entry's time is not in first_seen"
run d3 "$LOGAUDIT" ingest --db "$T/d.db" "$T/ancient.ndjson"
is "$(summary_count "$T/d3.err" 'too old')" 1 \
    "default window (7d): an entry 8 days before the newest is too old" ||
    diag_file "$T/d3.err" 5
is "$(rev_total "$T/d.db")" "$((N + 1))" \
    "default window (7d): the 8-day-old entry is not counted"

done_testing
