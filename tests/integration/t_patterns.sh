#!/bin/sh
# t_patterns.sh -- the catalogue proves itself, and its proof can fail.
#
# `logaudit patterns test` passes on the shipped catalogue; on a broken
# one it exits 1 and names file:line of each failure: an example that does
# not match, a counter that does, an example without a source comment, a
# regex with no required literal, and a declared literal that makes the
# prefilter disagree with a full match.  Then the near misses the brief
# lists are checked through `match`: none of them matches any pattern.
# list and show are checked for the shipped ids.

. "$(dirname "$0")/lib.sh"

"$LOGAUDIT" patterns test > shipped.out 2>&1
is $? 0 "patterns test passes on the shipped catalogue" || diag_file shipped.out 40
grep -q " 0 failures" shipped.out
ok $? "patterns test reports 0 failures"

mkdir broken
cat > broken/a.conf <<'CONF'
# a catalogue with one failure of each kind
[x-nomatch]
title = example that does not match
regex = \bNO_TOKEN\b
# made up
example = no token here

[x-counter]
title = counter that matches
regex = \bboom\b
# made up
example = boom
counter = boom again

[x-nosource]
title = example without a source
regex = \bquux\b
example = quux

[x-noliteral]
title = regex with no literal
regex = \d+\s+\d+
# made up
example = 12 34

[x-badliteral]
title = a declared literal that is not required
regex = (?:alpha|beta) failed
literal = alpha
# made up
example = beta failed
CONF
"$LOGAUDIT" patterns --patterns broken test > broken.out 2>&1
is $? 1 "patterns test exits 1 on a broken catalogue"
for want in "a.conf:6: x-nomatch: example does not match" \
    "a.conf:13: x-counter: counter matches" \
    "a.conf:18: x-nosource: example has no source" \
    "x-noliteral: regex 1 has no required literal" \
    "a.conf:31: x-badliteral: example matches differently without the prefilter"; do
	grep -q -F "$want" broken.out
	ok $? "patterns test names: $want" || diag_file broken.out 20
done
grep -q " 6 failures" broken.out
ok $? "patterns test counts 6 failures (the bad literal fails twice: no match too)" ||
    diag_file broken.out 20

# the near misses: none may match anything
cat > near.txt <<'TXT'
user token logged in
error_rate=0 over the last 5m
listening on port 10110
request_id=a1011f served in 12ms
startup validation passed
validation passed for 3 services
INFO:     169.254.169.126:40856 - "GET /api/deprecated/items HTTP/1.1" 200 OK
INFO:     169.254.169.126:40856 - "GET /health HTTP/1.1" 304 Not Modified
httpx client created with timeout=30
Default STARTUP TCP probe succeeded after 1 attempt for container "api-1" on port 8080.
Container called exit(0).
TXT
"$LOGAUDIT" match --text --format json near.txt > near.json 2>/dev/null
is "$(wc -l < near.json | tr -d ' ')" 11 "match reads the 11 near misses"
"$PYTHON3" - near.json > near.hits <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["patterns"]:
        print("%s -> %s" % (e["message"], ",".join(e["patterns"])))
PY
is "$(wc -l < near.hits | tr -d ' ')" 0 "no near miss matches a pattern" ||
    diag_file near.hits

"$LOGAUDIT" patterns list --format json > list.json
"$PYTHON3" - list.json > missing.txt <<'PY'
import json, sys
want = """auth-no-token auth-jwt-invalid ws-close-1011 ws-close-abnormal
ws-handshake-403 validation-bypass deprecation import-error json-serialization
db-transaction db-pool-exhausted timeout http-5xx http-404 http-403
python-traceback circuit-breaker-open tls-error startup-failure""".split()
doc = json.load(open(sys.argv[1]))
have = {p["id"]: p for p in doc["patterns"]}
for w in want:
    if w not in have:
        print("missing %s" % w)
    elif have[w]["examples"] < 3 or have[w]["counters"] < 2:
        print("%s: %d examples, %d counters" % (w, have[w]["examples"],
            have[w]["counters"]))
if not any(i.startswith("cloudrun-") for i in have):
    print("missing cloudrun-*")
PY
is "$(cat missing.txt)" "" "every required id exists with >= 3 examples and >= 2 counters" ||
    diag_file missing.txt

"$LOGAUDIT" patterns show auth-no-token > show.out
ok $? "patterns show auth-no-token exits 0"
grep -q "^regex " show.out && grep -q "literals" show.out && grep -q "^example" show.out
ok $? "patterns show prints regexes, their literals and examples"
"$LOGAUDIT" patterns show no-such-id > /dev/null 2>&1
is $? 2 "patterns show of an unknown id exits 2"
done_testing
