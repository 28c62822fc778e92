#!/bin/sh
#
# t_cli.sh -- the command line contract of logaudit(1), run against the real
# binary: --help, --version, unknown commands and options and their exit
# statuses (0 ok, 2 usage error); `ingest --help` naming every option;
# `revisions` on an empty database printing an empty array; the database
# path (--db, LOGAUDIT_DB, ./logaudit.db) and the errors for a database
# that cannot be opened (directory missing) or is not SQLite (exit 2, the
# path named, the file left as it was); YAML input refused with a pointer to
# --format=json and nothing counted; a catalogue with a bad regex refused
# with its file:line before any input is read; and plain text input
# (--text --service --revision) counted line by line under that revision,
# a leading RFC 3339 timestamp setting first_seen, lines without one taking
# the time they were read, and text never deduplicated.

. "$(dirname "$0")/lib.sh"

"$PYTHON3" -c 'import json, sqlite3' >/dev/null 2>&1 ||
    skip_all "python3 with json and sqlite3 not found as '$PYTHON3'"
[ -x "$LOGAUDIT" ] || bail_out "no logaudit binary at $LOGAUDIT"

# run NAME CMD...: CMD's stdout in $T/NAME.out, stderr in $T/NAME.err;
# returns its exit status.
run()
{
	_name=$1
	shift
	"$@" >"$T/$_name.out" 2>"$T/$_name.err"
}

# grep_err NAME FIXED-STRING TEST-NAME: a test that $T/NAME.err holds it.
grep_err()
{
	grep -q -F -e "$2" "$T/$1.err"
	ok $? "$3" || diag_file "$T/$1.err" 5
}

# Three Cloud Run entries of service api, revision api-00007-xyz, one of
# which the default catalogue counts as auth-no-token.
"$PYTHON3" - >"$T/three.ndjson" <<'EOF'
import json
for i, msg in enumerate(["started", "WebSocket connection rejected: NO_TOKEN",
                         "stopped"]):
    print(json.dumps({
        "insertId": "cli-%d" % i,
        "logName": "projects/p1/logs/run.googleapis.com%2Fstdout",
        "resource": {"type": "cloud_run_revision", "labels": {
            "project_id": "p1", "location": "europe-west1",
            "service_name": "api", "revision_name": "api-00007-xyz"}},
        "timestamp": "2024-06-01T08:00:0%d.250Z" % i,
        "severity": "INFO",
        "textPayload": msg}))
EOF

#
# Global options and commands.
#
run help "$LOGAUDIT" --help
is $? 0 "--help exits 0"
grep -q ingest "$T/help.out" && grep -q revisions "$T/help.out"
ok $? "--help lists the commands on stdout" || diag_file "$T/help.out"

run version "$LOGAUDIT" --version
is $? 0 "--version exits 0"
grep -q -E '^logaudit [0-9]+\.[0-9]+' "$T/version.out"
ok $? "--version prints \"logaudit X.Y...\"" || diag_file "$T/version.out"

run noargs "$LOGAUDIT"
is $? 2 "no command: exit 2"

run unkcmd "$LOGAUDIT" frobnicate
is $? 2 "unknown command: exit 2"
grep_err unkcmd frobnicate "unknown command: stderr names it"

run unkopt "$LOGAUDIT" --frobnicate ingest
is $? 2 "unknown global option: exit 2"
grep_err unkopt --frobnicate "unknown global option: stderr names it"

run ingest_unkopt "$LOGAUDIT" ingest --frobnicate --db "$T/u.db" \
    "$T/three.ndjson"
is $? 2 "ingest with an unknown option: exit 2"
grep_err ingest_unkopt "usage: logaudit ingest" \
    "ingest with an unknown option: usage on stderr"
[ ! -e "$T/u.db" ]
ok $? "ingest with an unknown option: no database created"

run rev_unkopt "$LOGAUDIT" revisions --frobnicate
is $? 2 "revisions with an unknown option: exit 2"

run rev_badfmt "$LOGAUDIT" revisions --db "$T/f.db" --format yaml
is $? 2 "revisions --format yaml: exit 2"

run badwin "$LOGAUDIT" ingest --db "$T/w.db" --dedup-window soon \
    "$T/three.ndjson"
is $? 2 "ingest --dedup-window soon: exit 2"
grep_err badwin soon "ingest --dedup-window soon: stderr names the value"

run ingest_help "$LOGAUDIT" ingest --help
is $? 0 "ingest --help exits 0"
missing=
for o in --db --service --revision --text --strict --dedup-window \
    --patterns -q --quiet; do
	grep -q -e "$o\\b" "$T/ingest_help.out" || missing="$missing $o"
