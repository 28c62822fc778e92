#!/bin/sh
# t_follow.sh -- logaudit follow, the daemon: exact counts while files
# grow, rotate, shrink and crash.
#
# (a) One daemon follows a file that does not exist yet and a Cloud
#     Storage sink folder.  The file appears, grows in chunks that split
#     entries, is rotated by rename (the old file still written through an
#     open descriptor), truncated in place (copytruncate) and replaced;
#     the folder gets a new hourly shard, a late shard and a new day.
#     The final revisions equal a one-shot ingest of the same entries,
#     and no entry was read twice (duplicates 0).
# (b) A writer appends 100,000 entries in random chunks that split
#     entries, rotating the file now and then, while the daemon is killed
#     with SIGKILL at random moments (at least 20 times) and restarted;
#     after the last restart the counts equal a clean ingest exactly, and
#     the runs together met no duplicate (the positions alone were exact).
# (c) A live finding (a pattern no earlier revision showed) is in the
#     store, and listed by `findings`, within 2 seconds of its entry.
# (d) SIGHUP with a broken catalogue keeps the old one (still matching)
#     and logs why; a fixed one is then picked up (a new pattern matches).
# (e) SIGTERM exits 0 after committing what was read; SIGUSR1 logs a
#     statistics line; --check validates and exits; stdin is read to EOF.
# (f) Another process holds the database's write lock past the busy
#     timeout: the failed commit is logged, its entries are read again,
#     and once the lock is gone each is counted once.

. "$(dirname "$0")/lib.sh"
. "$TEST_SRCDIR/integration/follow_lib.sh"

follow_gen_py

