#!/bin/sh
#
# t_badinput.sh -- bad input is reported, counted as bad and skipped, never
# fatal (unless --strict) and never at the cost of the good entries around
# it.  Each case is a generated file of Cloud Run entries with one kind of
# damage; for each, `ingest` must exit 0, count exactly the good entries
# (the sum of `revisions --format json` entries), record exactly the bad
# ones (ingest_runs.bad and the summary line) and name the place on stderr:
#   - NDJSON with one malformed line in the middle (its line and byte);
#   - a gcloud pretty array with one malformed entry in the middle (an
#     unescaped quote in textPayload, as console copies have);
#   - a killed `gcloud logging tail`: `[`, three entries, half an entry,
#     no `]` ("cut off");
#   - gcloud's stderr notices interleaved ("Initializing tail session."
#     before the `[`, "Suppressed 3 entries ..." between entries): skipped
#     lines, every entry counted;
#   - invalid UTF-8 in a textPayload: counted, matched, and the JSON that
#     `match --format json` and `revisions --format json` print is valid;
#   - NUL bytes between entries (on a line of their own, and as padding
#     before an entry, as a crash leaves in a log file) and a \u0000 escape
#     inside a message: every entry counted, the pattern after the NUL found;
#   - a 50 MiB textPayload between two normal entries: reported too large,
#     the neighbours counted, peak RSS of the ingest under 64 MiB;
#   - JSON nested 10,000 levels deep (arrays and objects): reported, the
#     next entry counted;
#   - unparseable timestamps and a missing one: reported, not counted;
#     receiveTimestamp stands in for a missing timestamp, never for a
#     broken one;
#   - a JSON object that is not a LogEntry ({"hello": 1}): reported.
# Finally --strict turns any of these into exit 2 (the good entries still
# counted), and leaves a clean file at exit 0.

. "$(dirname "$0")/lib.sh"

"$PYTHON3" -c 'import json, sqlite3, resource' >/dev/null 2>&1 ||
    skip_all "python3 with json, sqlite3 and resource not found as '$PYTHON3'"
[ -x "$LOGAUDIT" ] || bail_out "no logaudit binary at $LOGAUDIT"

RSS_MAX_KIB=65536	# 64 MiB

# gen.py CASE FILE: write the input of CASE to FILE, and to FILE.where the
# 1-based line and the byte offset of the damaged entry's first byte.
cat >"$T/gen.py" <<'EOF'
import json, sys

