#!/bin/sh
# t_pull.sh -- logaudit pull against a real HTTP server on 127.0.0.1
# (api_server.py, python3 http.server on a free port): entries.list
# pages of generated Cloud Run entries, three a page, with an empty page
# that still carries a nextPageToken; the server filters by the time
# bounds in the request, checks the bearer token and records each request
# body.  Asserts: every page followed, counts equal an ingest of the same
# entries, a second pull (overlapping window) counts nothing new, the
# filter holds the default resource filter and both time bounds, 429s and
# a 500 are retried (LOGAUDIT_BACKOFF_MS shortens the waits), 400 and 403
# exit 2 with the API's message / the role, a 401 refreshes the token once
# through --token-command, the token file, environment and metadata
# server sources work, and the first that applies is used (file, env,
# command, metadata); a token is fetched again before it expires (the
# metadata server's expires_in, a second line of --token-command) and the
# token file read again once it changes, with no 401; every request says
# User-Agent: logaudit/VERSION; a page over 64 MiB is asked for again with
# half the entries; an
# HTTPS server with a self-signed certificate is refused (exit 2, no
# retries) without --ca-file and read with it; an entry newer than --lag
# is left to the next pull, and counted once; and no token reaches
# stdout, stderr, the database files or a running pull's command line.

. "$(dirname "$0")/lib.sh"

TOKEN=tok-GOOD-3f9c1a7e5d
OLDTOKEN=tok-STALE-8b2d4e6f0a
mkdir srv
printf '%s\n' "$TOKEN" > srv/token

"$PYTHON3" - srv/entries.json in.json <<'PY'
import json, sys, time
now = time.time()
out = []
for i in range(20):
    ts = now - 3000 + i * 140          # from 50 min ago to ~5 min ago
    t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%06dZ" % (i * 7)
    rev = "api-00001-aaa" if i < 10 else "api-00002-bbb"
    e = {"insertId": "pull-%d" % i,
         "logName": "projects/proj/logs/run.googleapis.com%2Fstderr",
         "resource": {"type": "cloud_run_revision", "labels": {
             "project_id": "proj", "location": "eu", "service_name": "api",
             "revision_name": rev}},
         "timestamp": t, "receiveTimestamp": t, "severity": "ERROR",
         "textPayload": "WebSocket connection rejected: NO_TOKEN" if i % 3 == 0
             else "upstream connect error %d" % i}
    out.append(e)
json.dump(out, open(sys.argv[1], "w"))
json.dump(out, open(sys.argv[2], "w"))
PY

"$PYTHON3" "$TEST_SRCDIR/integration/api_server.py" srv 2>server.err &
SERVER_PID=$!
TLS_PID=
PULL_PID=
trap 'kill "$SERVER_PID" $TLS_PID $PULL_PID 2>/dev/null; rm -rf "$T"' EXIT
wait_port srv/port "the test server"
API="http://127.0.0.1:$(cat srv/port)"
META="127.0.0.1:$(cat srv/port)"
printf '%s\n' "$TOKEN" > token.txt

npages() { wc -l < srv/requests.jsonl | tr -d ' '; }
reset_requests() { : > srv/requests.jsonl; }
n401() { wc -l < srv/401.log 2>/dev/null | tr -d ' '; }

# every pull's stdout goes to pull.out, grepped for tokens at the end
pull() {
	"$LOGAUDIT" pull --project proj --api-url "$API" "$@" >> pull.out
}

# 1. a first pull: every page, including the empty one with a token
reset_requests
pull --db a.db --token-file token.txt 2> a1.err
is $? 0 "first pull succeeds"
is "$(summary_count a1.err counted)" 20 "first pull counts all 20 entries"
# 20 entries at 3 a page = 7 pages, plus the empty page
is "$(npages)" 8 "all pages followed, the empty page with a token too"
is "$(summary_count a1.err bad)" 0 "the empty page is not a bad entry"
"$PYTHON3" - srv/requests.jsonl > req.txt <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
r = reqs[0]
ok = (r["resourceNames"] == ["projects/proj"] and r["orderBy"] ==
      "timestamp asc" and r["pageSize"] == 1000 and "pageToken" not in r)
