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
. "$TEST_SRCDIR/integration/follow_lib.sh"

cat > crash.py <<'PY'
import json, os, random, sys
from crash_driver import entry, Pacer, crash
logaudit, n = sys.argv[1], int(sys.argv[2])
seed = int(os.environ.get("CRASH_SEED", "0")) or random.randrange(1, 1 << 30)
random.seed(seed)
parts = []
for i in range(n):
    e = entry("a", i, n, "stderr")
    e["labels"] = {"instanceId": "00f4c2%06d" % (i % 7)}
    text = json.dumps(e, indent=2)
    parts.append(("  " + text.replace("\n", "\n  ")).encode())
data = b"[\n" + b",\n".join(parts) + b"\n"	# never closed
with open("all.json", "wb") as f:
    f.write(data)

def writer():
    f = open("app.json", "ab", buffering=0)
    Pacer(len(data) / 12.0).write(f, data, 8192)	# about 12 s
    f.close()

kills, rc, total = crash(logaudit, "app.json", n, writer, (0.05, 0.6))
print("kills=%d rc=%d total=%d seed=%d" % (kills, rc, total, seed))
PY

N=8000
follow_crash . "" $N
cmp -s app.json all.json
ok $? "the followed file is the whole array"
"$LOGAUDIT" ingest --db ref.db all.json 2> ref.log
is "$(summary_count ref.log counted)" $N "a clean ingest counts $N entries" ||
    diag_file ref.log
same_revs c.db ref.db \
    "after the kills, the counts equal the clean ingest exactly" ||
    diag_file c.log 40
is "$(rev_total c.db)" $N "$N entries counted"
is "$(db_value c.db 'SELECT sum(duplicates) FROM ingest_runs')" 0 \
    "no run met an entry already counted: the positions alone were exact"
is "$(db_value c.db 'SELECT sum(bad) FROM ingest_runs')" 0 \
    "no entry was taken for bad (no resume landed inside one)" ||
    grep -v 'resuming at' c.log | head -20 | sed 's/^/# /'
is "$(db_value c.db 'SELECT in_array FROM sources')" 1 \
    "the position left is marked inside the array"

done_testing
