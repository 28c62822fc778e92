# tests/integration/follow_lib.sh -- the helpers the tests of `logaudit
# follow` share (t_follow, t_follow_inotify, t_follow_glob, t_follow_retry,
# t_follow_array).  Sourced after lib.sh, as
# "$TEST_SRCDIR/integration/follow_lib.sh": lib.sh has made $T the current
# directory, where a relative $0 no longer leads.  Plain POSIX sh.
#
# Entries:
#   follow_gen_py [KINDS]  write gen.py to the current directory ($T):
#                          gen.py PREFIX N [REVISION] [FIRST_SECOND] [SIZE]
#                          prints N NDJSON entries of service shop, ten a
#                          second from 2025-09-16T10:00:00 + FIRST_SECOND,
#                          each padded to about SIZE bytes; the messages
#                          cycle through KINDS (default all five, in this
#                          order: get deadlock cache pool shard -- INFO
#                          lines, two catalogue patterns, an INFO line
#                          with a number and an uncatalogued warning)
#   gen ARGS...            run gen.py
# The store:
#   patterns DB            every (revision, pattern, count, first, last) of
#                          DB, one a line
#   wait_total DB N [SECONDS]  until the revisions of DB hold N entries;
#                          1 when SECONDS (default 15) pass first
#   same_revs DB REF NAME  a test: `revs` of DB equals `revs` of REF (the
#                          diff as diagnostics when not)
#   same_patterns DB REF NAME  a test: the `patterns` of DB equal REF's,
#                          which are not empty; NAME gets " (N rows)"
#   same_counts DB REF NAME    a test: both of the above (the diff of the
#                          patterns when not)
# Time (inotify is checked by how soon a change is counted):
#   now_ms                 the time in milliseconds
#   mark                   a change is made now
#   within DB N SECONDS    the revisions of DB hold N entries at most
#                          SECONDS after the mark ($took: how long, in ms)
#   stays DB N SECONDS     ... and still N entries SECONDS after the mark
# The daemon:
#   stop PID               SIGTERM, and its exit status
#   follow_crash DIR PFX ARGS...  the crash test: run $T/crash.py (the
#                          test's own, see below) in DIR as
#                          `crash.py LOGAUDIT ARGS...`, its line of output
#                          in crash.out and as a diagnostic, $kills set;
#                          two tests named PFX"the daemon was killed at
#                          least 20 times" and PFX"the last daemon exits 0
#                          on SIGTERM"
# crash.py writes the followed file its own way (the writer and the
# framing differ) and leaves the rest to crash_driver.py, which
# follow_crash writes next to it:
#   entry(PREFIX, I, N, LOG)   entry I of N of service api (3 revisions),
#                              a dict; a test adds its "labels"
#   Pacer(BYTES_PER_S).write(F, DATA, CHUNK_MAX)  write DATA to F in
#                              random chunks of 1 to CHUNK_MAX bytes, paced
#                              at BYTES_PER_S since the Pacer was made
#   crash(LOGAUDIT, PATH, N, WRITER, PAUSE)  run WRITER in a thread while
#                              a daemon follows PATH into c.db (log c.log),
#                              killed with SIGKILL every
#                              random.uniform(*PAUSE) s and restarted, at
#                              least 20 times; then wait (30 s at most)
#                              for N entries and the last daemon's run,
#                              SIGTERM it; returns (kills, exit status,
#                              entries counted)

# ---- entries ---------------------------------------------------------------
follow_gen_py()
{
	printf 'KINDS = "%s"\n' "${1:-get deadlock cache pool shard}" > gen.py
	cat >> gen.py <<'PY'
import datetime, json, sys
prefix, n = sys.argv[1], int(sys.argv[2])
rev = sys.argv[3] if len(sys.argv) > 3 else "shop-00001-aaa"
sec = int(sys.argv[4]) if len(sys.argv) > 4 else 0
size = int(sys.argv[5]) if len(sys.argv) > 5 else 0
msgs = [m for k, m in [
    ("get", ("INFO", "GET /api/items 200 in %d ms")),
    ("deadlock", ("ERROR",
        "asyncpg.exceptions.DeadlockDetectedError: deadlock detected")),
    ("cache", ("INFO", "cache warm, %d keys")),
    ("pool", ("ERROR", "psycopg_pool.PoolTimeout: connection pool exhausted")),
    ("shard", ("WARNING", "Inventory sync aborted: shard %d unreachable"))]
    if k in KINDS.split()]
out = []
for i in range(n):
    sev, m = msgs[i % len(msgs)]
    if "%d" in m:
        m = m % (i % 97)
    t = sec + i // 10
    e = {"insertId": "%s-%d" % (prefix, i),
         "logName": "projects/p/logs/run.googleapis.com%2Fstderr",
         "resource": {"type": "cloud_run_revision", "labels": {
             "project_id": "p", "location": "eu", "service_name": "shop",
             "revision_name": rev}},
         "timestamp": (datetime.datetime(2025, 9, 16, 10) +
             datetime.timedelta(seconds=t, microseconds=i % 1000000)
             ).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
         "severity": sev, "textPayload": m}
    line = json.dumps(e)
    if size > len(line):
        e["labels"] = {"pad": "x" * (size - len(line) - 20)}
        line = json.dumps(e)
    out.append(line)
sys.stdout.write("\n".join(out) + "\n")
PY
}

