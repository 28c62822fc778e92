#!/bin/sh
#
# t_real.sh -- logaudit against every real Cloud Logging capture in
# tests/data/real/ (provenance in tests/data/SOURCES.md), compared with an
# independent reading of the same file (independent.py: python3's json
# module, no code shared with the C reader).
#
# For each file: `ingest` into a fresh database, then
#   - the ingest summary on stderr counts the entries, the distinct entries
#     and the skipped non-JSON lines that independent.py finds, and no bad
#     ones;
#   - `revisions --format json` has the documented shape, and per revision
#     (project, location, service, revision) the same entries, requests and
#     non-zero severity counts as independent.py;
#   - `match --format json` gives, entry by entry in input order, the same
#     insert_id, timestamp, service, revision, severity and message;
#   - a second ingest of the same file changes no count (the revisions JSON
#     is byte-identical) and reports every entry as a duplicate (or, for a
#     file spanning more than the store's dedup window, as too old).
# The YAML capture is the exception: it must be refused with a pointer to
# --format=json and leave nothing counted.
#
# Every file in tests/data/real/ must have its expected outcome stated in
# expected_outcome below; a new file without one fails the test.

# shellcheck disable=SC2317	# the compare functions run through check()
. "$(dirname "$0")/lib.sh"

IND="$TEST_SRCDIR/integration/independent.py"
REAL="$TEST_SRCDIR/data/real"

"$PYTHON3" -c 'import json, sys; sys.exit(sys.version_info < (3, 7))' \
    >/dev/null 2>&1 || skip_all "python3 (>= 3.7) not found as '$PYTHON3'"
[ -x "$LOGAUDIT" ] || bail_out "no logaudit binary at $LOGAUDIT"
[ -d "$REAL" ] || bail_out "no test data at $REAL"

#
# The expected outcome of each file, by name:
#   refused   not Cloud Logging JSON: ingest exits 2 naming --format=json,
#             nothing is counted.
#   mixed     JSON entries among text lines: every JSON entry is counted as
#             independent.py finds it, and the summary reports the non-blank
#             lines outside JSON values as "N lines skipped" (N > 0); the
#             ingest still exits 0 (bad input is skipped, never fatal).
#   counted   every entry counted exactly as independent.py reads it, no
#             line skipped.
#
expected_outcome()
{
	case "$1" in
	# gcloud alpha logging tail's default YAML (2021): one entry, no JSON.
	simonw-til_gcloud-alpha-tail_default-yaml_2021.yaml)
		echo refused ;;
	# Explorer copy: prose, an index listing, summary lines ("INFO
	# 2025-...Z [httpRequest...]", a quoted "> DEBUG ..." line) and four
	# indented entries: a Firestore audit entry (resource datastore_index,
	# so service "datastore_index", no revision), two request entries
	# with no payload and one jsonPayload entry. 13 lines skipped.
	cityhelper_console-copy_summary-lines-mixed.txt)
		echo mixed ;;
	# One console-copied request entry, 502, no payload: the message is
	# "POST <url> 502".
	amilia_console-copy_request-log-502.json)
		echo counted ;;
	# 31 concatenated pretty objects, blank lines between, no array, no
	# final newline; no severity anywhere (31 DEFAULT).
	cerberus_console-copy_concatenated-objects.txt)
		echo counted ;;
	# One pretty object, no final newline; multi-line Node stack in
	# textPayload; decimal spanId; no severity.
	cityhelper_console-copy_stderr-node-stack.json)
		echo counted ;;
	# Two compact audit entries (NDJSON), revision_name "": counted under
	# revision "", not under the revision named inside protoPayload.
	# The failure's message is "<methodName>: <status.message>".
	cloudrunslackbot_audit-log_pubsub-data.ndjson)
		echo counted ;;
	# gcloud logging read: a 100-entry array, newest first, 3 services and
	# 9 (project, location, service, revision) rows, including audit
	# entries with revision "" and one system_event entry with service ""
	# but a revision name; 16 request entries with no payload; 71 entries
	# without severity.
	netra_gcloud-read_frontend-auth_100-entries.json)
		echo counted ;;
	# JSON Lines of non-Cloud-Run resources (gce_*, service_account,
	# generic_node); 9-digit timestamps that must be truncated, not
	# rounded, to 6 digits.
	plaso_testdata_gcp-logging_ndjson.jsonl)
		echo counted ;;
	# gcloud alpha logging tail --format json (2021): a one-entry array.
	simonw-til_gcloud-alpha-tail_format-json_2021.json)
		echo counted ;;
	*)
		echo unknown ;;
	esac
}

