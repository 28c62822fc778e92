#!/bin/sh
# bench/follow-soak.sh: what `make bench` runs for the daemon.  A writer
# fills a Cloud Storage sink-shaped folder (a new shard every few seconds,
# a new day folder every 20 shards) and a log file rotated by rename, as
# at BENCH_SOAK_RATE entries a second, for BENCH_SOAK_SEC seconds, while `logaudit follow`
# reads both.  Every 5 s it prints the daemon's resident set size and the
# entries committed so far; at the end it checks that the counts are
# exact (every entry written counted once) and that memory stayed flat:
# the largest RSS of the second half of the run may exceed the largest of
# the first half by at most BENCH_SOAK_GROWTH_KIB (default 4096).
#
# Run from the build directory (it uses ./logaudit, and the source tree's
# tests/integration/follow_rss.py, shared with t_follow_memory.sh).
# Environment:
#   BENCH_SOAK_SEC          seconds of writing (default 60)
#   BENCH_SOAK_RATE         entries written per second (default 20000)
#   BENCH_SOAK_GROWTH_KIB   allowed RSS growth, second half over first
#   BENCH_SOAK_FOLLOW_OPTS  more options for follow, e.g. --no-inotify
#                           to measure polling against inotify
#   BENCH_DIR               where the run's files go (./bench-data)
#   LOGAUDIT_PATTERNS       catalogue (default: the source tree's patterns/)
# Exit status: 0, or 1 when the counts are wrong, memory grew, or a tool
# is missing.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(dirname "$here")
BENCH_SOAK_SEC=${BENCH_SOAK_SEC:-60}
BENCH_SOAK_RATE=${BENCH_SOAK_RATE:-20000}
BENCH_SOAK_GROWTH_KIB=${BENCH_SOAK_GROWTH_KIB:-4096}
BENCH_SOAK_FOLLOW_OPTS=${BENCH_SOAK_FOLLOW_OPTS:-}
BENCH_DIR=${BENCH_DIR:-./bench-data}
LOGAUDIT_PATTERNS=${LOGAUDIT_PATTERNS:-$top_srcdir/patterns}
PYTHON3=${PYTHON3:-python3}
export LOGAUDIT_PATTERNS
unset LOGAUDIT_DB || true

[ -x ./logaudit ] || { echo "bench: no ./logaudit here: run make" >&2; exit 1; }
command -v "$PYTHON3" >/dev/null 2>&1 ||
	{ echo "bench: python3 not found" >&2; exit 1; }
[ -r "$top_srcdir/tests/integration/follow_rss.py" ] ||
	{ echo "bench: no $top_srcdir/tests/integration/follow_rss.py" >&2; exit 1; }