def entry(i, msg=None, **kw):
    e = {"insertId": "bad-%04d" % i,
         "logName": "projects/qa-proj/logs/run.googleapis.com%2Fstdout",
         "resource": {"type": "cloud_run_revision", "labels": {
             "project_id": "qa-proj", "location": "us-east1",
             "service_name": "api", "revision_name": "api-00003-kit"}},
         "timestamp": "2024-05-01T12:%02d:%02d.250Z" % (i // 60, i % 60),
         "severity": "INFO",
         "textPayload": msg if msg is not None else "handled request %d" % i}
    e.update(kw)
    return e

def line(i, **kw):
    return json.dumps(entry(i, **kw)).encode() + b"\n"

def pretty(i, **kw):
    s = json.dumps(entry(i, **kw), indent=2)
    return "\n".join("  " + l for l in s.split("\n")).encode()

case, path = sys.argv[1], sys.argv[2]
out = open(path, "wb")
where = None

def mark(indent=0):
    """The damaged entry starts at the current end of the output (its
    first byte, the "{", after indent blanks)."""
    global where
    out.flush()
    n = out.tell()
    with open(path, "rb") as f:
        where = (f.read(n).count(b"\n") + 1, n + indent)

if case == "ndjson":		# 10 lines, line 6 malformed
    for i in range(1, 11):
        if i == 6:
            mark()
            out.write(line(i)[:80] + b" this is not JSON}\n")
        else:
            out.write(line(i))
elif case == "array":		# 7 entries, the 4th malformed
    out.write(b"[\n")
    for i in range(1, 8):
        if i > 1:
            out.write(b",\n")
        if i == 4:
            mark(2)
            out.write(pretty(i, msg="@Q@").replace(
                b'"@Q@"', b'"he said "hello" and left"'))
        else:
            out.write(pretty(i))
    out.write(b"\n]\n")
elif case == "truncated":	# [ + 3 entries + half of the 4th
    out.write(b"[\n")
    for i in range(1, 4):
        out.write(pretty(i) + b",\n")
    mark(2)
    half = pretty(4)
    out.write(half[:len(half) // 2])
elif case == "notices":		# gcloud's stderr mixed in, 6 entries
    out.write(b"Initializing tail session.\n[\n")
    for i in range(1, 7):
        if i > 1:
            out.write(b",\n")
        if i == 4:
            out.write(b"Suppressed 3 entries due to Logging API backend "
                      b"rate limit.\n")
        out.write(pretty(i))
    out.write(b"\n]\n")
elif case == "utf8":		# 3 entries, the 2nd with invalid UTF-8
    out.write(line(1))
    mark()
    out.write(line(2, msg="@U@ WebSocket connection rejected: NO_TOKEN").replace(
        b"@U@", b"bad \xff\xfe bytes \xc3\x28 \xed\xa0\x80 \xf8\x88\x80\x80\x80"))
    out.write(line(3))
elif case == "nul":		# 3 entries around a NUL byte's line
    out.write(line(1))
    out.write(b"\x00\n")
    mark()
    out.write(line(2, msg="nul\u0000inside WebSocket connection "
                   "rejected: NO_TOKEN"))
    out.write(line(3))
elif case == "nulpad":		# 3 entries, NUL padding before the 2nd
    out.write(line(1))
    mark(4)
    out.write(b"\x00\x00\x00\x00" + line(2))
    out.write(line(3))
elif case == "big":		# 50 MiB textPayload between two entries
    out.write(line(1))
    mark()
    head, tail = json.dumps(entry(2, msg="@BIG@")).encode().split(b"@BIG@")
    out.write(head)
    chunk = b"0123456789abcdef" * 65536		# 1 MiB
    for _ in range(50):
        out.write(chunk)
    out.write(tail + b"\n")
    out.write(line(3))
elif case == "deep":		# 10,000 levels: arrays, then objects
    out.write(line(1))
    mark()
    s = json.dumps(entry(2)).encode()
    out.write(s[:-1] + b', "jsonPayload": {"a": ' + b"[" * 10000 +
              b"]" * 10000 + b"}}\n")
    out.write(line(3))
    s = json.dumps(entry(4)).encode()
    out.write(s[:-1] + b', "jsonPayload": ' + b'{"a": ' * 10000 + b"1" +
              b"}" * 10000 + b"}\n")
    out.write(line(5))
elif case == "timestamp":	# 5 entries, 3 without a usable timestamp
    out.write(line(1))
    mark()
    out.write(line(2, timestamp="yesterday at noon"))
    out.write(line(3, timestamp="2024-13-45T25:61:00Z"))
    out.write(line(4, timestamp="2024-05-01T12:00:04.250Z"))
    e = entry(5)
    del e["timestamp"]
    out.write(json.dumps(e).encode() + b"\n")
elif case == "receivets":	# 4 entries with receiveTimestamps: the
    out.write(line(1))		# 2nd's timestamp broken, the 3rd's missing
    mark()
    out.write(line(2, timestamp="not a time",
                   receiveTimestamp="2024-05-01T12:00:02.900Z"))
    e = entry(3, receiveTimestamp="2024-05-01T12:00:03.900Z")
    del e["timestamp"]
    out.write(json.dumps(e).encode() + b"\n")
    out.write(line(4))
elif case == "notentry":	# 3 entries and {"hello": 1}
    out.write(line(1))
    mark()
    out.write(b'{"hello": 1}\n')
    out.write(line(3))
    out.write(line(4))
elif case == "clean":
    for i in range(1, 6):
        out.write(line(i))
out.close()
with open(path + ".where", "w") as f:
    f.write("%d %d\n" % where if where else "0 0\n")
EOF

# run NAME CMD...: CMD's stdout in $T/NAME.out, stderr in $T/NAME.err;
# returns its exit status.
run()
{
	_name=$1
	shift
	"$@" >"$T/$_name.out" 2>"$T/$_name.err"
}

# gen CASE: $T/CASE.in, and $where_line and $where_byte for its damage.
gen()
{
	"$PYTHON3" "$T/gen.py" "$1" "$T/$1.in" ||
	    bail_out "cannot generate the $1 case"
	read -r where_line where_byte <"$T/$1.in.where"
}

# check_case CASE COUNTED BAD [SKIPPED]: ingest $T/CASE.in into
# $T/CASE.db; exit 0, COUNTED entries in the store, BAD bad (and SKIPPED
# lines skipped, when given) in ingest_runs and on the summary line.
check_case()
{
	run "$1" "$LOGAUDIT" ingest --db "$T/$1.db" "$T/$1.in"
	is $? 0 "$1: ingest exits 0" || diag_file "$T/$1.err"
	is "$(rev_total "$T/$1.db")" "$2" "$1: $2 entries counted" ||
	    diag_file "$T/$1.err"
	is "$(db_value "$T/$1.db" "SELECT counted || ' counted, ' || bad || ' bad' FROM ingest_runs ORDER BY id DESC LIMIT 1")" \
	    "$2 counted, $3 bad" "$1: ingest_runs: $2 counted, $3 bad"
	is "$(summary_count "$T/$1.err" bad)" "$3" "$1: summary: $3 bad" ||
	    diag_file "$T/$1.err" 5
	[ $# -ge 4 ] || return 0
	is "$(db_value "$T/$1.db" 'SELECT skipped_lines FROM ingest_runs ORDER BY id DESC LIMIT 1')/$(summary_count "$T/$1.err" 'lines skipped')" \
	    "$4/$4" "$1: ingest_runs and summary: $4 lines skipped"
}

# grep_err CASE FIXED-STRING TEST-NAME: a test that $T/CASE.err holds it.
grep_err()
{
	grep -q -F -e "$2" "$T/$1.err"
	ok $? "$3" || diag_file "$T/$1.err" 8
}

# valid_jsonl FILE N: FILE is N lines of strict UTF-8 JSON objects.
valid_jsonl()
{
	"$PYTHON3" - "$1" "$2" <<'EOF'
import json, sys
data = open(sys.argv[1], "rb").read()
try:
    text = data.decode("utf-8")
except UnicodeDecodeError as exc:
    print("# not UTF-8: %s" % exc)
    sys.exit(1)
lines = text.split("\n")
if lines and lines[-1] == "":
    lines.pop()
for n, l in enumerate(lines, 1):
    try:
        if not isinstance(json.loads(l), dict):
            raise ValueError("not an object")
    except ValueError as exc:
        print("# line %d: %s: %r" % (n, exc, l[:200]))
        sys.exit(1)
if len(lines) != int(sys.argv[2]):
    print("# %d lines, want %s" % (len(lines), sys.argv[2]))
    sys.exit(1)
EOF
}

# top_patterns DB: "id count ..." of every revision, or the JSON error.
top_patterns()
{
	"$LOGAUDIT" revisions --db "$1" --format json 2>&1 | "$PYTHON3" -c '
import json, sys
raw = sys.stdin.buffer.read()
doc = json.loads(raw.decode("utf-8"))
print(" ".join("%s %d" % (p["id"], p["count"])
               for r in doc["revisions"] for p in r["top_patterns"]))' 2>&1 |
	    tail -n 1
}

#
# A malformed NDJSON line.
#
gen ndjson
check_case ndjson 9 1 0
grep_err ndjson "ndjson.in:$where_line: byte $where_byte: malformed entry" \
    "ndjson: stderr names line $where_line, byte $where_byte"

#
# A malformed entry in a gcloud pretty array.
#
gen array
check_case array 6 1 0
grep_err array "array.in:$where_line: byte $where_byte: malformed entry" \
    "array: stderr names the entry's line $where_line, byte $where_byte"
grep -q '(array)' "$T/array.err"
ok $? "array: read as an array"

#
# A killed `gcloud logging tail`: no closing bracket, the last entry half.
#
gen truncated
check_case truncated 3 1 0
grep_err truncated "cut off" "truncated: stderr says the entry was cut off"
grep_err truncated "truncated.in:$where_line: byte $where_byte:" \
    "truncated: stderr names the cut entry's line $where_line, byte $where_byte"
run truncated_stdin "$LOGAUDIT" ingest --db "$T/truncated2.db" - \
    <"$T/truncated.in"
is "$(rev_total "$T/truncated2.db")/$(summary_count "$T/truncated_stdin.err" bad)" \
    "3/1" "truncated, on stdin: 3 counted, 1 bad"

#
# gcloud's own notices mixed into its output.
#
gen notices
check_case notices 6 0 2
grep_err notices "notices.in:1: 1 non-JSON line skipped" \
    "notices: stderr names line 1 (one line: the [ after it is JSON)"
notice_line=$(grep -n '^Suppressed' "$T/notices.in" | cut -d: -f1)
grep_err notices "notices.in:$notice_line: 1 non-JSON line skipped" \
    "notices: stderr names line $notice_line"

#
# Invalid UTF-8 inside a textPayload.
#
gen utf8
check_case utf8 3 0 0
is "$(top_patterns "$T/utf8.db")" "auth-no-token 1" \
    "utf8: revisions JSON is valid UTF-8 and the entry matched auth-no-token"
run utf8_match "$LOGAUDIT" match --format json "$T/utf8.in"
is $? 0 "utf8: match exits 0"
valid_jsonl "$T/utf8_match.out" 3 >"$T/utf8_valid.out"
ok $? "utf8: match --format json prints 3 lines of valid UTF-8 JSON" ||
    cat "$T/utf8_valid.out"
grep -q 'NO_TOKEN' "$T/utf8_match.out"
ok $? "utf8: match shows the message of the entry with the bad bytes"
sample=$(db_value "$T/utf8.db" "SELECT length(sample) > 0 FROM revision_patterns WHERE pattern = 'auth-no-token'" 2>&1)
is "$sample" 1 "utf8: the stored sample reads back as UTF-8 text"

#
# NUL bytes: a line of its own, an escape in a message, padding.
#
gen nul
check_case nul 3 0 1
is "$(top_patterns "$T/nul.db")" "auth-no-token 1" \
    "nul: the pattern after the \\u0000 in the message is found"
run nul_match "$LOGAUDIT" match --format json "$T/nul.in"
valid_jsonl "$T/nul_match.out" 3 >"$T/nul_valid.out"
ok $? "nul: match --format json prints 3 lines of valid JSON" ||
    cat "$T/nul_valid.out"
# A crash can leave a run of NUL bytes where a line's end was; the entry
# after them is complete and must not be lost with the padding.
gen nulpad
check_case nulpad 3 0

#
# A 50 MiB textPayload.
#
gen big
rss_run "$T/big.kib" "$LOGAUDIT" ingest --db "$T/big.db" "$T/big.in" \
    >"$T/big.out" 2>"$T/big.err"
is $? 0 "big: ingest exits 0" || diag_file "$T/big.err"
is "$(rev_total "$T/big.db")" 2 "big: the 2 entries around it counted"
is "$(db_value "$T/big.db" 'SELECT bad FROM ingest_runs')" 1 \
    "big: ingest_runs: 1 bad"
grep_err big "big.in:$where_line: byte $where_byte: entry too large" \
    "big: stderr: line $where_line, byte $where_byte, too large"
kib=$(cat "$T/big.kib" 2>/dev/null)
[ "${kib:-999999999}" -lt "$RSS_MAX_KIB" ]
ok $? "big: peak RSS ${kib:-?} KiB < $RSS_MAX_KIB KiB"
rm -f "$T/big.in"

#
# Nesting 10,000 levels deep.
#
gen deep
check_case deep 3 2 0
grep_err deep "deep.in:$where_line: byte $where_byte: entry too large" \
    "deep: stderr names line $where_line, byte $where_byte"
grep -c 'entry too large' "$T/deep.err" >"$T/deep.n"
is "$(cat "$T/deep.n")" 2 "deep: both deep entries reported"

#
# Timestamps.
#
gen timestamp
check_case timestamp 2 3 0
grep_err timestamp "timestamp.in:$where_line: byte $where_byte: entry skipped: timestamp is not RFC 3339" \
    "timestamp: stderr names line $where_line, byte $where_byte"
grep_err timestamp "timestamp.in:5: byte" \
    "timestamp: the entry with no timestamp is reported (line 5)"
# receiveTimestamp stands in for a missing timestamp, not for a broken one
gen receivets
check_case receivets 3 1 0
grep_err receivets "receivets.in:$where_line: byte $where_byte: entry skipped: timestamp is not RFC 3339" \
    "receivets: a bad timestamp beside a good receiveTimestamp is reported"

#
# Not a LogEntry.
#
gen notentry
check_case notentry 3 1 0
grep_err notentry "notentry.in:$where_line: byte $where_byte: skipped: object is not a LogEntry" \
    "notentry: stderr names line $where_line, byte $where_byte"

#
# --strict: any bad entry or skipped line -> exit 2, the good ones kept.
#
gen clean
run clean "$LOGAUDIT" ingest --strict --db "$T/clean.db" "$T/clean.in"
is $? 0 "strict: a clean file exits 0"
is "$(rev_total "$T/clean.db")" 5 "strict: a clean file: 5 counted"
for c in ndjson array truncated notices deep timestamp receivets notentry; do
	run "strict_$c" "$LOGAUDIT" ingest --strict --db "$T/strict_$c.db" \
	    "$T/$c.in"
	st=$?
	is "$st/$(rev_total "$T/strict_$c.db")" \
	    "2/$(rev_total "$T/$c.db")" \
	    "strict: $c exits 2, counts what it counts without --strict"
done
grep_err strict_ndjson "--strict" "strict: stderr says why it failed"

done_testing