# The store's default dedup window (STORE_DEDUP_WINDOW_DEFAULT, 7 days).
DEDUP_WINDOW_SEC=604800

# time_span ENTRIES_JSONL: seconds between the oldest and the newest
# timestamp in independent.py's entries output.
time_span()
{
	"$PYTHON3" - "$1" <<'EOF'
import datetime, json, sys
ts = []
for line in open(sys.argv[1], encoding="utf-8", errors="surrogateescape"):
    t = json.loads(line)["timestamp"] if line.strip() else ""
    if t:
        ts.append(datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ"))
print(int((max(ts) - min(ts)).total_seconds()) if ts else 0)
EOF
}

# run NAME CMD...: run CMD with stdout in $T/NAME.out, stderr in
# $T/NAME.err; returns CMD's exit status.
run()
{
	_name=$1
	shift
	"$@" >"$T/$_name.out" 2>"$T/$_name.err"
}

# check NAME CMD...: one test, passing when CMD exits 0; CMD's stdout
# (diagnostics, already "# "-prefixed) is printed after the ok/not ok line.
check()
{
	_name=$1
	shift
	"$@" >"$T/check.out" 2>&1
	ok $? "$_name"
	_st=$?
	cat "$T/check.out"
	return $_st
}

# compare_revisions TOOL_JSON INDEPENDENT_JSON: exit 0 when the per-revision
# counts agree; otherwise the first difference as TAP diagnostics.
compare_revisions()
{
	"$PYTHON3" - "$1" "$2" <<'EOF'
import json, sys

def rows(doc):
    out = {}
    for r in doc["revisions"]:
        key = (r["project"], r["location"], r["service"], r["revision"])
        sev = {k: v for k, v in r["severity"].items() if v}
        out[key] = {"entries": r["entries"], "requests": r["requests"],
                    "severity": sev}
    return out

try:
    got = rows(json.load(open(sys.argv[1], encoding="utf-8")))
except (ValueError, KeyError, TypeError, AttributeError) as exc:
    print("# logaudit revisions output unreadable: %r" % (exc,))
    sys.exit(1)
want = rows(json.load(open(sys.argv[2], encoding="utf-8")))
for key in sorted(set(got) | set(want)):
    g, w = got.get(key), want.get(key)
    if g != w:
        print("# first difference, revision %s" % json.dumps(list(key)))
        print("#   got  %s" % json.dumps(g, sort_keys=True))
        print("#   want %s" % json.dumps(w, sort_keys=True))
        sys.exit(1)
EOF
}

# check_shape TOOL_JSON: the documented shape of `revisions --format json`.
check_shape()
{
	"$PYTHON3" - "$1" <<'EOF'
import json, sys

NAMES = ["DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR",
         "CRITICAL", "ALERT", "EMERGENCY"]
KEYS = ["project", "location", "service", "revision", "sequence", "entries",
        "requests", "severity", "first_seen", "last_seen", "commit_sha",
        "build_id", "top_patterns"]

def fail(msg):
    print("# " + msg)
    sys.exit(1)

try:
    doc = json.load(open(sys.argv[1], encoding="utf-8"))
except ValueError as exc:
    fail("not JSON: %s" % exc)
if not isinstance(doc, dict) or doc.get("schema_version") != 1:
    fail("want an object with schema_version 1")
if not isinstance(doc.get("revisions"), list):
    fail("want a revisions array")
for i, r in enumerate(doc["revisions"]):
    where = "revisions[%d]" % i
    missing = [k for k in KEYS if k not in r]
    if missing:
        fail("%s lacks %s" % (where, ", ".join(missing)))
    for k in ("project", "location", "service", "revision"):
        if not isinstance(r[k], str):
            fail("%s.%s is not a string" % (where, k))
    for k in ("entries", "requests"):
        if not isinstance(r[k], int) or isinstance(r[k], bool):
            fail("%s.%s is not an integer" % (where, k))
    sev = r["severity"]
    if not isinstance(sev, dict) or sorted(sev) != sorted(NAMES):
        fail("%s.severity: want exactly the nine names, got %s"
             % (where, json.dumps(sev)))
    if any(not isinstance(v, int) or isinstance(v, bool)
           for v in sev.values()):
        fail("%s.severity: counts must be integers" % where)
    if sum(sev.values()) != r["entries"]:
        fail("%s: severity counts sum to %d, entries is %d"
             % (where, sum(sev.values()), r["entries"]))
    if not isinstance(r["top_patterns"], list):
        fail("%s.top_patterns is not an array" % where)
    for p in r["top_patterns"]:
        if not isinstance(p, dict) or "id" not in p or "count" not in p:
            fail("%s.top_patterns: want {id, count}, got %s"
                 % (where, json.dumps(p)))
EOF
}

# compare_entries TOOL_JSONL INDEPENDENT_JSONL: the same entries, in order,
# on the fields independent.py computes; the first difference as TAP
# diagnostics.
compare_entries()
{
	"$PYTHON3" - "$1" "$2" <<'EOF'
import json, sys

FIELDS = ["insert_id", "timestamp", "service", "revision", "severity",
          "message"]

def load(path, who):
    out = []
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                print("# %s line %d is not JSON: %s" % (who, n, exc))
                sys.exit(1)
            if not isinstance(obj, dict):
                print("# %s line %d is not an object" % (who, n))
                sys.exit(1)
            out.append(obj)
    return out

got = load(sys.argv[1], "logaudit match")
want = load(sys.argv[2], "independent.py")
for i, g in enumerate(got):
    missing = [k for k in FIELDS + ["patterns"] if k not in g]
    if missing:
        print("# match entry %d lacks %s" % (i + 1, ", ".join(missing)))
        sys.exit(1)
for i, (g, w) in enumerate(zip(got, want)):
    gp = {k: g[k] for k in FIELDS}
    if gp != w:
        print("# first difference at entry %d (insert_id %s)"
              % (i + 1, w["insert_id"]))
        for k in FIELDS:
            if gp[k] != w[k]:
                print("#   %s: got  %s" % (k, json.dumps(gp[k])[:400]))
                print("#   %s  want %s" % (" " * len(k),
                                           json.dumps(w[k])[:400]))
        sys.exit(1)
if len(got) != len(want):
    print("# logaudit match printed %d entries, independent.py found %d"
          % (len(got), len(want)))
    sys.exit(1)
EOF
}

# The checks for a file whose entries are all to be counted ("counted" and
# "mixed"); $1 the file, $2 a short name for the tests, $3 the outcome.
check_counted()
{
	f=$1
	n=$2
	db="$T/$n.db"

	"$PYTHON3" "$IND" revisions "$f" >"$T/$n.ind-revisions" &&
	"$PYTHON3" "$IND" entries "$f" >"$T/$n.ind-entries" &&
	want_entries=$("$PYTHON3" "$IND" count "$f") &&
	want_unique=$("$PYTHON3" "$IND" unique "$f") &&
	want_skipped=$("$PYTHON3" "$IND" skipped "$f")
	if ! ok $? "$n: independent.py reads it"; then
		return
	fi
	if [ "$3" = mixed ]; then
		[ "$want_skipped" -gt 0 ]
		ok $? "$n: independent.py finds non-JSON lines" ||
		    diag "independent.py skipped $want_skipped lines"
	fi

	run "$n.ingest1" "$LOGAUDIT" ingest --db "$db" "$f"
	ok $? "$n: ingest exits 0" || diag_file "$T/$n.ingest1.err"
	is "$(summary_count "$T/$n.ingest1.err" entries)" "$want_entries" \
	    "$n: summary: entries" || diag_file "$T/$n.ingest1.err" 5
	is "$(summary_count "$T/$n.ingest1.err" counted)" "$want_unique" \
	    "$n: summary: counted"
	is "$(summary_count "$T/$n.ingest1.err" bad)" 0 "$n: summary: 0 bad"
	is "$(summary_count "$T/$n.ingest1.err" 'lines skipped')" \
	    "$want_skipped" "$n: summary: $want_skipped lines skipped"

	run "$n.rev1" "$LOGAUDIT" revisions --db "$db" --format json
	ok $? "$n: revisions exits 0" || diag_file "$T/$n.rev1.err"
	check "$n: revisions JSON has the documented shape" \
	    check_shape "$T/$n.rev1.out"
	check "$n: per-revision entries, requests, severities as independent.py" \
	    compare_revisions "$T/$n.rev1.out" "$T/$n.ind-revisions"

	run "$n.match" "$LOGAUDIT" match --format json "$f"
	ok $? "$n: match exits 0" || diag_file "$T/$n.match.err"
	check "$n: match entries as independent.py" \
	    compare_entries "$T/$n.match.out" "$T/$n.ind-entries"

	run "$n.ingest2" "$LOGAUDIT" ingest --db "$db" "$f"
	ok $? "$n: second ingest exits 0" || diag_file "$T/$n.ingest2.err"
	run "$n.rev2" "$LOGAUDIT" revisions --db "$db" --format json
	cmp -s "$T/$n.rev1.out" "$T/$n.rev2.out"
	ok $? "$n: second ingest changes no count" ||
	    diff "$T/$n.rev1.out" "$T/$n.rev2.out" | head -n 20 | sed 's/^/#   /'
	is "$(summary_count "$T/$n.ingest2.err" counted)" 0 \
	    "$n: second ingest: 0 counted" || diag_file "$T/$n.ingest2.err" 5
	dup=$(summary_count "$T/$n.ingest2.err" duplicates)
	old=$(summary_count "$T/$n.ingest2.err" 'too old')
	is "$((${dup:-0} + ${old:-0}))" "$want_entries" \
	    "$n: second ingest: every entry a duplicate or too old"
	# An entry older than the newest stored one minus the dedup window
	# may be reported "too old" rather than looked up; only a file whose
	# entries all lie within the window can promise "all duplicates".
	span=$(time_span "$T/$n.ind-entries")
	if [ "${span:-0}" -le "$DEDUP_WINDOW_SEC" ]; then
		is "${dup:-}" "$want_entries" \
		    "$n: second ingest: all $want_entries entries duplicates"
	else
		skip "$n: second ingest: all $want_entries entries duplicates" \
		    "entries span ${span}s, more than the dedup window"
	fi
}

# The checks for a file that is not Cloud Logging JSON.
check_refused()
{
	f=$1
	n=$2
	db="$T/$n.db"

	run "$n.ingest" "$LOGAUDIT" ingest --db "$db" "$f"
	is "$?" 2 "$n: ingest exits 2" || diag_file "$T/$n.ingest.err"
	grep -q -e '--format=json' "$T/$n.ingest.err"
	ok $? "$n: stderr suggests --format=json" ||
	    diag_file "$T/$n.ingest.err"
	grep -q -F "$(basename "$f")" "$T/$n.ingest.err"
	ok $? "$n: stderr names the file"
	run "$n.rev" "$LOGAUDIT" revisions --db "$db" --format json
	ok $? "$n: revisions exits 0" || diag_file "$T/$n.rev.err"
	"$PYTHON3" -c '
import json, sys
doc = json.load(open(sys.argv[1]))
sys.exit(0 if doc.get("revisions") == [] else 1)' "$T/$n.rev.out" 2>/dev/null
	ok $? "$n: nothing counted (empty revisions array)" ||
	    diag_file "$T/$n.rev.out"
}

nfiles=0
for f in "$REAL"/*; do
	[ -f "$f" ] || continue
	base=$(basename "$f")
	case "$base" in
	*.md)	continue ;;	# provenance notes, not data
	esac
	nfiles=$((nfiles + 1))
	n=$(echo "$base" | sed 's/[^A-Za-z0-9_.-]/_/g')
	outcome=$(expected_outcome "$base")
	case "$outcome" in
	refused)
		check_refused "$f" "$n" ;;
	counted|mixed)
		check_counted "$f" "$n" "$outcome" ;;
	*)
		ok 1 "$base: expected outcome stated in t_real.sh" ;;
	esac
done
[ "$nfiles" -gt 0 ]
ok $? "tests/data/real/ holds data files ($nfiles)"

done_testing