gen() { "$PYTHON3" gen.py "$@"; }

# ---- the store -------------------------------------------------------------
patterns()
{
	"$PYTHON3" -c '
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
for row in con.execute("SELECT r.revision, p.pattern, p.count, "
        "p.first_ts, p.last_ts FROM revision_patterns p JOIN revisions r "
        "ON r.id = p.revision_id ORDER BY 1, 2"):
    print(*row)' "$1"
}

wait_total()
{
	_w=0
	while [ "$(rev_total "$1")" != "$2" ]; do
		_w=$((_w + 1))
		[ "$_w" -gt "$((${3:-15} * 10))" ] && return 1
		sleep 0.1
	done
	return 0
}

# _diff A B: the first 30 lines of their diff as diagnostics
_diff() { diff "$1" "$2" | head -30 | sed 's/^/# /'; }

same_revs()
{
	revs "$1" > "$1.revs"
	revs "$2" > "$2.revs"
	cmp -s "$1.revs" "$2.revs"
	ok $? "$3" || { _diff "$1.revs" "$2.revs"; return 1; }
}

same_patterns()
{
	patterns "$1" > "$1.pat"
	patterns "$2" > "$2.pat"
	[ -s "$2.pat" ] && cmp -s "$1.pat" "$2.pat"
	ok $? "$3 ($(wc -l < "$2.pat") rows)" ||
	    { _diff "$1.pat" "$2.pat"; return 1; }
}

same_counts()
{
	revs "$1" > "$1.revs"
	revs "$2" > "$2.revs"
	patterns "$1" > "$1.pat"
	patterns "$2" > "$2.pat"
	cmp -s "$1.revs" "$2.revs" && cmp -s "$1.pat" "$2.pat"
	ok $? "$3" || { _diff "$1.pat" "$2.pat"; return 1; }
}

# ---- time ------------------------------------------------------------------
now_ms() { "$PYTHON3" -c 'import time; print(int(time.time() * 1000))'; }

mark() { _mark=$(now_ms); }

within()
{
	while :; do
		_got=$(rev_total "$1")
		took=$(($(now_ms) - _mark))
		[ "$_got" = "$2" ] && return 0
		[ "$took" -gt $(($3 * 1000)) ] && break
		sleep 0.05
	done
	diag "$1: $_got entries after $took ms, want $2"
	return 1
}

stays()
{
	while :; do
		_got=$(rev_total "$1")
		took=$(($(now_ms) - _mark))
		[ "$_got" != "$2" ] && break
		[ "$took" -gt $(($3 * 1000)) ] && return 0
		sleep 0.1
	done
	diag "$1: $_got entries after $took ms, want $2 still"
	return 1
}

# ---- the daemon ------------------------------------------------------------
stop()
{
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}

follow_crash()
{
	_dir=$1
	_pfx=$2
	shift 2
	_crash_driver_py
	_t0=$(date +%s)
	(cd "$_dir" && "$PYTHON3" "$T/crash.py" "$LOGAUDIT" "$@") > crash.out
	diag "crash test: $(cat crash.out), $(($(date +%s) - _t0)) s"
	kills=$(sed -n 's/.*kills=\([0-9]*\).*/\1/p' crash.out)
	[ "${kills:-0}" -ge 20 ]
	ok $? "${_pfx}the daemon was killed at least 20 times" ||
	    diag_file crash.out
	grep -q "rc=0 " crash.out
	ok $? "${_pfx}the last daemon exits 0 on SIGTERM" ||
	    diag_file "$_dir/c.log"
}

_crash_driver_py()
{
	cat > "$T/crash_driver.py" <<'PY'
import random, signal, sqlite3, subprocess, threading, time

def entry(prefix, i, n, log):
    return {"insertId": "%s-%d" % (prefix, i),
            "logName": "projects/p/logs/run.googleapis.com%%2F%s" % log,
            "resource": {"type": "cloud_run_revision", "labels": {
                "project_id": "p", "location": "eu", "service_name": "api",
                "revision_name": "api-%05d-x" % (1 + i * 3 // n)}},
            "timestamp": "2025-09-16T%02d:%02d:%02d.%06dZ" % (
                i // 36000, i // 600 % 60, i // 10 % 60, i),
            "severity": ("INFO", "ERROR", "WARNING")[i % 3],
            "textPayload": ("GET /v1/orders 200", "deadlock detected in "
                "transaction %d" % i, "slow query took %d ms" % i)[i % 3]}

class Pacer:
    def __init__(self, per_s):
        self.per_s, self.t0, self.written = per_s, time.time(), 0

    def write(self, f, data, chunk_max):
        i = 0
        while i < len(data):
            c = random.randint(1, chunk_max)
            f.write(data[i:i + c])
            i += c
            self.written += c
            ahead = self.written / self.per_s - (time.time() - self.t0)
            if ahead > 0:
                time.sleep(ahead)

def crash(logaudit, path, n, writer, pause):
    def start():
        return subprocess.Popen([logaudit, "follow", "-q", "--db", "c.db",
            "--poll", "100ms", "--flush", "100ms", path],
            stderr=open("c.log", "ab"))

    w = threading.Thread(target=writer)
    w.start()
    kills, p = 0, start()
    while w.is_alive() or kills < 20:
        time.sleep(random.uniform(*pause))
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
    return kills, rc, total()
PY
}
