#!/bin/sh
# t_alert.sh -- webhook alerts against a real receiver on 127.0.0.1
# (webhook_server.py, which records every POST): `diff --webhooks` and
# `follow --webhooks`.  Asserts: each flagged new pattern reaches each
# target once, as the documented slack or json payload; 5xx answers are
# retried, a 404 is not; a second diff (as from cron) sends nothing again;
# alerts queued while the receiver is down survive and go out once it is
# back; follow alerts a live finding within seconds, a slow receiver does
# not hold up counting, and a kill -9 and restart repeat nothing; samples
# are redacted in the payloads and the database; no webhook URL reaches
# stdout, stderr, the database file or the daemon's command line.

. "$(dirname "$0")/lib.sh"

SECRET=SECRETTOKEN0123456789abcdef

# gen.py REVISION MINUTE KIND:N...: Cloud Run entries of service shop,
# one a second from MINUTE past 10:00 (2025-09-16)
cat > gen.py <<'PY'
import json, sys
rev, minute = sys.argv[1], int(sys.argv[2])
KINDS = {
    "info": ("stdout", "INFO", "processed batch of 20 items"),
    "notoken": ("stdout", "WARNING", "WebSocket connection rejected: NO_TOKEN"),
    "connref": ("stdout", "ERROR", "psycopg2.OperationalError: could not "
                "connect to server: Connection refused"),
    "secret": ("stderr", "ERROR", "payment gateway refused order 12: "
               "Authorization: Bearer %s" % "SECRETTOKEN0123456789abcdef"),
    "ws1011": ("stdout", "ERROR",
               "WebSocket closed with code 1011 (internal error)"),
}
sec = 0
for spec in sys.argv[3:]:
    kind, n = spec.split(":")
    log, sev, msg = KINDS[kind]
    for i in range(int(n)):
        print(json.dumps({
            "insertId": "%s-%s-%d-%d" % (rev, kind, minute, i),
            "logName": "projects/p/logs/run.googleapis.com%%2F%s" % log,
            "resource": {"type": "cloud_run_revision", "labels": {
                "project_id": "p", "location": "eu", "service_name": "shop",
                "revision_name": rev}},
            "timestamp": "2025-09-16T10:%02d:%02d.000000Z" % (
                minute + sec // 60, sec % 60),
            "severity": sev, "textPayload": msg}))
        sec += 1
PY

"$PYTHON3" gen.py shop-00001-aaa 0 info:20 notoken:5 > r1.ndjson
"$PYTHON3" gen.py shop-00002-bbb 10 info:20 notoken:3 connref:4 secret:2 \
    > r2.ndjson
"$LOGAUDIT" ingest --db a.db r1.ndjson r2.ndjson 2> ingest.err
is $? 0 "two revisions ingested" || diag_file ingest.err

# the receiver
start_receiver()
{
	rm -f port
	"$PYTHON3" "$TEST_SRCDIR/integration/webhook_server.py" hooks.jsonl port \
	    ${1:-} 2>>receiver.err &
	RECEIVER=$!
	wait_port port "the webhook receiver"
	PORT=$(cat port)
}
: > hooks.jsonl
start_receiver
DAEMON=
trap 'kill $RECEIVER $DAEMON 2>/dev/null; rm -rf "$T"' EXIT
BASE="http://127.0.0.1:$PORT"

cat > hooks.conf <<EOF
# name  url  format
ops    $BASE/ok/hook-OPSSECRET-1a2b        slack
audit  $BASE/flaky/2/hook-AUDITSECRET-3c4d json
dead   $BASE/refuse/hook-DEADSECRET-5e6f
EOF
chmod 600 hooks.conf

# posts PATH-PART [STATUS]: how many requests the receiver got for it
posts()
{
	"$PYTHON3" - hooks.jsonl "$1" "${2:-}" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if sys.argv[2] in r["path"] and (not sys.argv[3] or
                                     str(r["status"]) == sys.argv[3]):
        n += 1
print(n)
PY
}

# ---- (a) diff --webhooks ----------------------------------------------------
LOGAUDIT_BACKOFF_MS=20 "$LOGAUDIT" diff --db a.db --webhooks hooks.conf \
    > d1.out 2> d1.err
is $? 1 "diff: exit 1, new patterns flagged" || diag_file d1.err
is "$(posts OPSSECRET 200)" 2 "slack target: one POST per flagged pattern"
is "$(posts AUDITSECRET)" 4 "json target: two 500s, then both sent"
is "$(posts AUDITSECRET 200)" 2 "json target: each pattern sent once"
is "$(posts DEADSECRET)" 2 "a 404 is not retried"
is "$(sqlite3 a.db "SELECT state || ':' || count(*) FROM alerts GROUP BY
    state ORDER BY state" | tr '\n' ' ')" "failed:2 sent:4 " \
    "the queue: 4 sent, 2 failed for good"
is "$(sqlite3 a.db "SELECT count(*) FROM findings WHERE class = 'new'")" 2 \
    "each flagged pattern recorded as a finding"
grep -q "webhook dead: refused new .*HTTP 404: no_such_hook" d1.err
ok $? "the refusal is logged, with the receiver's answer" || diag_file d1.err
grep -q "webhook audit: HTTP 500: try later; retrying with backoff" d1.err
ok $? "the 500 is logged once" || diag_file d1.err
is "$(grep -c 'webhook audit: HTTP 500' d1.err)" 1 "... once per episode"

"$PYTHON3" - hooks.jsonl "$SECRET" > payloads.txt <<'PY'
import json, sys
secret = sys.argv[2]
slack, js = [], []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["status"] != 200:
        continue
    body = json.loads(r["body"])
    print("type:%s" % r["content_type"])
    if "OPSSECRET" in r["path"]:
        slack.append(body)
    else:
        js.append(body)
print("slack-keys:%s" % sorted(set(k for b in slack for k in b)))
for b in slack:
    if "connection-error" in b["text"]:
        print("slack:%s" % b["text"].split("\n")[0])
        print("slack-quote:%s" % b["text"].split("\n")[1][:40])
KEYS = ["acknowledged", "class", "count", "entry_time", "insert_id", "kind",
        "level", "location", "pattern", "project", "revision", "sample",
        "schema_version", "service", "time"]
for b in sorted(js, key=lambda b: b["kind"]):
    print("json-keys-ok:%s" % (sorted(b) == KEYS))
    print("json:%s %s %s %s %s %s %d %s" % (b["schema_version"], b["kind"],
          b["class"], b["level"], b["service"], b["revision"], b["count"],
          b["acknowledged"]))
    if b["kind"] == "template":
        print("template-sample:%s" % b["sample"])
    else:
        print("pattern:%s" % b["pattern"])
print("secret-sent:%s" % any(secret in json.dumps(x) for x in slack + js))
PY
is "$(grep -c '^type:application/json$' payloads.txt)" 4 \
    "every payload is application/json"
is "$(grep '^slack-keys:' payloads.txt)" "slack-keys:['text']" \
    "slack: {\"text\": ...}"
is "$(grep '^slack:' payloads.txt)" \
    'slack:logaudit: *new* pattern `connection-error` (error) in service *shop*, revision `shop-00002-bbb` (project p, location eu): 4 so far.' \
    "slack: the summary line"
is "$(grep '^slack-quote:' payloads.txt)" \
    "slack-quote:&gt;psycopg2.OperationalError: could not" \
    "slack: the sample quoted, > escaped"
is "$(grep -c '^json-keys-ok:True$' payloads.txt)" 2 \
    "json: the finding record's keys, exactly"
is "$(grep '^json:' payloads.txt | tr '\n' ' ')" \
    "json:1 catalogue new error shop shop-00002-bbb 4 False json:1 template new error shop shop-00002-bbb 2 False " \
    "json: the finding records"
is "$(grep '^pattern:' payloads.txt)" "pattern:connection-error" \
    "json: the catalogue pattern"
is "$(grep '^template-sample:' payloads.txt)" \
    "template-sample:payment gateway refused order 12: Authorization: [REDACTED]" \
    "the template's sample is sent redacted"
is "$(grep '^secret-sent:' payloads.txt)" "secret-sent:False" \
    "the bearer token in the log is sent nowhere"

# cron runs it again: nothing is sent twice, the refused stay refused
LOGAUDIT_BACKOFF_MS=20 "$LOGAUDIT" diff --db a.db --webhooks hooks.conf \
    > d2.out 2> d2.err
is $? 1 "second diff: still exit 1"
is "$(wc -l < hooks.jsonl | tr -d ' ')" 8 "second diff: no request at all"

# ---- (b) the queue survives the receiver being down -------------------------
"$PYTHON3" gen.py shop-00003-ccc 20 info:20 ws1011:3 > r3.ndjson
"$LOGAUDIT" ingest --db a.db r3.ndjson 2> ingest3.err
kill "$RECEIVER"
wait "$RECEIVER" 2>/dev/null
LOGAUDIT_BACKOFF_MS=1 "$LOGAUDIT" diff --db a.db --webhooks hooks.conf \
    --alert-wait 0 > d3.out 2> d3.err
is $? 1 "diff while the receiver is down: exit 1 all the same"
is "$(sqlite3 a.db "SELECT target || ':' || attempts FROM alerts WHERE
    state = 'pending' ORDER BY target" | tr '\n' ' ')" \
    "audit:1 dead:1 ops:1 " "one try each, then queued (pending)"
grep -q "webhook ops: .*retrying with backoff" d3.err
ok $? "the failure is logged" || diag_file d3.err
start_receiver "$PORT"
LOGAUDIT_BACKOFF_MS=1 "$LOGAUDIT" diff --db a.db --webhooks hooks.conf \
    > d4.out 2> d4.err
is "$(posts OPSSECRET 200)" 3 "the queued alert went out once the receiver was back"
is "$(posts AUDITSECRET 200)" 3 "... to every target"
is "$(sqlite3 a.db "SELECT count(*) FROM alerts WHERE state = 'pending'")" \
    0 "nothing left pending"
LOGAUDIT_BACKOFF_MS=1 "$LOGAUDIT" diff --db a.db --webhooks hooks.conf \
    > d5.out 2> d5.err
is "$(posts OPSSECRET)" 3 "and not again"

# a target removed from the file: its alerts wait, the others go on
grep -v '^dead' hooks.conf > hooks2.conf
chmod 600 hooks2.conf
"$PYTHON3" gen.py shop-00004-ddd 30 info:20 ws1011:3 connref:1 > r4.ndjson
"$LOGAUDIT" ingest --db a.db r4.ndjson 2> ingest4.err
sqlite3 a.db "UPDATE alerts SET state = 'pending' WHERE target = 'dead' AND
    id = (SELECT max(id) FROM alerts WHERE target = 'dead')"
LOGAUDIT_BACKOFF_MS=1 "$LOGAUDIT" diff --db a.db --webhooks hooks2.conf \
    > d6.out 2> d6.err
grep -q "webhook dead: 1 alert queued for it, but it is no longer configured" \
    d6.err
ok $? "alerts of a target no longer configured: said, and kept" ||
    diag_file d6.err

# ---- (c) LOGAUDIT_WEBHOOKS and bad targets files -----------------------------
LOGAUDIT_WEBHOOKS="envhook $BASE/ok/hook-ENVSECRET-7a8b json" \
    "$LOGAUDIT" diff --db a.db --fail-on any > d7.out 2> d7.err
is "$(posts ENVSECRET 200)" 1 "LOGAUDIT_WEBHOOKS names a target"
printf 'x %s/ok/hook-BADSECRET-9c9d yaml\n' "$BASE" > bad1.conf
printf 'x\n' > bad2.conf
printf 'x ftp://BADSECRET-9c9d/\n' > bad3.conf
printf 'x %s/ok/a\nx %s/ok/b\n' "$BASE" "$BASE" > bad4.conf
chmod 600 bad1.conf bad2.conf bad3.conf bad4.conf
for f in bad1 bad2 bad3 bad4; do
	"$LOGAUDIT" diff --db a.db --webhooks $f.conf > /dev/null 2> $f.err
	echo "$?"
done > bad.status
is "$(tr '\n' ' ' < bad.status)" "2 2 2 2 " "bad targets files: exit 2"
is "$(cat bad1.err)" 'logaudit: bad1.conf:1: target x: format slack or json, not "yaml"' \
    "an unknown format, with file and line"
is "$(cat bad2.err)" 'logaudit: bad2.conf:1: expected "name url [slack|json]"' \
    "a line without a URL"
is "$(cat bad3.err)" 'logaudit: bad3.conf:1: target x: the URL must start with https:// or http:// (and be at most 4096 bytes)' \
    "a URL of another scheme, not quoted"
is "$(cat bad4.err)" 'logaudit: bad4.conf:2: target x named twice' \
    "a name given twice"
chmod 644 hooks2.conf
"$LOGAUDIT" diff --db a.db --webhooks hooks2.conf > /dev/null 2> perm.err
grep -q "hooks2.conf: readable by everyone, and webhook URLs are secrets" perm.err
ok $? "a targets file everyone can read is warned about"
chmod 640 hooks2.conf
"$LOGAUDIT" diff --db a.db --webhooks hooks2.conf > /dev/null 2> perm2.err
is "$(grep -c 'readable by' perm2.err)" 0 \
    "a group-readable one is not (the daemon's group may read it)"

# ---- (d) follow --webhooks --------------------------------------------------
cat > hooks3.conf <<EOF
ops   $BASE/ok/hook-FOLLOWSECRET-1c2d
slow  $BASE/slow/3/hook-SLOWSECRET-3e4f json
EOF
chmod 600 hooks3.conf
"$LOGAUDIT" ingest -q --db b.db r1.ndjson
: > live.log

posts_at_least() { [ "$(posts "$1" "${3:-}")" -ge "$2" ]; }
entries_are() {
	[ "$(sqlite3 b.db 'SELECT coalesce(sum(entries), 0) FROM revisions' \
	    2>/dev/null)" = "$1" ]
}
start_daemon()
{
	LOGAUDIT_BACKOFF_MS=20 "$LOGAUDIT" follow --db b.db --flush 200ms \
	    --webhooks hooks3.conf live.log >> f.out 2>> f.err &
	DAEMON=$!
	until_ok 10 grep -q "following 1 path" f.err
}
start_daemon
ok $? "follow --webhooks starts" || diag_file f.err
grep -q "alerting 2 webhook targets" f.err
ok $? "... and says how many targets it alerts"
tr '\0' ' ' < /proc/$DAEMON/cmdline > cmdline.txt
t0=$(date +%s%N)
cat r2.ndjson >> live.log
until_ok 10 posts_at_least FOLLOWSECRET 1 200
ok $? "follow: a live finding reaches the slack target" || diag_file f.err
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
diag "first alert $ms ms after its entry was written"
[ "$ms" -lt 3000 ]
ok $? "... within 3 seconds of its entry being written ($ms ms)"

# the slow receiver holds its target's thread for 3 s a request: the
# other target's second alert does not wait for it, and counting goes on
until_ok 2 posts_at_least FOLLOWSECRET 2 200
ok $? "a slow target does not hold up another (both sent before its first)"
is "$(posts SLOWSECRET)" 0 "... whose first is still under way"
"$PYTHON3" gen.py shop-00002-bbb 50 info:30 > more.ndjson
cat more.ndjson >> live.log
until_ok 2 entries_are 84
ok $? "counting goes on while a webhook is slow (84 entries in 2 s)"
until_ok 20 posts_at_least SLOWSECRET 2 200
ok $? "the slow target gets both alerts in the end"
until_ok 5 posts_at_least FOLLOWSECRET 2 200
is "$(posts FOLLOWSECRET)/$(posts SLOWSECRET)" "2/2" \
    "follow: one alert per finding and target"
is "$(sqlite3 b.db "SELECT state || ':' || count(*) FROM alerts GROUP BY
    state")" "sent:4" "follow: the queue says all four sent"

fmt=$("$PYTHON3" -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if "FOLLOWSECRET" in r["path"]:
        print(json.loads(r["body"]).get("schema_version"))
        break' hooks.jsonl)
is "$fmt" 1 "a target with no format and a non-Slack URL gets json"
kill -9 "$DAEMON"
wait "$DAEMON" 2>/dev/null
start_daemon
ok $? "restarted after kill -9"
sleep 2
is "$(posts FOLLOWSECRET)/$(posts SLOWSECRET)" "2/2" \
    "after kill -9 and a restart, nothing is sent again"
kill -TERM "$DAEMON"
wait "$DAEMON"
is $? 0 "the daemon stops on SIGTERM"
DAEMON=

"$LOGAUDIT" follow --check --webhooks hooks3.conf live.log > check.out 2>&1
is "$(sed 's/catalogue [0-9a-f]*, [0-9]* patterns/catalogue C/' check.out)" \
    "options ok; catalogue C; 2 webhook targets" \
    "follow --check counts the targets, and shows no URL"
"$LOGAUDIT" follow --check --webhooks bad1.conf live.log > /dev/null 2>&1
is $? 2 "follow --check: a bad targets file is exit 2"

# ---- secrets ----------------------------------------------------------------
leaks=$(cat d*.out d*.err bad*.err perm*.err f.out f.err check.out cmdline.txt \
    a.db* b.db* 2>/dev/null | grep -a -c -e OPSSECRET -e AUDITSECRET -e DEADSECRET \
    -e ENVSECRET -e FOLLOWSECRET -e SLOWSECRET -e "$SECRET")
is "$leaks" 0 "no webhook URL or logged token in output, errors or the database"
[ -f f.out ] && [ -s cmdline.txt ]
ok $? "... the daemon's stdout and command line among them"

done_testing