# one ID REVISION SECOND MESSAGE: one ERROR entry of service shop
one()
{
	"$PYTHON3" - "$@" <<'PY'
import json, sys
i, rev, sec, msg = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
print(json.dumps({"insertId": i,
    "logName": "projects/p/logs/run.googleapis.com%2Fstderr",
    "resource": {"type": "cloud_run_revision", "labels": {
        "project_id": "p", "location": "eu", "service_name": "shop",
        "revision_name": rev}},
    "timestamp": "2025-09-16T12:%02d:%02dZ" % (sec // 60, sec % 60),
    "severity": "ERROR", "textPayload": msg}))
PY
}

# chunks.py FILE: append stdin to FILE in random pieces that split lines
cat > chunks.py <<'PY'
import random, sys, time
data = sys.stdin.buffer.read()
random.seed(len(data))
with open(sys.argv[1], "ab", buffering=0) as f:
    i = 0
    while i < len(data):
        k = random.randint(1, 700)
        f.write(data[i:i + k])
        i += k
        if random.random() < 0.05:
            time.sleep(0.01)
PY
append() { "$PYTHON3" chunks.py "$1"; }

# ---- (a) a file and a sink folder ----------------------------------------
mkdir -p sink/run.googleapis.com/stderr/2025/09/16
shard=sink/run.googleapis.com/stderr/2025/09/16
gen g 120 shop-00001-aaa 0 > all.ndjson
cp all.ndjson "$shard/10:00:00_10:59:59_S0.json"
"$LOGAUDIT" follow --db a.db --poll 200ms --flush 200ms --idle 1s \
    app.log sink 2> a.log &
pid=$!
wait_total a.db 120
ok $? "sink: the first shard is counted" || diag_file a.log

gen A 100 shop-00001-aaa 100 > A.ndjson
cat A.ndjson >> all.ndjson
append app.log < A.ndjson
wait_total a.db 220
ok $? "a file that appears later is read" || diag_file a.log

gen B 300 shop-00002-bbb 200 > B.ndjson
cat B.ndjson >> all.ndjson
append app.log < B.ndjson
wait_total a.db 520
ok $? "appended in chunks that split entries: all counted" || diag_file a.log

# rotation by rename; the writer still holds the old file open
gen C 50 shop-00002-bbb 300 > C.ndjson
gen D 50 shop-00002-bbb 310 > D.ndjson
cat C.ndjson D.ndjson >> all.ndjson
exec 3>>app.log
mv app.log app.log.1
cat C.ndjson >&3
append app.log < D.ndjson
exec 3>&-
wait_total a.db 620
ok $? "rotated by rename: the old file drained, the new one read" ||
    diag_file a.log

# copytruncate: copy, then truncate in place, then new entries
wait_total a.db 620
cp app.log app.log.2
: > app.log
sleep 0.5
gen E 30 shop-00002-bbb 400 > E.ndjson
cat E.ndjson >> all.ndjson
append app.log < E.ndjson
wait_total a.db 650
ok $? "truncated in place: read again from the start" || diag_file a.log

# replaced: a new file renamed over the path
gen F 40 shop-00003-ccc 500 > F.ndjson
cat F.ndjson >> all.ndjson
cp F.ndjson app.log.new
mv app.log.new app.log
wait_total a.db 690
ok $? "replaced by another file: the new one read" || diag_file a.log

# the sink: a new hourly shard, a late one, a new day folder
gen H 80 shop-00003-ccc 3600 > H.ndjson
gen L 20 shop-00003-ccc 3000 > L.ndjson
gen I 60 shop-00003-ccc 50400 > I.ndjson
cat H.ndjson L.ndjson I.ndjson >> all.ndjson
cp H.ndjson "$shard/11:00:00_11:59:59_S0.json"
cp L.ndjson "$shard/10:00:00_10:59:59_A0:1758020400.json"
mkdir -p sink/run.googleapis.com/stderr/2025/09/17
cp I.ndjson sink/run.googleapis.com/stderr/2025/09/17/00:00:00_00:59:59_S0.json
wait_total a.db 850
ok $? "sink: a new hourly shard, a late shard and a new day folder" ||
    diag_file a.log

# Rotated-away files are forgotten after --idle; on a loaded machine that
# can take a few polls longer than the steps above: give it up to 10 s.
n=0
while [ $n -lt 50 ] && [ "$(db_value a.db 'SELECT count(*) FROM sources WHERE path = "app.log"')" != 1 ]; do
	sleep 0.2
	n=$((n + 1))
done
stop $pid
is $? 0 "SIGTERM: exit 0"
"$LOGAUDIT" ingest -q --db ref.db all.ndjson
same_revs a.db ref.db \
    "(a) follow's revisions equal a one-shot ingest of the same entries"
is "$(db_value a.db 'SELECT sum(duplicates) FROM ingest_runs')" 0 \
    "(a) no entry was read twice" || diag_file a.log
is "$(db_value a.db 'SELECT count(*) FROM sources WHERE path = "app.log"')" 1 \
    "(a) one position left for app.log (the rotated file's forgotten)" ||
    db_value a.db 'SELECT path, offset FROM sources'

# ---- (b) SIGKILL at random moments while a writer appends ----------------
cat > crash.py <<'PY'
import json, os, random, sys
from crash_driver import entry, Pacer, crash
logaudit, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(int(os.environ.get("CRASH_SEED", "0")) or None)
lines = []
for i in range(n):
    e = entry("c", i, n, "stdout")
    line = json.dumps(e)
    e["labels"] = {"pad": "y" * max(0, size - len(line) - 20)}
    lines.append((json.dumps(e) + "\n").encode())
rotate_every = n // 4 + 1
files = []

def writer():
    data_per_s = sum(len(l) for l in lines) / 18.0	# about 18 s
    path, k = "app.log", 0
    f = open(path, "ab", buffering=0)
    files.append(path)
    pace = Pacer(data_per_s)
    for start in range(0, n, rotate_every):
        pace.write(f, b"".join(lines[start:start + rotate_every]), 16384)
        if start + rotate_every < n:	# rotate between entries
            f.close()
            k += 1
            os.rename(path, "app.log.%d" % k)
            files[-1] = "app.log.%d" % k
            f = open(path, "ab", buffering=0)
            files.append(path)
    f.close()

kills, rc, total = crash(logaudit, "app.log", n, writer, (0.1, 0.9))
with open("c.files", "w") as f:
    f.write("\n".join(sorted(files, key=lambda s: (s == "app.log", s))) + "\n")
print("kills=%d rc=%d total=%d" % (kills, rc, total))
PY
mkdir b
follow_crash b "(b) " 100000 600
(cd b && cat $(cat c.files)) > c.all
"$LOGAUDIT" ingest -q --db cref.db c.all
same_revs b/c.db cref.db \
    "(b) after the kills, the counts equal a clean ingest exactly" ||
    diag_file b/c.log
is "$(rev_total b/c.db)" 100000 "(b) 100000 entries counted"
is "$(db_value b/c.db 'SELECT sum(duplicates) FROM ingest_runs')" 0 \
    "(b) no run met an entry already counted: positions alone were exact"
is "$(db_value b/c.db "SELECT count(*) FROM ingest_runs WHERE status =
    'running'")" 0 "(b) no killed daemon's run is left 'running'"
died=$(db_value b/c.db "SELECT count(*) FROM ingest_runs WHERE status =
    'interrupted' AND message LIKE '%killed or crashed%'")
[ "${died:-0}" -ge 1 ] && [ "$died" -le "${kills:-0}" ]
ok $? "(b) the killed daemons' runs are closed by their successors ($died)"


# ---- (c) a live finding within 2 seconds ----------------------------------
mkdir c
redis="redis.exceptions.ConnectionError: Error 111 connecting to localhost:6379. Connection refused."
{ gen r1 50 shop-00001-aaa 0; one r1-redis shop-00001-aaa 59 "$redis"; } > c/r1.ndjson
gen r2 50 shop-00002-bbb 100 > c/r2.ndjson
"$LOGAUDIT" ingest -q --db c/f.db c/r1.ndjson c/r2.ndjson
gen r3 50 shop-00003-ccc 200 > c/live.log
"$LOGAUDIT" follow --db c/f.db --poll 200ms c/live.log 2> c/f.log &
pid=$!
wait_total c/f.db 151
ok $? "(c) the daemon counts revision 00003's first entries" ||
    diag_file c/f.log
"$LOGAUDIT" findings --db c/f.db --format json > c/none.json
"$PYTHON3" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d != {"schema_version": 1, "findings": []})' c/none.json
ok $? "(c) patterns every revision showed: no finding" || diag_file c/none.json
{ one r3-redis shop-00003-ccc 290 "$redis"
  one r3-new shop-00003-ccc 291 "OSError: [Errno 24] Too many open files: '/tmp/upload-17'"; } >> c/live.log
t0=$("$PYTHON3" -c 'import time; print(time.time())')
n=0
until "$LOGAUDIT" findings --db c/f.db --format json 2>/dev/null |
    grep -q '"returning"'; do
	n=$((n + 1))
	[ "$n" -gt 60 ] && break
	sleep 0.05
done
elapsed=$("$PYTHON3" -c 'import sys, time; print("%.2f" % (time.time() - float(sys.argv[1])))' "$t0")
diag "live finding in the store after $elapsed s"
"$PYTHON3" -c 'import sys; sys.exit(float(sys.argv[1]) >= 2.0)' "$elapsed"
ok $? "(c) a finding is in the store within 2 s of its entry ($elapsed s)" ||
    diag_file c/f.log
# the template's finding may land in the next commit: wait for both
until_ok 10 sh -c '"$1" findings --db c/f.db --format json |
    grep -c "\"class\"" | grep -qx 2' sh "$LOGAUDIT"
"$LOGAUDIT" ack --db c/f.db --service shop --revision shop-00003-ccc \
    connection-error > /dev/null 2>&1
"$LOGAUDIT" findings --db c/f.db --format json > c/f.json
"$PYTHON3" - c/f.json > c/facts.txt <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
keys = ["time", "project", "location", "service", "revision", "pattern",
        "kind", "class", "count", "sample", "acknowledged"]
for f in d["findings"]:
    print(f["revision"], f["pattern"][:4] if f["kind"] == "template" else
          f["pattern"], f["kind"], f["class"], f["count"],
          f["acknowledged"], all(k in f for k in keys),
          f["insert_id"], f["sample"][:20])
PY
sort c/facts.txt > c/facts.sorted
printf '%s\n' \
    "shop-00003-ccc connection-error catalogue returning 1 True True r3-redis redis.exceptions.Con" \
    "shop-00003-ccc tpl- template new 1 False True r3-new OSError: [Errno 24] " > c/want.txt
cmp -s c/facts.sorted c/want.txt
ok $? "(c) findings: the returning pattern (acknowledged) and the new template" ||
    { diag_file c/facts.sorted; diag_file c/f.json 40; }
grep -q "finding: returning catalogue connection-error in shop revision shop-00003-ccc" c/f.log
ok $? "(c) the finding is logged in one line" || diag_file c/f.log
"$LOGAUDIT" findings --db c/f.db > c/f.txt
grep -q "returning (ack)" c/f.txt && grep -q "^TIME" c/f.txt
ok $? "(c) findings as text" || diag_file c/f.txt
"$LOGAUDIT" findings --db c/f.db --since 2020-01-01T00:00:00Z --format json |
    grep -c '"class"' > c/since.txt
is "$(cat c/since.txt)" 2 "(c) --since in the past: both findings"
"$LOGAUDIT" findings --db c/f.db --since 2099-01-01T00:00:00Z > c/since2.txt
is "$(cat c/since2.txt)" "no findings" "(c) --since in the future: none"
stop $pid
is $? 0 "(c) SIGTERM: exit 0"
# a restart looks again: no second finding, no second line
"$LOGAUDIT" follow --db c/f.db --poll 200ms c/live.log 2> c/f2.log &
pid=$!
sleep 0.5
one r3-redis2 shop-00003-ccc 292 "$redis" >> c/live.log
wait_total c/f.db 154
stop $pid
is "$(db_value c/f.db 'SELECT count(*) FROM findings')" 2 \
    "(c) after a restart: still one finding per revision and pattern"
grep -q "finding:" c/f2.log
is $? 1 "(c) ... and no second log line"

# ---- (d) SIGHUP: a broken catalogue keeps the old one ---------------------
mkdir d
cp -R "$LOGAUDIT_PATTERNS" d/pat
: > d/live.log
"$LOGAUDIT" follow --db d/f.db --poll 200ms --patterns d/pat d/live.log \
    2> d/f.log &
pid=$!
sleep 0.5
one d1 shop-00005-eee 10 "frobnicator exploded in stage 3" >> d/live.log
wait_total d/f.db 1
printf '[zz-frob]\ntitle = Frobnicator\ncategory = app\nlevel = error\nregex = frobnicator (exploded\n' > d/pat/zz.conf
kill -HUP $pid
sleep 0.5
grep -q "catalogue not reloaded: keeping" d/f.log &&
    grep -q "zz.conf" d/f.log
ok $? "(d) SIGHUP with a broken catalogue: kept, and the log says why" ||
    diag_file d/f.log
one d2 shop-00005-eee 11 "asyncpg.exceptions.DeadlockDetectedError: deadlock detected" >> d/live.log
wait_total d/f.db 2
is "$(db_value d/f.db "SELECT count FROM revision_patterns WHERE pattern = 'db-transaction'")" 1 \
    "(d) the old catalogue still matches"
printf '[zz-frob]\ntitle = Frobnicator\ncategory = app\nlevel = error\nregex = frobnicator exploded\nexample = frobnicator exploded in stage 1\ncounter = frobnicator fine\n' > d/pat/zz.conf
kill -HUP $pid
sleep 0.5
grep -q "catalogue reloaded" d/f.log
ok $? "(d) SIGHUP with a fixed catalogue: reloaded" || diag_file d/f.log
one d3 shop-00005-eee 12 "frobnicator exploded in stage 4" >> d/live.log
wait_total d/f.db 3
is "$(db_value d/f.db "SELECT count FROM revision_patterns WHERE pattern = 'zz-frob'")" 1 \
    "(d) the new pattern matches"
is "$(db_value d/f.db "SELECT count(*) FROM catalogue_versions")" 2 \
    "(d) the store records both catalogue versions"
kill -USR1 $pid
sleep 0.3
grep -q "stats: 3 entries" d/f.log
ok $? "(d) SIGUSR1: a statistics line" || diag_file d/f.log
stop $pid
is $? 0 "(d) SIGTERM: exit 0"

# ---- (e) SIGTERM commits; --check; stdin ----------------------------------
mkdir e
gen e 500 shop-00006-fff 0 > e/in.ndjson
"$LOGAUDIT" follow --db e/f.db --flush 1h e/live.log 2> e/f.log &
pid=$!
sleep 0.3
cat e/in.ndjson > e/live.log
sleep 1.5
is "$(rev_total e/f.db)" 0 "(e) --flush 1h: nothing committed yet"
stop $pid
is $? 0 "(e) SIGTERM: exit 0"
is "$(rev_total e/f.db)" 500 "(e) SIGTERM committed every entry read"
"$LOGAUDIT" follow --check --db e/f.db e/live.log > e/check.out 2>&1
is $? 0 "(e) --check: exit 0"
grep -q "options ok; catalogue" e/check.out
ok $? "(e) --check says what it checked" || diag_file e/check.out
"$LOGAUDIT" follow --check --patterns d/nonexistent e/live.log > /dev/null 2>&1
is $? 2 "(e) --check with a missing catalogue: exit 2"
"$LOGAUDIT" follow --check --poll 0 e/live.log > /dev/null 2>&1
is $? 2 "(e) --check with a bad duration: exit 2"
"$LOGAUDIT" follow > /dev/null 2>&1
is $? 2 "(e) no path: exit 2"
gen s 200 shop-00007-ggg 0 | "$LOGAUDIT" follow -q --db e/s.db - 2> e/s.log
is $? 0 "(e) stdin: exit 0 at its end"
is "$(rev_total e/s.db)" 200 "(e) stdin: every entry counted"
gen s 200 shop-00007-ggg 0 | "$LOGAUDIT" follow -q --db e/s.db - 2> e/s.log
is "$(rev_total e/s.db)" 200 "(e) stdin again: the dedup keeps counts exact"


# ---- (f) a commit that fails: the entries are read again ------------------
mkdir f
"$LOGAUDIT" follow --db f/f.db --poll 200ms --flush 200ms f/live.log \
    2> f/f.log &
pid=$!
gen f1 100 shop-00008-hhh 0 > f/live.log
wait_total f/f.db 100
# another process holds the write lock past the 5 s busy timeout
"$PYTHON3" -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(6.5)
c.execute("COMMIT")' f/f.db f/locked &
locker=$!
while [ ! -f f/locked ]; do sleep 0.05; done
gen f2 300 shop-00008-hhh 100 | append f/live.log
wait $locker
wait_total f/f.db 400 20
ok $? "(f) after the lock is gone, every entry is counted" || diag_file f/f.log
grep -q "reading the uncommitted entries again" f/f.log &&
    grep -q "takes commits again" f/f.log
ok $? "(f) the failed commit and the recovery are logged" || diag_file f/f.log
stop $pid
is "$(db_value f/f.db 'SELECT sum(duplicates) FROM ingest_runs')" 0 \
    "(f) the entries read again were counted once"

# ---- (g) files deleted from a followed folder while the daemon is down ----
mkdir -p g/dir/sub
gen ga 10 shop-00009-iii 0 > g/dir/a.json
gen gb 10 shop-00009-iii 20 > g/dir/sub/b.json
gen gc 10 shop-00009-iii 40 > g/dir/c.json
"$LOGAUDIT" follow --db g/f.db --poll 200ms --flush 200ms g/dir 2> g/f.log &
pid=$!
wait_total g/f.db 30
stop $pid
is "$(db_value g/f.db 'SELECT count(*) FROM sources')" 3 \
    "(g) three files, three positions"
rm g/dir/a.json
mv g/dir/c.json g/dir/sub/c2.json
"$LOGAUDIT" -v follow --db g/f.db --poll 200ms --flush 200ms g/dir \
    2> g/f2.log &
pid=$!
until_ok 10 grep -q "following 1 path" g/f2.log
sleep 1
stop $pid
is "$(db_value g/f.db 'SELECT count(*) FROM sources')" 2 \
    "(g) the deleted file's position is forgotten at the restart" ||
    diag_file g/f2.log
grep -q "g/dir: forgetting 1 file deleted while stopped" g/f2.log
ok $? "(g) ... and said so"
is "$(rev_total g/f.db)/$(db_value g/f.db 'SELECT sum(duplicates) FROM
    ingest_runs')" "30/0" \
    "(g) the file renamed meanwhile keeps its position: nothing read twice"

done_testing
