#!/bin/sh
# t_follow_memory.sh -- logaudit follow's memory stays flat over a long
# run.  A writer appends 2,000,000 small NDJSON entries (about 190 bytes
# each, over 3 revisions, a third of them errors no pattern knows, so
# templates are built too) to a followed file in chunks, paced over about
# 10 s, and rotates it by rename every 500,000, while the daemon's VmRSS
# (/proc/PID/status) is sampled every 100 ms with the count it has
# committed.  Checked: the final count is exact (per revision, against
# the writer's own tally), no entry was read twice or taken for bad, the
# largest RSS sampled once the daemon had counted half of the entries
# exceeds the largest before by at most 4 MiB, and no sample exceeds
# 64 MiB.  (2,000,000 rather than 1,000,000: the dedup sets grow to their
# cap, STORE_DEDUP_KEYS_MAX keys, and SQLite's page cache to its size,
# over the first 500,000 to 1,000,000, and the halves must not straddle
# that.)
#
# Like t_large.sh it runs only when LOGAUDIT_LARGE_MB is set (.ci/run
# sets it for the plain build): it writes 380 MB (at most 200 MB on the
# disk at once) and keeps a core busy for about 12 s.

. "$(dirname "$0")/lib.sh"

case "${LOGAUDIT_LARGE_MB:-}" in
''|0)	skip_all "set LOGAUDIT_LARGE_MB to run (2,000,000 entries, 200 MB of disk)" ;;
*[!0-9]*)
	bail_out "LOGAUDIT_LARGE_MB must be a number of MiB, not" \
	    "\"$LOGAUDIT_LARGE_MB\"" ;;
esac
[ -r /proc/self/status ] || skip_all "no /proc/PID/status to read VmRSS from"

N=2000000
GROWTH_MAX_KIB=4096
RSS_MAX_KIB=65536

cat > soak.py <<'PY'
import json, os, signal, sqlite3, subprocess, sys, threading, time
from follow_rss import rss, counted as committed
logaudit, n = sys.argv[1], int(sys.argv[2])
ROTATE = 500000	# entries a file: at most two on the disk
LINE = ('{"insertId":"m%d","resource":{"type":"cloud_run_revision","labels":'
        '{"revision_name":"api-%d"}},"timestamp":"2025-09-16T%02d:%02d:%02dZ",'
        '"severity":"%s","textPayload":"%s"}\n')
MSGS = [("INFO", "GET /v1/items 200"), ("ERROR", "slot %d refused"),
        ("WARNING", "slow query %d ms")]
tally = {}
done = threading.Event()

def writer():
    f = open("big.log", "ab", buffering=0)
    chunk, t0 = 20000, time.time()
    for start in range(0, n, chunk):
        if start > 0 and start % ROTATE == 0:
            # the file before is drained through the daemon's descriptor
            f.close()
            os.rename("big.log", "big.log.1")
            f = open("big.log", "ab", buffering=0)
        buf = []
        for i in range(start, min(n, start + chunk)):
            rev = 1 + i * 3 // n
            sev, m = MSGS[i % 3]
            if "%d" in m:
                m = m % (i % 5000)
            buf.append(LINE % (i, rev, 10 + i // 3600000, i // 60000 % 60,
                               i // 1000 % 60, sev, m))
            tally[rev] = tally.get(rev, 0) + 1
        f.write("".join(buf).encode())
        ahead = (start + chunk) / n * 10.0 - (time.time() - t0)
        if ahead > 0:
            time.sleep(ahead)
    f.close()
    done.set()

open("big.log", "wb").close()
p = subprocess.Popen([logaudit, "follow", "-q", "--db", "m.db",
    "--flush", "500ms", "--idle", "1s", "big.log"], stderr=open("m.log", "wb"))
time.sleep(0.5)
w = threading.Thread(target=writer)
w.start()
first, second = [], []
t0 = time.time()
while time.time() - t0 < 60:
    # halves of what the daemon counted, whatever its lag behind the writer
    counted, kib = committed("m.db"), rss(p.pid)
    (second if counted >= n // 2 else first).append(kib)
    if done.is_set() and counted == n:
        break
    time.sleep(0.1)
w.join()
p.send_signal(signal.SIGTERM)
rc = p.wait()
c = sqlite3.connect("m.db")
got = dict((int(r.split("-")[1]), e) for r, e in c.execute(
    "SELECT revision, entries FROM revisions"))
dup, bad = c.execute("SELECT sum(duplicates), sum(bad) FROM ingest_runs"
                     ).fetchone()
print("rc=%d total=%d exact=%d duplicates=%d bad=%d samples=%d+%d "
      "first_max=%d second_max=%d secs=%.1f" % (rc, sum(got.values()),
      got == tally, dup, bad, len(first), len(second), max(first),
      max(second), time.time() - t0))
PY

PYTHONPATH="$TEST_SRCDIR/integration${PYTHONPATH:+:$PYTHONPATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    "$PYTHON3" soak.py "$LOGAUDIT" $N > soak.out 2>&1
out=$(cat soak.out)
diag "$out"
val() { printf '%s\n' "$out" | sed -n "s/.* $1=\\([0-9.]*\\).*/\\1/p;s/^$1=\\([0-9.]*\\).*/\\1/p"; }
is "$(val rc)" 0 "the daemon exits 0 on SIGTERM" || diag_file m.log
is "$(val total)" $N "$N entries counted"
is "$(val exact)" 1 "per revision, exactly what was written"
is "$(val duplicates)" 0 "no entry read twice"
is "$(val bad)" 0 "no entry taken for bad"
first=$(val first_max)
second=$(val second_max)
[ -n "$first" ] && [ -n "$second" ] &&
    [ "$second" -le $((first + GROWTH_MAX_KIB)) ]
ok $? "RSS flat: second half's max ${second:-?} KiB <= first half's ${first:-?} KiB + $GROWTH_MAX_KIB"
[ -n "$second" ] && [ "$first" -le $RSS_MAX_KIB ] &&
    [ "$second" -le $RSS_MAX_KIB ]
ok $? "RSS under $((RSS_MAX_KIB / 1024)) MiB throughout"

done_testing
