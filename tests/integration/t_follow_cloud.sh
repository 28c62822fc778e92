#!/bin/sh
# t_follow_cloud.sh -- logaudit follow --cloud, the daemon reading the
# Logging API, against api_server.py on 127.0.0.1 (three entries a page,
# an empty page that carries a nextPageToken, scripted errors and delays).
#
# (a) A daemon (--interval 1s --lag 0s) meets a 429 without Retry-After
#     and a 500 (LOGAUDIT_BACKOFF_MS=50) in its first read; its counts per
#     revision, pattern and minute equal a one-shot ingest of the same
#     entries, and stay equal while it reads the overlap again.
# (b) Entries added while it runs, one of them older than the mark but
#     within --overlap (a late entry), are each counted once; a later 400
#     is logged and retried, not fatal.
# (c) A pattern new to the service makes exactly one row in findings,
#     within a few seconds, and the log line.
# (d) The daemon is killed with SIGKILL while a page request is
#     outstanding (the server delays it); restarted, its counts equal the
#     ingest: nothing lost, nothing doubled.
# (e) The token is in none of stdout, stderr, the database files or the
#     daemon's /proc/PID/cmdline (which stays readable: the daemon is not
#     dumpable, but cmdline is everyone's); the daemon may not dump core.
# (f) The token expires (the server takes a new one): a 401, and the
#     daemon gets the new one through --token-command and goes on.
# (i) Tokens from the metadata server that last 2 s are fetched again
#     before they expire, between reads a second apart: no 401.
# (g) Configuration errors exit 2: a 400 or 403 on the first read, PATHs
#     with --cloud, an option of --cloud without it, no token at all;
#     --check validates.
# (h) With --interval 60s, -D, --pidfile and -q: SIGUSR1, SIGHUP and
#     SIGTERM are handled within a second, between reads.

. "$(dirname "$0")/lib.sh"

TOKEN=tok-CLOUD-7e41b09c2d55aa
NEWTOKEN=tok-ROTATED-5a0f93e1c8bb
mkdir srv
printf '%s\n' "$TOKEN" > srv/token
printf '%s\n' "$TOKEN" > token.txt
printf '[]' > srv/entries.json
printf '[]' > all.json
: > srv/requests.jsonl