mkdir -p "$BENCH_DIR"
work=$(mktemp -d "$BENCH_DIR/soak.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

PYTHONPATH="$top_srcdir/tests/integration${PYTHONPATH:+:$PYTHONPATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    "$PYTHON3" - "$(pwd)/logaudit" "$work" "$BENCH_SOAK_SEC" \
    "$BENCH_SOAK_GROWTH_KIB" "$BENCH_SOAK_RATE" $BENCH_SOAK_FOLLOW_OPTS <<'PY'
import os, signal, subprocess, sys, threading, time
from follow_rss import rss, counted

logaudit, work, seconds, growth, rate = sys.argv[1], sys.argv[2], \
    float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
extra = sys.argv[6:]
os.chdir(work)
os.makedirs("sink")
T0 = 1758016800  # 2025-09-16T10:00:00Z
line = ('{"insertId":"%s-%d","logName":"projects/p/logs/'
        'run.googleapis.com%%2F%s","resource":{"type":"cloud_run_revision",'
        '"labels":{"project_id":"p","location":"eu","service_name":"svc%d",'
        '"revision_name":"svc%d-%05d-x"}},"timestamp":"%s.%06dZ",'
        '"severity":"%s","textPayload":"%s"}\n')
msgs = [("INFO", "stdout", "GET /api/v1/items/%d 200 12ms"),
        ("ERROR", "stderr", "psycopg_pool.PoolTimeout: connection pool "
         "exhausted after %d s"),
        ("WARNING", "stderr", "worker %d took long to answer"),
        ("INFO", "stdout", "cache refreshed with %d keys"),
        ("ERROR", "stderr", "Upstream fetch of shard %d failed: timeout")]
written = [0]
stop = threading.Event()

def stamp(i):
    t = T0 + i // 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)), i % 1000 * 1000

def chunk(tag, start, n):
    out = []
    for i in range(start, start + n):
        sev, log, m = msgs[i % len(msgs)]
        s, us = stamp(i)
        svc = i % 3
        out.append(line % (tag, i, log, svc, svc, 1 + i // 200000, s, us,
                           sev, m % (i % 1000)))
    return "".join(out).encode()

def writer():
    i, shard, day = 0, 0, 0
    f = open("app.log", "ab")
    rotations = 0
    t0 = time.time()
    while not stop.is_set():
        ahead = written[0] / rate - (time.time() - t0)
        if ahead > 0:
            time.sleep(ahead)
        # the file: 5000 entries, rotated every 200000
        f.write(chunk("f", i, 5000))
        f.flush()
        i += 5000
        if i % 200000 == 0:
            f.close()
            rotations += 1
            os.rename("app.log", "app.log.%d" % rotations)
            f = open("app.log", "ab")
        # the sink: a shard of 5000 entries every 4 rounds
        if i % 20000 == 0:
            d = "sink/run.googleapis.com/stdout/2025/09/%02d" % (16 + day)
            os.makedirs(d, exist_ok=True)
            tmp = "sink/.%d.tmp" % shard
            with open(tmp, "wb") as g:
                g.write(chunk("s", i, 5000))
            os.rename(tmp, "%s/%02d:00:00_%02d:59:59_S%d.json" % (
                d, shard % 24, shard % 24, shard // 24))
            written[0] += 5000
            shard += 1
            if shard % 20 == 0:
                day += 1
        written[0] += 5000
    f.close()

p = subprocess.Popen([logaudit, "follow", "-q", "--db", "soak.db",
                      "--idle", "5s"] + extra + ["app.log", "sink"],
                     stderr=open("follow.log", "w"))
w = threading.Thread(target=writer)
t0 = time.time()
w.start()
samples = []
print("%6s %10s %12s %12s" % ("t_s", "rss_kib", "written", "counted"))
while time.time() - t0 < seconds:
    time.sleep(5)
    samples.append((time.time() - t0, rss(p.pid)))
    print("%6.0f %10d %12d %12d" % (samples[-1][0], samples[-1][1],
          written[0], counted("soak.db", 10)), flush=True)
stop.set()
w.join()
t1 = time.time()
while counted("soak.db", 10) != written[0] and time.time() - t1 < 120:
    time.sleep(0.5)
final = counted("soak.db", 10)
with open("/proc/%d/stat" % p.pid) as s:
    f = s.read().rsplit(")", 1)[1].split()
cpu = (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
p.send_signal(signal.SIGTERM)
rc = p.wait()
half = len(samples) // 2
first = max(s[1] for s in samples[:half]) if half else 0
second = max(s[1] for s in samples[half:]) if samples else 0
print("written %d, counted %d, daemon exit %d; RSS max first half %d KiB, "
      "second half %d KiB; %.0f entries/s; daemon CPU %.2f s%s" % (
      written[0], final, rc, first, second, final / max(t1 - t0, 1), cpu,
      " (" + " ".join(extra) + ")" if extra else ""))
bad = []
if final != written[0]:
    bad.append("counts differ")
if rc != 0:
    bad.append("exit status %d" % rc)
if half and second - first > growth:
    bad.append("RSS grew by %d KiB" % (second - first))
if bad:
    print("soak: FAILED: " + ", ".join(bad))
    sys.stdout.write(open("follow.log").read()[-2000:])
    sys.exit(1)
print("soak: ok")
PY