done
is "$missing" "" "ingest --help mentions every option" ||
    diag_file "$T/ingest_help.out" 30

run rev_help "$LOGAUDIT" revisions --help
is $? 0 "revisions --help exits 0"
missing=
for o in --db --service --format; do
	grep -q -e "$o\\b" "$T/rev_help.out" || missing="$missing $o"
done
is "$missing" "" "revisions --help mentions every option"

#
# An empty database.
#
run nodb "$LOGAUDIT" revisions --db "$T/typo.db" --format json
is $? 2 "revisions on a missing database exits 2"
grep_err nodb "typo.db: no such database" \
    "revisions on a missing database names it"
[ ! -e "$T/typo.db" ]
ok $? "revisions on a missing database does not create it"
printf '[]\n' > "$T/nothing.json"
"$LOGAUDIT" ingest -q --db "$T/empty.db" "$T/nothing.json"
run empty "$LOGAUDIT" revisions --db "$T/empty.db" --format json
is $? 0 "revisions on a new database exits 0"
"$PYTHON3" -c '
import json, sys
doc = json.load(open(sys.argv[1]))
sys.exit(0 if doc == {"schema_version": 1, "revisions": []} else 1)' \
    "$T/empty.out" 2>/dev/null
ok $? "revisions on a new database: {\"schema_version\": 1, \"revisions\": []}" ||
    diag_file "$T/empty.out"
run empty_text "$LOGAUDIT" revisions --db "$T/empty.db"
is $? 0 "revisions --format text on an empty database exits 0"
grep -q "no revisions" "$T/empty_text.out"
ok $? "revisions --format text on an empty database says so" ||
    diag_file "$T/empty_text.out"

#
# Databases that cannot be used.
#
run nodir "$LOGAUDIT" ingest --db "$T/no/such/dir/x.db" "$T/three.ndjson"
is $? 2 "ingest --db in a missing directory: exit 2"
grep_err nodir "$T/no/such/dir/x.db" \
    "ingest --db in a missing directory: stderr names the path"
[ ! -e "$T/no" ]
ok $? "ingest --db in a missing directory: creates no directory"
run nodir_rev "$LOGAUDIT" revisions --db "$T/no/such/dir/x.db" --format json
is $? 2 "revisions --db in a missing directory: exit 2"
grep_err nodir_rev "$T/no/such/dir/x.db" \
    "revisions --db in a missing directory: stderr names the path"

"$PYTHON3" -c '
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"this is not an SQLite database\n" + bytes(range(256)) * 64)' \
    "$T/junk.db"
cp "$T/junk.db" "$T/junk.orig"
run junk "$LOGAUDIT" ingest --db "$T/junk.db" "$T/three.ndjson"
is $? 2 "ingest into a file that is not SQLite: exit 2"
grep_err junk "$T/junk.db" "ingest into a non-SQLite file: stderr names it"
cmp -s "$T/junk.db" "$T/junk.orig"
ok $? "ingest into a non-SQLite file: the file is left as it was"
run junk_rev "$LOGAUDIT" revisions --db "$T/junk.db" --format json
is $? 2 "revisions on a file that is not SQLite: exit 2"