print("first:%s" % ok)
print("tokens:%s" % ",".join(q.get("pageToken", "-") for q in reqs))
print("same-filter:%s" % all(q["filter"] == r["filter"] for q in reqs))
print("filter:%s" % r["filter"])
PY
is "$(sed -n 1p req.txt)" "first:True" "request: resourceNames, orderBy, pageSize, no pageToken"
is "$(sed -n 2p req.txt)" "tokens:-,e,1,2,3,4,5,6" "request: each nextPageToken sent back"
is "$(sed -n 3p req.txt)" "same-filter:True" "request: the filter repeats unchanged while paging"
filter=$(sed -n 's/^filter://p' req.txt)
case $filter in
'(resource.type="cloud_run_revision") AND timestamp>="'*'" AND timestamp<"'*'"')
	ok 0 "filter: default resource filter and both time bounds" ;;
*)	ok 1 "filter: default resource filter and both time bounds"
	diag "$filter" ;;
esac

# 2. the same counts as an ingest of the same entries
"$LOGAUDIT" ingest -q --db i.db in.json 2> i.err
is $? 0 "ingest of the same entries"
Q="SELECT group_concat(x, ';') FROM (SELECT r.service || '/' || r.revision
    || '/' || c.pattern || '/' || c.minute || '=' || c.count AS x FROM counts c
    JOIN revisions r ON r.id = c.revision_id ORDER BY x)"
is "$(db_value a.db "$Q")" "$(db_value i.db "$Q")" "pattern counts equal ingest's"
is "$(rev_total a.db entries)" "$(rev_total i.db entries)" "entries per revision equal ingest's"

# 3. a second pull overlaps the first (mark - 10m) and counts nothing new
reset_requests
pull --db a.db --token-file token.txt 2> a2.err
is $? 0 "second pull succeeds"
is "$(summary_count a2.err counted)" 0 "second pull counts nothing new"
dups=$(summary_count a2.err duplicates)
[ "${dups:-0}" -gt 0 ]
ok $? "second pull re-read the overlap as duplicates ($dups)"
is "$(rev_total a.db entries)" 20 "the store still holds 20 entries"
"$PYTHON3" - srv/entries.json srv/requests.jsonl > from.txt <<'PY'
import calendar, json, re, sys
last = max(e["timestamp"] for e in json.load(open(sys.argv[1])))
sec = calendar.timegm(tuple(map(int, re.split("[-T:]", last[:19]))) +
                      (0, 0, 0)) - 600
want = "%s.%sZ" % (__import__("time").strftime("%Y-%m-%dT%H:%M:%S",
                   __import__("time").gmtime(sec)), last[20:26])
f = json.loads(open(sys.argv[2]).readline())["filter"]
got = re.search(r'timestamp>="([^"]+)"', f).group(1)
print("%s %s" % (got, want))
PY
read -r got want < from.txt
is "$got" "$want" "second pull starts at the stored mark minus --overlap"

# 4. 429 twice, then 200: retried with backoff, counted
printf '429\n429\n' > srv/script
start=$(date +%s)
LOGAUDIT_BACKOFF_MS=100 pull --db b.db --since 2h --token-file token.txt \
    2> b.err
is $? 0 "429 twice then 200: pull succeeds"
end=$(date +%s)
[ $((end - start)) -le 5 ]
ok $? "retries finish within a few seconds ($((end - start)) s)"
is "$(summary_count b.err counted)" 20 "429 twice: all entries counted"
is "$(grep -c 'retrying with backoff' b.err)" 1 "one log line for the episode"

# 5. a 500 is retried too
printf '503\n' > srv/script
LOGAUDIT_BACKOFF_MS=50 pull --db c.db --since 2h --token-file token.txt \
    2> c.err
is $? 0 "503 then 200: pull succeeds"
is "$(summary_count c.err counted)" 20 "503: all entries counted"

# 6. 400: exit 2 with the API's message, the token redacted
printf '400\n' > srv/script
pull --db d.db --since 2h --token-file token.txt 2> d.err
is $? 2 "400 exits 2"
grep -q 'Unparseable filter' d.err
ok $? "400: the API's error message is shown"

# 7. 403: exit 2 naming the role
printf '403\n' > srv/script
pull --db e.db --since 2h --token-file token.txt 2> e.err
is $? 2 "403 exits 2"
grep -q 'roles/logging.viewer' e.err
ok $? "403: names roles/logging.viewer"
: > srv/script

# 8. 401: the token command runs again once, and the new token works
cat > tokcmd.sh <<TOKCMD
#!/bin/sh
n=\$(cat "$T/runs" 2>/dev/null || echo 0)
n=\$((n + 1))
echo \$n > "$T/runs"
if [ \$n -eq 1 ]; then echo $OLDTOKEN; else echo $TOKEN; fi
TOKCMD
chmod +x tokcmd.sh
pull --db f.db --since 2h --token-command "$T/tokcmd.sh" 2> f.err
is $? 0 "401 then a refreshed token: pull succeeds"
is "$(cat runs)" 2 "the token command ran twice (one refresh)"
is "$(summary_count f.err counted)" 20 "after the refresh: all entries counted"

