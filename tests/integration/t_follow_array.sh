#!/bin/sh
# t_follow_array.sh -- logaudit follow killed inside a JSON array.
#
# The followed file is what `gcloud logging read --format=json` writes: a
# pretty-printed array ("[", entries indented, ",\n" between them), here
# never closed, as a tail that is still running leaves it.  A writer
# appends it in random chunks (1 byte to 8 KiB) that split entries, keys
# and the separators, while the daemon is killed with SIGKILL at random
# moments, at least 20 times, and restarted; each restart resumes inside
# the array.  After the last restart the counts equal a clean ingest of
# the finished file exactly, every entry is counted, and no run met an
# entry already counted (the positions alone were exact).  CRASH_SEED=N
# repeats a run.

. "$(dirname "$0")/lib.sh"

cat > crash.py <<'PY'
import json, os, random, signal, sqlite3, subprocess, sys, threading, time
logaudit, n = sys.argv[1], int(sys.argv[2])
seed = int(os.environ.get("CRASH_SEED", "0")) or random.randrange(1, 1 << 30)
random.seed(seed)
parts = []
for i in range(n):
    e = {"insertId": "a-%d" % i,
         "logName": "projects/p/logs/run.googleapis.com%2Fstderr",
         "resource": {"type": "cloud_run_revision", "labels": {
             "project_id": "p", "location": "eu", "service_name": "api",
             "revision_name": "api-%05d-x" % (1 + i * 3 // n)}},
         "timestamp": "2025-09-16T%02d:%02d:%02d.%06dZ" % (
             i // 36000, i // 600 % 60, i // 10 % 60, i),
         "severity": ("INFO", "ERROR", "WARNING")[i % 3],
         "textPayload": ("GET /v1/orders 200", "deadlock detected in "
             "transaction %d" % i, "slow query took %d ms" % i)[i % 3],
         "labels": {"instanceId": "00f4c2%06d" % (i % 7)}}
    text = json.dumps(e, indent=2)
    parts.append(("  " + text.replace("\n", "\n  ")).encode())
data = b"[\n" + b",\n".join(parts) + b"\n"	# never closed
with open("all.json", "wb") as f:
    f.write(data)

def writer():
    per_s = len(data) / 12.0	# about 12 s
    f = open("app.json", "ab", buffering=0)
    t0, i = time.time(), 0
    while i < len(data):
        c = random.randint(1, 8192)
        f.write(data[i:i + c])
        i += c
        ahead = i / per_s - (time.time() - t0)
        if ahead > 0:
            time.sleep(ahead)
    f.close()

def start():
    return subprocess.Popen([logaudit, "follow", "-q", "--db", "c.db",
        "--poll", "100ms", "--flush", "100ms", "app.json"],
        stderr=open("c.log", "ab"))

w = threading.Thread(target=writer)
w.start()
kills, p = 0, start()
while w.is_alive() or kills < 20:
    time.sleep(random.uniform(0.05, 0.6))
    p.send_signal(signal.SIGKILL)
    p.wait()
    kills += 1
    last = time.time_ns()
    p = start()
w.join()
def value(sql):
    try:
        c = sqlite3.connect("c.db", timeout=5)
        v = c.execute(sql).fetchone()[0]
        c.close()
        return v
    except sqlite3.Error:
        return -1
def total():
    return value("SELECT coalesce(sum(entries), 0) FROM revisions")
t0 = time.time()
# all counted, and the last daemon running (its run recorded): SIGTERM
# before it set its handlers would kill it
while (total() != n or value("SELECT count(*) FROM ingest_runs WHERE "
       "started >= %d" % last) < 1) and time.time() - t0 < 30:
    time.sleep(0.1)
p.send_signal(signal.SIGTERM)
rc = p.wait()
print("kills=%d rc=%d total=%d seed=%d" % (kills, rc, total(), seed))
PY

N=8000
start=$(date +%s)
"$PYTHON3" crash.py "$LOGAUDIT" $N > crash.out
diag "$(cat crash.out), $(($(date +%s) - start)) s"
kills=$(sed -n 's/.*kills=\([0-9]*\).*/\1/p' crash.out)
[ "${kills:-0}" -ge 20 ]
ok $? "the daemon was killed at least 20 times" || diag_file crash.out
grep -q "rc=0 " crash.out
ok $? "the last daemon exits 0 on SIGTERM" || diag_file c.log
cmp -s app.json all.json
ok $? "the followed file is the whole array"
"$LOGAUDIT" ingest --db ref.db all.json 2> ref.log
is "$(summary_count ref.log counted)" $N "a clean ingest counts $N entries" ||
    diag_file ref.log
revs c.db > c.json
revs ref.db > ref.json
cmp -s c.json ref.json
ok $? "after the kills, the counts equal the clean ingest exactly" ||
    { diff c.json ref.json | head -30 | sed 's/^/# /'; diag_file c.log 40; }
is "$(rev_total c.db)" $N "$N entries counted"
is "$(db_value c.db 'SELECT sum(duplicates) FROM ingest_runs')" 0 \
    "no run met an entry already counted: the positions alone were exact"
is "$(db_value c.db 'SELECT sum(bad) FROM ingest_runs')" 0 \
    "no entry was taken for bad (no resume landed inside one)" ||
    grep -v 'resuming at' c.log | head -20 | sed 's/^/# /'
is "$(db_value c.db 'SELECT in_array FROM sources')" 1 \
    "the position left is marked inside the array"

done_testing