# A database that stops taking writes part-way (the file size limit, as a
# full disk would): the batch committed before stays, the summary and the
# run's record say how far it got, not what was read.  The writer sends
# 1000 entries, waits past the 1 s flush so that the 1001st commits them,
# then 150,000 more: their 100,000-entry batch cannot be written.
cat > "$T/grow.py" <<'PY'
import json, sys, time
def entry(i):
    return json.dumps({"insertId": "grow-%d" % i,
        "logName": "projects/p/logs/run.googleapis.com%2Fstdout",
        "resource": {"type": "cloud_run_revision", "labels": {
            "project_id": "p", "location": "eu", "service_name": "grow",
            "revision_name": "grow-00001-aaa"}},
        "timestamp": "2025-09-16T08:%02d:%02d.%06dZ" % (i // 60000 % 60,
                                                       i // 1000 % 60, i % 1000),
        "severity": "INFO", "textPayload": "tick %d" % i}) + "\n"
out = sys.stdout
out.write("".join(entry(i) for i in range(1000)))
out.flush()
time.sleep(2.5)
for k in range(1000, 151000, 10000):
    out.write("".join(entry(i) for i in range(k, k + 10000)))
out.flush()
PY
"$PYTHON3" "$T/grow.py" | "$PYTHON3" -c '
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
os.execv(sys.argv[1], sys.argv[1:])' "$LOGAUDIT" ingest --db "$T/full.db" - \
    > "$T/full.out" 2> "$T/full.err"
is $? 2 "a database that stops taking writes: exit 2" || diag_file "$T/full.err"
# a slow machine may commit once more (1 s flush) before the failing batch
n=$(rev_total "$T/full.db")
"$PYTHON3" -c 'import sys; sys.exit(not 1001 <= int(sys.argv[1]) < 151000)' "$n"
ok $? "a database that stops taking writes: the first batch stays counted ($n)"
grep -q "stopped by the database error: $n entries counted" "$T/full.err"
ok $? "a database that stops taking writes: the summary says what was committed" ||
    diag_file "$T/full.err"
is "$(db_value "$T/full.db" "SELECT status || ' ' || counted FROM ingest_runs")" \
    "error $n" "a database that stops taking writes: the run record says error, $n"

#
# Where the database is: --db, else LOGAUDIT_DB, else ./logaudit.db.
#
mkdir "$T/cwd" || bail_out "cannot create $T/cwd"
cd "$T/cwd" || bail_out "cannot cd to $T/cwd"
LOGAUDIT_DB="$T/env.db" run env_ingest "$LOGAUDIT" ingest "$T/three.ndjson"
is $? 0 "ingest with LOGAUDIT_DB set exits 0"
[ -f "$T/env.db" ] && [ ! -e "$T/cwd/logaudit.db" ]
ok $? "ingest writes the database LOGAUDIT_DB names, not ./logaudit.db"
LOGAUDIT_DB="$T/env.db" run env_rev "$LOGAUDIT" revisions --format json
is $? 0 "revisions with LOGAUDIT_DB set exits 0"
is "$("$PYTHON3" -c '
import json, sys
print(sum(r["entries"] for r in json.load(open(sys.argv[1]))["revisions"]))' \
    "$T/env_rev.out" 2>/dev/null)" 3 "revisions reads the LOGAUDIT_DB database: 3 entries"
LOGAUDIT_DB="$T/env.db" run env_override "$LOGAUDIT" ingest \
    --db "$T/override.db" "$T/three.ndjson"
is "$(summary_count "$T/env_override.err" counted)" 3 \
    "--db wins over LOGAUDIT_DB: 3 counted into the --db database"
is "$(db_value "$T/env.db" 'SELECT count(*) FROM ingest_runs')" 1 \
    "--db wins over LOGAUDIT_DB: no run recorded in the LOGAUDIT_DB one"
run default_db "$LOGAUDIT" ingest "$T/three.ndjson"
is $? 0 "ingest with neither --db nor LOGAUDIT_DB exits 0"
is "$(rev_total "$T/cwd/logaudit.db")" 3 \
    "ingest with neither --db nor LOGAUDIT_DB counts into ./logaudit.db"
cd "$T" || bail_out "cannot cd to $T"

#
# YAML, gcloud's default output format: refused, nothing counted.
#
YAML="$TEST_SRCDIR/data/real/simonw-til_gcloud-alpha-tail_default-yaml_2021.yaml"
if [ ! -f "$YAML" ]; then
	# the same shape as the capture, should the data not be there
	YAML="$T/tail.yaml"
	cat >"$YAML" <<'EOF'
insertId: 611171fe000a38a469d59595
logName: projects/datasette-222320/logs/run.googleapis.com%2Frequests
resource:
  labels:
    location: us-central1
    project_id: datasette-222320
    revision_name: niche-museums-00039-sur
    service_name: niche-museums
  type: cloud_run_revision
severity: INFO
timestamp: '2021-08-09T18:20:46.669860Z'
EOF
fi
run yaml "$LOGAUDIT" ingest --db "$T/yaml.db" "$YAML"
is $? 2 "ingest of YAML: exit 2"
grep_err yaml --format=json "ingest of YAML: stderr points to --format=json"
grep_err yaml "$YAML" "ingest of YAML: stderr names the file"
is "$(rev_total "$T/yaml.db")" 0 "ingest of YAML: nothing counted"
is "$(db_value "$T/yaml.db" 'SELECT counted FROM ingest_runs')" 0 \
    "ingest of YAML: its run records 0 counted"
run yaml_stdin "$LOGAUDIT" ingest --db "$T/yaml2.db" <"$YAML"
is $? 2 "ingest of YAML on stdin: exit 2"
grep_err yaml_stdin --format=json \
    "ingest of YAML on stdin: stderr points to --format=json"
# a YAML input among good ones: the others are still counted, exit 2
run yaml_mixed "$LOGAUDIT" ingest --db "$T/yaml3.db" "$YAML" "$T/three.ndjson"
is $? 2 "ingest of YAML then JSON: exit 2"
is "$(rev_total "$T/yaml3.db")" 3 "ingest of YAML then JSON: the JSON counted"

#
# A catalogue with a bad regex: refused before any input is read.
#
mkdir "$T/badcat"
cat >"$T/badcat/broken.conf" <<'EOF'
# a catalogue file with one bad regex, after a good pattern
[good-one]
title    = A good pattern
category = test
level    = error
regex    = \bstarted\b
example  = server started
counter  = server stopped

[bad-one]
title    = An unbalanced group
category = test
level    = error
regex    = rejected: (NO_TOKEN
example  = rejected: NO_TOKEN
EOF
bad_line=$(grep -n '^regex *= rejected' "$T/badcat/broken.conf" | cut -d: -f1)
run badcat "$LOGAUDIT" ingest --db "$T/badcat.db" --patterns "$T/badcat" \
    "$T/three.ndjson"
is $? 2 "ingest --patterns with a bad regex: exit 2"
grep_err badcat "broken.conf:$bad_line" \
    "ingest --patterns with a bad regex: stderr names broken.conf:$bad_line"
grep -q -F "three.ndjson" "$T/badcat.err"
ok $((! $?)) "ingest --patterns with a bad regex: the input is never read" ||
    diag_file "$T/badcat.err"
[ ! -e "$T/badcat.db" ]
ok $? "ingest --patterns with a bad regex: no database even created"
run badcat_match "$LOGAUDIT" match --patterns "$T/badcat" "$T/three.ndjson"
is $? 2 "match --patterns with a bad regex: exit 2"
is "$(wc -l <"$T/badcat_match.out" | tr -d ' ')" 0 \
    "match --patterns with a bad regex: no entry printed"

#
# Plain text lines under --service/--revision.
#
printf '%s\n' \
    '2024-03-05T10:11:12.5Z server starting on :8080' \
    'config loaded' \
    '' \
    '2024-03-05T10:12:00+01:00 WebSocket connection rejected: NO_TOKEN' \
    'shutting down' >"$T/app.log"
before=$("$PYTHON3" -c 'import time; print(int(time.time()))')
run text "$LOGAUDIT" ingest --db "$T/text.db" --text --service svc \
    --revision svc-00001-abc "$T/app.log"
is $? 0 "ingest --text exits 0"
is "$(summary_count "$T/text.err" counted)" 4 \
    "ingest --text: 4 counted (the blank line is not an entry)" ||
    diag_file "$T/text.err"
run text_rev "$LOGAUDIT" revisions --db "$T/text.db" --format json
"$PYTHON3" - "$T/text_rev.out" "$before" >"$T/text_check.out" 2>&1 <<'EOF'
import datetime, json, sys
doc = json.load(open(sys.argv[1]))
before = int(sys.argv[2])
revs = doc["revisions"]
def parse(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
checks = []
def check(name, got, want):
    checks.append((name, got, want))
check("rows", len(revs), 1)
r = revs[0] if revs else {}
check("service", r.get("service"), "svc")
check("revision", r.get("revision"), "svc-00001-abc")
check("sequence", r.get("sequence"), 1)
check("entries", r.get("entries"), 4)
# 10:12:00+01:00 is 09:12:00Z, earlier than the first line's 10:11:12.5Z
check("first_seen", r.get("first_seen"), "2024-03-05T09:12:00.000000Z")
check("top_patterns", r.get("top_patterns"),
      [{"id": "auth-no-token", "count": 1}])
last = parse(r["last_seen"]) if r.get("last_seen") else 0
check("last_seen is the ingest time", before - 5 <= last <= before + 120, True)
bad = 0
for name, got, want in checks:
    if got != want:
        print("# %s: got %r, want %r" % (name, got, want))
        bad = 1
sys.exit(bad)
EOF
ok $? "ingest --text: one row svc/svc-00001-abc, 4 entries, auth-no-token 1, last_seen the ingest time, first_seen the earliest leading timestamp" ||
    cat "$T/text_check.out"
run text2 "$LOGAUDIT" ingest --db "$T/text.db" --text --service svc \
    --revision svc-00001-abc "$T/app.log"
is "$(summary_count "$T/text2.err" duplicates)" 0 \
    "ingest --text again: no duplicates (text is never deduplicated)"
is "$(rev_total "$T/text.db")" 8 "ingest --text again: 8 entries"

done_testing