# ... and a command that keeps printing a stale token fails clearly
printf '#!/bin/sh\necho x >> "%s/runs2"\necho %s\n' "$T" "$OLDTOKEN" \
    > stale.sh
chmod +x stale.sh
pull --db g.db --since 2h --token-command "$T/stale.sh" 2> g.err
is $? 2 "a token refused after its refresh: exit 2"
is "$(wc -l < runs2 | tr -d ' ')" 2 "a stale token is refreshed once only"
grep -q 'refused (HTTP 401) again after a refresh' g.err
ok $? "401 twice: a clear message"

# 9. the other token sources: environment, metadata server
LOGAUDIT_ACCESS_TOKEN=$TOKEN pull --db h.db --since 2h 2> h.err
is $? 0 "token from LOGAUDIT_ACCESS_TOKEN"
GCE_METADATA_HOST=127.0.0.1:$(cat srv/port) pull --db m.db --since 2h \
    2> m.err
is $? 0 "token from the metadata server (GCE_METADATA_HOST)"
is "$(summary_count m.err counted)" 20 "metadata token: all entries counted"
grep -v '^logaudit/[0-9][0-9]*\.[0-9][0-9]*\(\.[0-9][0-9]*\)\{0,1\}[-.+~0-9A-Za-z]*$' \
    srv/user-agent.log > ua.bad
[ -s srv/user-agent.log ] && [ ! -s ua.bad ]
ok $? "every request, metadata too, says User-Agent: logaudit/VERSION" ||
    diag_file ua.bad 3

# 10. several token sources at once: the first that applies, in the order
# --token-file, LOGAUDIT_ACCESS_TOKEN (not empty), --token-command, the
# metadata server (which gives the first line of srv/token)
printf '%s\n' tok-ORDER-metadata-41c7 "$TOKEN" tok-ORDER-file-8e2a \
    tok-ORDER-env-b5d0 tok-ORDER-command-6f93 > srv/token
printf 'tok-ORDER-file-8e2a\n' > order.txt
printf '#!/bin/sh\necho tok-ORDER-command-6f93\n' > order.sh
chmod +x order.sh
# order_pull ENV-TOKEN ARGS...: "exit status/the sources the server saw/
# the 401s", the sources named by the tokens they gave
order_pull()
{
	: > srv/bearer.log
	: > srv/401.log
	_env=$1
	shift
	LOGAUDIT_ACCESS_TOKEN=$_env GCE_METADATA_HOST=$META \
	    "$LOGAUDIT" pull --project proj --api-url "$API" --db o.db \
	    --since 2h "$@" >> pull.out 2>> o.err
	echo "$?/$(sed 's/^tok-ORDER-\([a-z]*\)-.*/\1/; t; s/.*/other/' \
	    srv/bearer.log | sort -u | tr '\n' ' ')/$(n401)"
}
is "$(order_pull tok-ORDER-env-b5d0 --token-file order.txt \
    --token-command ./order.sh)" "0/file /0" \
    "all four sources: --token-file's token"
is "$(order_pull tok-ORDER-env-b5d0 --token-command ./order.sh)" \
    "0/env /0" "no --token-file: LOGAUDIT_ACCESS_TOKEN's"
is "$(order_pull "" --token-command ./order.sh)" "0/command /0" \
    "LOGAUDIT_ACCESS_TOKEN empty too: --token-command's"
is "$(order_pull "")" "0/metadata /0" "none of those: the metadata server's"
printf '%s\n' "$TOKEN" > srv/token

# 11. a token is fetched again before it expires: the metadata server
# mints tokens good for 2 s (refreshed 1 s before: min(60 s, half)); 8
# pages of 0.8 s each take over 6 s, and no request meets a 401
printf '2\n' > srv/expires_in
: > srv/metadata.log
: > srv/401.log
printf 'sleep:0.8\n%.0s' 1 2 3 4 5 6 7 8 > srv/script
GCE_METADATA_HOST=$META pull --db x1.db --since 2h 2> x1.err
is $? 0 "tokens that expire in 2 s: pull succeeds"
is "$(summary_count x1.err counted)" 20 "... and counts all 20 entries"
nmeta=$(wc -l < srv/metadata.log | tr -d ' ')
[ "$nmeta" -ge 4 ]
ok $? "... fetching a new token each second or so ($nmeta tokens in all)"
is "$(n401)" 0 "... each before the one in use expired: no 401"
rm -f srv/expires_in
# a second line of --token-command is the token's lifetime in seconds
printf '#!/bin/sh\necho x >> "%s/xruns"\nprintf "%s\\n2\\n"\n' "$T" \
    "$TOKEN" > xcmd.sh