# add.py PREFIX N AGO STEP REVISION [MESSAGE]: N entries of service api,
# the first AGO seconds before now, STEP seconds apart, added to what the
# server holds (srv/entries.json, replaced atomically) and to all.json,
# every entry ever served, for the one-shot ingest
cat > add.py <<'PY'
import json, os, sys, time
prefix, n, ago, step, rev = (sys.argv[1], int(sys.argv[2]),
    float(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
msg = sys.argv[6] if len(sys.argv) > 6 else None
now = time.time()
new = []
for i in range(n):
    ts = now - ago + i * step
    t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + \
        ".%06dZ" % int((ts % 1) * 1e6)
    new.append({"insertId": "%s-%d" % (prefix, i),
        "logName": "projects/proj/logs/run.googleapis.com%2Fstderr",
        "resource": {"type": "cloud_run_revision", "labels": {
            "project_id": "proj", "location": "eu", "service_name": "api",
            "revision_name": rev}},
        "timestamp": t, "receiveTimestamp": t, "severity": "ERROR",
        "textPayload": msg if msg is not None else
            "WebSocket connection rejected: NO_TOKEN" if i % 3 == 0
            else "upstream connect error %d" % i})
for path in ("srv/entries.json", "all.json"):
    old = json.load(open(path))
    json.dump(old + new, open(path + ".tmp", "w"))
    os.rename(path + ".tmp", path)
PY
add() { "$PYTHON3" add.py "$@"; }

"$PYTHON3" "$TEST_SRCDIR/integration/api_server.py" srv 2>server.err &
SERVER_PID=$!
PID=
trap 'kill "$SERVER_PID" $PID 2>/dev/null; rm -rf "$T"' EXIT
wait_port srv/port "the test server"
API="http://127.0.0.1:$(cat srv/port)"

total_is() { [ "$(rev_total "$1")" = "$2" ]; }
nreq() { wc -l < srv/requests.jsonl | tr -d ' '; }
more_req() { [ "$(nreq)" -ge "$1" ]; }
# reads_after N: the requests that started a read (no pageToken) after
# the first N requests
reads_after()
{
	tail -n +"$(($1 + 1))" srv/requests.jsonl | grep -vc '"pageToken"'
}
two_reads_after() { [ "$(reads_after "$1")" -ge 2 ]; }
alive() { kill -0 "$1" 2>/dev/null; }
# dead PID: gone, or a zombie that no init reaps (a detached daemon)
dead()
{
	! kill -0 "$1" 2>/dev/null ||
	    [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ]
}
in_log() { grep -q -e "$2" "$1"; }

# start DB LOG ARGS...: the daemon in the background, $PID
start()
{
	_db=$1
	_log=$2
	shift 2
	"$LOGAUDIT" -v follow --cloud proj --api-url "$API" --db "$_db" \
	    --interval 1s --lag 0s "$@" > "$_log.out" 2> "$_log" &
	PID=$!
}
# stop: SIGTERM, and the daemon's exit status
stop()
{
	kill -TERM "$PID"
	wait "$PID"
	_rc=$?
	PID=
	return $_rc
}

Q="SELECT group_concat(x, ';') FROM (SELECT r.service || '/' || r.revision
    || '/' || c.pattern || '/' || c.minute || '=' || c.count AS x FROM counts c
    JOIN revisions r ON r.id = c.revision_id ORDER BY x)"
# same_as_ingest DB NAME: DB's counts equal an ingest of all.json
same_as_ingest()
{
	rm -f i.db i.db-wal i.db-shm
	"$LOGAUDIT" ingest -q --db i.db all.json 2> i.err ||
	    diag_file i.err
	_want=$(db_value i.db "$Q")
	is "$(db_value "$1" "$Q")" "$_want" "$2: counts per pattern and minute equal a one-shot ingest"
	is "$(rev_total "$1")" "$(rev_total i.db)" "$2: entries per revision equal the ingest's"
}

# ---- (a) paging, a 429 and a 500, counts equal ingest -----------------
add base 20 2400 110 api-00001-aaa
"$PYTHON3" - <<'PY'
import json
e = json.load(open("srv/entries.json"))
for x in e[10:]:
    x["resource"]["labels"]["revision_name"] = "api-00002-bbb"
for p in ("srv/entries.json", "all.json"):
    json.dump(e, open(p, "w"))
PY
printf 'ok\n429\nok\n500\n' > srv/script
export LOGAUDIT_BACKOFF_MS=50
start a.db a.err --token-file token.txt
until_ok 20 total_is a.db 20
ok $? "(a) the first read counts all 20 entries" || diag_file a.err
n=$(nreq)
until_ok 10 two_reads_after "$n"
ok $? "(a) the daemon goes on reading every second"
same_as_ingest a.db "(a)"
"$PYTHON3" - srv/requests.jsonl > tokens.txt <<'PY'
import json, sys
toks = [json.loads(l).get("pageToken", "-") for l in open(sys.argv[1])]
print(",".join(toks[:toks.index("-", 1)]))
PY
is "$(cat tokens.txt)" "-,e,e,1,1,2,3,4,5,6" "(a) every page of the first read, the empty one with a token too, a page again after each error"
is "$(grep -c 'retrying with backoff' a.err)" 2 "(a) the 429 and the 500 are each logged once"
is "$(grep -c 'recovered after 1 retries' a.err)" 2 "(a) and each recovery"
is "$(db_value a.db "SELECT count(*) FROM findings")" 0 "(a) no findings: both revisions show the same patterns"

# ---- (b) entries added while it runs, a late one, a later 400 ----------
add new 4 3 0.5 api-00002-bbb
until_ok 10 total_is a.db 24
ok $? "(b) 4 entries added while it runs are counted"
# the mark is now the newest of them: 60 s before it is a late entry
add late 1 63 0 api-00002-bbb "upstream connect error 99"
until_ok 10 total_is a.db 25
ok $? "(b) a late entry, older than the mark but within --overlap, is counted"
printf '400\n' > srv/script
n=$(nreq)
until_ok 10 two_reads_after "$n"
ok $? "(b) reads go on after a 400 on a later read"
alive "$PID"
ok $? "(b) a 400 after the first read is not fatal"
grep -q 'the API refused the request (HTTP 400).*REDACTED' a.err
ok $? "(b) the 400 is logged, its echo of the token redacted"
same_as_ingest a.db "(b)"
dups=$(db_value a.db "SELECT duplicates FROM ingest_runs ORDER BY id DESC LIMIT 1")
[ "${dups:-0}" -gt 0 ]
ok $? "(b) the overlap was read again ($dups duplicates) and counted once"

# ---- (c) a pattern new to the service: one finding ---------------------
t0=$(date +%s)
add redis 1 1 0 api-00002-bbb \
    "redis.exceptions.ConnectionError: Error 111 connecting to localhost:6379. Connection refused."
found() { [ "$(db_value a.db "SELECT count(*) FROM findings")" -ge 1 ]; }
until_ok 10 found
ok $? "(c) a finding is recorded"
t1=$(date +%s)
[ $((t1 - t0)) -le 5 ]
ok $? "(c) within a few seconds ($((t1 - t0)) s)"
n=$(nreq)
until_ok 10 two_reads_after "$n"
is "$(db_value a.db "SELECT group_concat(class || ' ' || kind || ' ' || pattern || ' ' || revision || ' ' || count, ';') FROM findings")" \
    "new catalogue connection-error api-00002-bbb 1" \
    "(c) exactly one row in findings, for the new pattern, after reads of the overlap"
is "$(grep -c 'finding: new catalogue connection-error in api revision api-00002-bbb' a.err)" 1 \
    "(c) one log line for it"
cat /proc/"$PID"/cmdline > a.cmdline 2>/dev/null
stop
is $? 0 "(c) SIGTERM: exit 0"
grep -q 'stopped: [0-9]* entries, 26 counted' a.err
ok $? "(c) the stop line: 26 counted in all" ||
    grep stopped: a.err | sed 's/^/# /'
same_as_ingest a.db "(c)"

# ---- (d) SIGKILL while a page is outstanding, then a restart -----------
n=$(nreq)
printf 'ok\nok\nok\nsleep:30\n' > srv/script
LOGAUDIT_ACCESS_TOKEN=$TOKEN
export LOGAUDIT_ACCESS_TOKEN
start d.db d1.err
until_ok 10 more_req $((n + 4))
ok $? "(d) the fourth page request is outstanding"
sleep 0.2
kill -9 "$PID"
wait "$PID" 2>/dev/null
PID=
is "$(rev_total d.db)" 6 "(d) killed in the middle: the two pages of entries before it are committed"
start d.db d2.err
unset LOGAUDIT_ACCESS_TOKEN
until_ok 15 total_is d.db 26
ok $? "(d) the restarted daemon reads the rest" || diag_file d2.err
n=$(nreq)
until_ok 10 two_reads_after "$n"
cat /proc/"$PID"/cmdline > d.cmdline 2>/dev/null
stop
is $? 0 "(d) SIGTERM: exit 0"
same_as_ingest d.db "(d)"
dups=$(db_value d.db "SELECT duplicates FROM ingest_runs ORDER BY id DESC LIMIT 1")
[ "${dups:-0}" -ge 3 ]
ok $? "(d) the restart read committed entries again ($dups duplicates) and counted them once"

# ---- (f) the token expires: 401, refreshed through --token-command -----
cat > tokcmd.sh <<TOKCMD
#!/bin/sh
echo x >> "$T/runs"
cat "$T/srv/token"
TOKCMD
chmod +x tokcmd.sh
start f.db f.err --token-command "$T/tokcmd.sh"
until_ok 15 total_is f.db 26
ok $? "(f) a daemon with --token-command counts all 26"
printf '%s\n' "$NEWTOKEN" > srv/token.tmp
mv srv/token.tmp srv/token
add after 1 1 0 api-00002-bbb "upstream connect error 5"
until_ok 10 total_is f.db 27
ok $? "(f) after the token expired the daemon goes on counting"
is "$(wc -l < runs | tr -d ' ')" 2 "(f) the token command ran twice: at the start and once on the 401"
is "$(grep -c 'HTTP 401, refreshing the access token' f.err)" 1 "(f) one refresh logged"
grep -q -e 'was refused' -e 'refused the request' f.err
is $? 1 "(f) no read was refused"
cat /proc/"$PID"/cmdline > f.cmdline 2>/dev/null
core=$(sed -n 's/^Max core file size  *\([^ ]*\)  *\([^ ]*\).*/\1 \2/p' \
    /proc/"$PID"/limits 2>/dev/null)
stop
is $? 0 "(f) SIGTERM: exit 0"
same_as_ingest f.db "(f)"
is "$core" "0 0" "(e) the daemon holding a token may not dump core (RLIMIT_CORE 0)"

# ---- (i) tokens that last 2 s: fetched again before they expire --------
printf '2\n' > srv/expires_in
: > srv/metadata.log
: > srv/401.log
GCE_METADATA_HOST=127.0.0.1:$(cat srv/port)
export GCE_METADATA_HOST
start i.db i.err
unset GCE_METADATA_HOST
until_ok 15 total_is i.db 27
ok $? "(i) a daemon with a metadata token counts all 27" || diag_file i.err
n=$(nreq)
four_reads_after() { [ "$(reads_after "$1")" -ge 4 ]; }
until_ok 10 four_reads_after "$n"
ok $? "(i) it goes on reading every second"
stop
is $? 0 "(i) SIGTERM: exit 0"
nmeta=$(wc -l < srv/metadata.log | tr -d ' ')
[ "$nmeta" -ge 3 ]
ok $? "(i) a new token at least every 2 s ($nmeta in all)"
is "$(cat srv/401.log)" "" "(i) each before the one in use expired: no 401"
rm -f srv/expires_in

# ---- (e) the token reaches no output, database or command line ---------
found=0
for f in *.err *.out *.db *.db-wal *.cmdline; do
	[ -f "$f" ] || continue
	if grep -a -q -e "$TOKEN" -e "$NEWTOKEN" -e tok-MINTED "$f"; then
		diag "a token in $f"
		found=1
	fi
done
is $found 0 "(e) no token in stdout, stderr, the database files or /proc/PID/cmdline"
[ -s a.cmdline ] && [ -s d.cmdline ] && [ -s f.cmdline ]
ok $? "(e) the command lines were read while the daemons ran"

# ---- (g) configuration errors ----------------------------------------
printf '%s\n' "$TOKEN" > srv/token
follow_once() {
	"$LOGAUDIT" follow --cloud proj --api-url "$API" --interval 1s \
	    --lag 0s --token-file token.txt "$@"
}
printf '400\n' > srv/script
follow_once --db g1.db 2> g1.err
is $? 2 "(g) a 400 on the first read: exit 2"
grep -q 'Unparseable filter' g1.err && grep -q 'the first read was refused' g1.err
ok $? "(g) with the API's message" || diag_file g1.err
printf '403\n' > srv/script
follow_once --db g2.db 2> g2.err
is $? 2 "(g) a 403 on the first read: exit 2"
grep -q 'roles/logging.viewer' g2.err
ok $? "(g) naming roles/logging.viewer"
: > srv/script
follow_once --db g3.db app.log 2> g3.err
is $? 2 "(g) --cloud with a PATH: exit 2"
grep -q -e '--cloud reads the Logging API, not files' g3.err
ok $? "(g) saying why"
"$LOGAUDIT" follow --db g4.db --interval 5s app.log 2> g4.err
is $? 2 "(g) --interval without --cloud: exit 2"
grep -q -e '--interval is an option of --cloud' g4.err
ok $? "(g) saying why"
env -u LOGAUDIT_ACCESS_TOKEN GCE_METADATA_HOST=127.0.0.1:1 \
    "$LOGAUDIT" follow --cloud proj --api-url "$API" --db g5.db 2> g5.err
is $? 2 "(g) no token from any source: exit 2"
follow_once --check > g6.out 2> g6.err
is $? 0 "(g) --check with --cloud: exit 0"
grep -q '^options ok' g6.out
ok $? "(g) --check says the options are ok"
follow_once --check --lag 2x 2> g7.err
is $? 2 "(g) --check with a bad --lag: exit 2"

# ---- (h) signals between reads, -D, --pidfile, -q ----------------------
n=$(nreq)
"$LOGAUDIT" follow --cloud proj --api-url "$API" --db h.db --interval 60s \
    --lag 0s --token-file token.txt -D --pidfile h.pid -q 2> h.err
is $? 0 "(h) -D: exit 0 once the first read is done"
HPID=$(cat h.pid 2>/dev/null)
[ -n "$HPID" ] && alive "$HPID"
ok $? "(h) the daemon runs, its pid in the pidfile"
is "$(rev_total h.db)" 27 "(h) the first read was done when -D returned"
is "$(grep -c following h.err)" 0 "(h) -q: no start line"
kill -USR1 "$HPID"
until_ok 1 in_log h.err 'stats: 27 entries'
ok $? "(h) SIGUSR1: a statistics line within a second" || diag_file h.err
kill -HUP "$HPID"
until_ok 1 in_log h.err 'catalogue unchanged'
ok $? "(h) SIGHUP: the catalogue loaded again within a second"
kill -TERM "$HPID"
until_ok 1 dead "$HPID"
ok $? "(h) SIGTERM: stopped within a second"
[ ! -e h.pid ]
ok $? "(h) the pidfile is removed"
is "$(reads_after "$n")" 1 "(h) one read in all: the next was 60 s away"
is "$(db_value h.db "SELECT status FROM ingest_runs ORDER BY id DESC LIMIT 1")" ok \
    "(h) the run ends ok"

done_testing
