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
# server sources work, and no token reaches stderr or the database file.

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
trap 'kill "$SERVER_PID" 2>/dev/null; rm -rf "$T"' EXIT
wait_port srv/port "the test server"
API="http://127.0.0.1:$(cat srv/port)"
printf '%s\n' "$TOKEN" > token.txt

npages() { wc -l < srv/requests.jsonl | tr -d ' '; }
reset_requests() { : > srv/requests.jsonl; }

pull() {
	"$LOGAUDIT" pull --project proj --api-url "$API" "$@"
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

# 10. the tokens never reach stderr or the database files
found=0
for f in *.err *.db *.db-wal; do
	[ -f "$f" ] || continue
	if grep -a -q -e "$TOKEN" -e "$OLDTOKEN" "$f"; then
		diag "a token in $f"
		found=1
	fi
done
is $found 0 "no token in stderr or the database files"

done_testing