chmod +x xcmd.sh
printf 'sleep:0.8\n%.0s' 1 2 3 4 5 6 > srv/script
pull --db x2.db --since 2h --token-command "$T/xcmd.sh" 2> x2.err
is $? 0 "--token-command with a lifetime of 2 s: pull succeeds"
nruns=$(wc -l < xruns | tr -d ' ')
[ "$nruns" -ge 3 ]
ok $? "... and the command runs again before each token expires ($nruns runs)"
: > srv/script

# 12. the token file is read again once it changes, with no 401; and a
# slow pull's command line holds no token
: > srv/401.log
printf '%s\n%s\n' "$TOKEN" "$OLDTOKEN" > srv/token
printf '%s\n' "$TOKEN" > rot.txt
: > srv/bearer.log
printf 'sleep:0.5\n%.0s' 1 2 3 4 5 6 7 8 > srv/script
"$LOGAUDIT" pull --project proj --api-url "$API" --db y.db --since 2h \
    --token-file rot.txt > y.out 2> y.err &
PULL_PID=$!
until_ok 10 test -s srv/bearer.log	# its first request, with a token
cat /proc/"$PULL_PID"/cmdline > y.cmdline 2>/dev/null
core=$(sed -n 's/^Max core file size  *\([^ ]*\)  *\([^ ]*\).*/\1 \2/p' \
    /proc/"$PULL_PID"/limits 2>/dev/null)
printf '%s\n' "$OLDTOKEN" > rot.tmp
mv rot.tmp rot.txt
wait "$PULL_PID"
is $? 0 "the token file replaced during a pull: it succeeds"
PULL_PID=
is "$(n401)" 0 "... with no 401"
is "$(sed -n '1p;$p' srv/bearer.log | tr '\n' ' ')" "$TOKEN $OLDTOKEN " \
    "... its first request with the old file's token, its last with the new"
[ -s y.cmdline ]
ok $? "the command line of a running pull was read"
is "$core" "0 0" "a pull holding a token may not dump core (RLIMIT_CORE 0)"
printf '%s\n' "$TOKEN" > srv/token
: > srv/script

# 13. pages over 64 MiB: asked for again at once with half the entries
# until one fits (1000, 500, then 250 a page), counting as a normal pull
reset_requests
printf 'huge\nhuge\n' > srv/script
pull --db z.db --token-file token.txt 2> z.err
is $? 0 "pages over 64 MiB: exit 0 once a smaller page fits" ||
    diag_file z.err
grep -q "$API/v2/entries:list: the reply is larger than 67108864 bytes (64 MiB): not read; asking for 500 entries a page" z.err
ok $? "... saying so, with the URL and the new page size" || diag_file z.err
grep -q "asking for 250 entries a page" z.err
ok $? "... halving again while a page is too large"
is "$("$PYTHON3" -c '
import json, sys
print(" ".join(str(json.loads(l)["pageSize"]) for l in open(sys.argv[1])))' \
    srv/requests.jsonl | cut -d' ' -f1-4)" "1000 500 250 250" \
    "... the page asked for again with 500, then 250, and 250 after it"
is "$(db_value z.db "$Q")" "$(db_value i.db "$Q")" \
    "... pattern counts equal ingest's"
is "$(rev_total z.db entries)" "$(rev_total i.db entries)" \
    "... entries equal ingest's: what the cut pages read is not counted twice"
# a later page too large: its token holds the page size it was made with,
# so the read starts again from the first page, with 500
reset_requests
printf 'ok\nhuge\n' > srv/script
pull --db z2.db --token-file token.txt 2> z2.err
is $? 0 "a later page over 64 MiB: exit 0" || diag_file z2.err
grep -q "asking for 500 entries a page, from the first page again" z2.err
ok $? "... from the first page again, saying so" || diag_file z2.err
is "$("$PYTHON3" -c '
import json, sys
print(" ".join("%s:%d" % (r.get("pageToken", "-"), r["pageSize"])
               for r in map(json.loads, open(sys.argv[1]))))' \
    srv/requests.jsonl | cut -d' ' -f1-4)" "-:1000 e:1000 -:500 e:500" \
    "... the first page again with 500, then its token with 500"
