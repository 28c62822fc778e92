#!/bin/sh
#
# t_match.sh -- what `logaudit match` prints, against the real binary: the
# text line of an entry (time, severity, service/revision, insertId or "-"
# when it has none, blanks and control bytes in it as "?", the pattern ids,
# the first line of the message), and
# the end-of-run line on stderr counting the matches that hit the PCRE2
# match limit, as ingest prints it.  The limit is hit with a catalogue the
# test writes: a regex with overlapping repetition, run on messages that
# hold its literal but cannot match, so each message costs one hit.

. "$(dirname "$0")/lib.sh"

# run NAME CMD...: CMD's stdout in $T/NAME.out, stderr in $T/NAME.err;
# returns its exit status.
run()
{
	_name=$1
	shift
	"$@" >"$T/$_name.out" 2>"$T/$_name.err"
}

#
# The text line: an entry with its insertId, a text line with "-" (a
# LogEntry always has an insertId: the reader refuses one without).
#
cat > one.ndjson <<'EOF'
{"insertId":"68c944cb000076766b615ebe","timestamp":"2025-09-16T11:06:51.027440Z","severity":"WARNING","logName":"projects/p/logs/run.googleapis.com%2Fstdout","resource":{"type":"cloud_run_revision","labels":{"service_name":"chat-api","revision_name":"chat-api-00043-m4p"}},"textPayload":"BYPASSING STARTUP VALIDATION - 1 critical failure ignored\nsecond line"}
EOF
run text "$LOGAUDIT" match one.ndjson
is $? 0 "match exits 0"
is "$(sed -n 1p "$T/text.out")" \
    "2025-09-16T11:06:51.027440Z WARNING  chat-api/chat-api-00043-m4p 68c944cb000076766b615ebe [validation-bypass] BYPASSING STARTUP VALIDATION - 1 critical failure ignored" \
    "text line: time severity service/revision insertId [ids] first line"
is "$(printf 'plain line\n' | "$LOGAUDIT" match --text --service s \
    --revision r - 2>/dev/null | cut -d' ' -f2-)" \
    "DEFAULT  s/r - [] plain line" \
    "text line: - for a plain text line, [] for no pattern"
sed 's/"insertId":"68c944cb000076766b615ebe"/"insertId":"id with\\tblanks"/' \
    one.ndjson > blank.ndjson
is "$("$LOGAUDIT" match blank.ndjson 2>/dev/null | cut -d' ' -f5-6)" \
    "id?with?blanks [validation-bypass]" \
    "text line: blanks and control bytes of an insertId show as ?"

#
# The match limit.  The example satisfies the loader.  The bad messages
# hold a "c" after the letters a: it is the regex's required literal (so
# the prefilter passes them to PCRE2), and PCRE2's own check for a last
# character would reject them at once without it.
#
mkdir slow
cat > slow/slow.conf <<'CONF'
[slow]
title = overlapping repetition
regex = (a|aa)+(a|aa)+c
# made up: the shortest message it matches
example = aac
CONF
"$LOGAUDIT" patterns --patterns slow test > slowtest.out 2>&1
is $? 0 "the catalogue with the slow regex passes patterns test" ||
    diag_file slowtest.out
bad="$(printf '%060d' 0 | tr 0 a)b c"
printf '%s\n%s\n%s\naac\nnothing here\n' "$bad" "$bad" "$bad" > slow.txt
run slow "$LOGAUDIT" match --patterns slow --text slow.txt
is $? 0 "match exits 0 when regexes hit the match limit (bad input)"
grep -q -F "logaudit: 3 matches hit the PCRE2 match limit and counted as no match" \
    "$T/slow.err"
ok $? "match reports the 3 matches that hit the limit" || diag_file "$T/slow.err"
is "$(grep -c '\[slow\]' "$T/slow.out")" 1 \
    "only the message that matches counts under the pattern"
is "$(tail -n 1 "$T/slow.err")" \
    "logaudit: 3 matches hit the PCRE2 match limit and counted as no match" \
    "the limit line comes last, after the per-pattern summary"
run slowjson "$LOGAUDIT" match --patterns slow --text --format json slow.txt
grep -q -F "logaudit: 3 matches hit the PCRE2 match limit" "$T/slowjson.err"
ok $? "match --format json reports them too" || diag_file "$T/slowjson.err"

run fast "$LOGAUDIT" match --patterns slow one.ndjson
grep -q "match limit" "$T/fast.err"
ok $((! $?)) "no limit line when no match hit the limit" ||
    diag_file "$T/fast.err"
done_testing