is "$(db_value z2.db "$Q") $(rev_total z2.db entries)" \
    "$(db_value i.db "$Q") $(rev_total i.db entries)" \
    "... counts and entries equal ingest's"
: > srv/script

# 14. TLS: a self-signed certificate is refused without --ca-file (exit 2
# at once, no retries) and verified with it
if ! command -v openssl > /dev/null 2>&1; then
	for n in 1 2 3 4 5; do
		skip "HTTPS test server $n" "no openssl to make a certificate"
	done
elif ! openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout tls.key \
    -out tls.pem -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    > openssl.err 2>&1; then
	diag_file openssl.err
	for n in 1 2 3 4 5; do
		skip "HTTPS test server $n" "openssl could not make a certificate"
	done
else
	mkdir tls
	cp srv/entries.json srv/token tls/
	"$PYTHON3" "$TEST_SRCDIR/integration/api_server.py" tls tls.pem \
	    tls.key 2> tls-server.err &
	TLS_PID=$!
	wait_port tls/port "the HTTPS test server"
	TLS_API=https://127.0.0.1:$(cat tls/port)
	LOGAUDIT_BACKOFF_MS=50 pull --db t1.db --since 2h \
	    --token-file token.txt --api-url "$TLS_API" 2> t1.err
	is $? 2 "HTTPS, a self-signed certificate, no --ca-file: exit 2"
	grep -q "$TLS_API/v2/entries:list: the server's TLS certificate could not be verified: .*--ca-file" t1.err
	ok $? "... saying the certificate could not be verified" ||
	    diag_file t1.err
	grep -q retrying t1.err
	is $? 1 "... without retrying"
	pull --db t2.db --since 2h --token-file token.txt \
	    --api-url "$TLS_API" --ca-file tls.pem 2> t2.err
	is $? 0 "... and with --ca-file naming the certificate: exit 0" ||
	    diag_file t2.err
	is "$(summary_count t2.err counted)" 20 "... all entries counted"
fi

# 15. --lag: an entry newer than now - lag is left out of the window (the
# query's upper bound is before it), counted by a pull after it is older
# than that, and once only
"$PYTHON3" - srv/entries.json > lag.ts <<'PY'
import json, sys, time
now = time.time()
ents = []
for i, ago in enumerate((60, 0.5)):
    ts = now - ago
    t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + \
        ".%06dZ" % int((ts % 1) * 1e6)
    ents.append({"insertId": "lag-%d" % i,
        "logName": "projects/proj/logs/run.googleapis.com%2Fstderr",
        "resource": {"type": "cloud_run_revision", "labels": {
            "project_id": "proj", "location": "eu", "service_name": "api",
            "revision_name": "api-00003-ccc"}},
        "timestamp": t, "receiveTimestamp": t, "severity": "ERROR",
        "textPayload": "upstream connect error %d" % i})
json.dump(ents, open(sys.argv[1] + ".tmp", "w"))
__import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
print(ents[1]["timestamp"])
PY
reset_requests
pull --db lag.db --lag 4s --token-file token.txt 2> lag1.err
is "$(summary_count lag1.err counted)" 1 "--lag 4s: the entry of 0.5 s ago is not counted yet"
to=$(sed -n '1s/.*timestamp<\\"\([^\\]*\)\\".*/\1/p' srv/requests.jsonl)
[ -n "$to" ] && [ "$to" != "$(cat lag.ts)" ] &&
    [ "$(printf '%s\n' "$to" "$(cat lag.ts)" | sort | head -n 1)" = "$to" ]
ok $? "... the query's upper bound ($to) is before it"
sleep 4
pull --db lag.db --lag 4s --token-file token.txt 2> lag2.err
is "$(summary_count lag2.err counted)" 1 "once older than the lag, the next pull counts it"
pull --db lag.db --lag 4s --token-file token.txt 2> lag3.err
is "$(summary_count lag3.err counted)" 0 "... and the one after that, not again"
is "$(rev_total lag.db entries)" 2 "the store holds each entry once"

# 16. the tokens never reach stdout, stderr, the database files or a
# running pull's command line
found=0
for f in *.err *.out *.cmdline *.db *.db-wal; do
	[ -f "$f" ] || continue
	if grep -a -q -e "$TOKEN" -e "$OLDTOKEN" -e tok-ORDER -e tok-MINTED \
	    "$f"; then
		diag "a token in $f"
		found=1
	fi
done
is $found 0 "no token in stdout, stderr, the database files or /proc/PID/cmdline"

done_testing
