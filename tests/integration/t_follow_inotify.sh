#!/bin/sh
# t_follow_inotify.sh -- logaudit follow sees changes through inotify, and
# polls when told not to use it.
#
# Every daemon here but one runs with --poll 60s, so what it finds within
# 2 seconds it can only have found through an event (a poll would come a
# minute later; open files are read every 100 ms whatever --poll says, so
# the changes that prove something are the ones only a check of the paths
# can find: a new file, a rotation, a new folder, a closed file grown).
#
# (a) One daemon follows a file and a Cloud Storage sink folder
#     (LOGID/YYYY/MM/DD/HH:00:00_HH:59:59_S0.json).  Within 2 s each:
#     entries appended to the file; a new hourly file in the day folder; a
#     rotation by rename (the new file at the path found; then the old
#     one, idle for longer than --idle, written through a descriptor held
#     open, still drained); a new day folder and a new month folder with
#     their files; a shard closed after --idle that grows again.  All of
#     it before the first 60 s poll.
# (b) The same with --no-inotify --poll 60s: the start-up line says it
#     polls, and a new file in the folder is still not counted after 2 s,
#     while an append to an open file is (the daemon is alive).  With
#     --no-inotify --poll 200ms the new file is counted: polling still
#     works.
# (c) A daemon following only the sink root: a new day folder created
#     after start is counted within 2 s.
# (d) The final counts of (a) and (c) equal a one-shot `logaudit ingest`
#     of the same entries (per revision and per pattern), and no entry was
#     read twice.
# (e) 600 files appear at once in a followed folder, more than the 256
#     descriptors the daemon holds at a time: all are counted within 3 s
#     with --poll 60s (the files waiting for a descriptor do not wait for
#     the next full check).

. "$(dirname "$0")/lib.sh"
. "$TEST_SRCDIR/integration/follow_lib.sh"

follow_gen_py

# is_open PID NAME: does the process hold a file whose path ends in NAME?
is_open() { ls -l "/proc/$1/fd" 2>/dev/null | grep -qF "/$2"; }

[ -d /proc/self/fd ] || skip_all "no /proc: inotify is Linux's"

# ---- (a) inotify: a file and a sink folder, --poll 60s --------------------
day=sink/run.googleapis.com/stderr/2025/09/16
mkdir -p "$day"
gen a0 50 shop-00001-aaa 0 > app.log
gen s0 40 shop-00001-aaa 100 > "$day/10:00:00_10:59:59_S0.json"
cat app.log "$day/10:00:00_10:59:59_S0.json" > all.ndjson
start=$(now_ms)
"$LOGAUDIT" follow --db i.db --poll 60s --flush 100ms --idle 1s \
    app.log sink 2> i.log &
pid=$!
wait_total i.db 90
ok $? "(a) what was there at start is counted" || diag_file i.log
grep -q "following 2 paths (inotify) into i.db" i.log
ok $? "(a) the start-up line says inotify" || diag_file i.log

gen a1 30 shop-00001-aaa 200 > a1.ndjson
cat a1.ndjson >> all.ndjson
mark
cat a1.ndjson >> app.log
within i.db 120 2
ok $? "(a) appended to the file: counted in $took ms" || diag_file i.log
appended=$(now_ms)

gen s1 25 shop-00001-aaa 3600 > s1.ndjson
cat s1.ndjson >> all.ndjson
mark
cp s1.ndjson "$day/11:00:00_11:59:59_S0.json"
within i.db 145 2
ok $? "(a) a new file in the followed folder: counted in $took ms" ||
    diag_file i.log

# rotation by rename; the writer still holds the old file open, and
# writes to it once the daemon has seen the rotation.  The old file has
# been idle for longer than --idle by then: it must be drained still.
gen r1 20 shop-00002-bbb 300 > r1.ndjson
gen r2 35 shop-00002-bbb 310 > r2.ndjson
cat r1.ndjson r2.ndjson >> all.ndjson
while [ $(($(now_ms) - appended)) -lt 1200 ]; do
	sleep 0.1
done
exec 3>>app.log
mark
mv app.log app.log.1
cat r2.ndjson > app.log
within i.db 180 2
ok $? "(a) rotated by rename: the new file found in $took ms" ||
    diag_file i.log
mark
cat r1.ndjson >&3
exec 3>&-
within i.db 200 2
ok $? "(a) ... the old one, written after that, drained in $took ms" ||
    diag_file i.log

gen d1 15 shop-00002-bbb 50400 > d1.ndjson
gen m1 12 shop-00002-bbb 90000 > m1.ndjson
cat d1.ndjson m1.ndjson >> all.ndjson
mark
mkdir sink/run.googleapis.com/stderr/2025/09/17
cp d1.ndjson sink/run.googleapis.com/stderr/2025/09/17/00:00:00_00:59:59_S0.json
mkdir -p sink/run.googleapis.com/stderr/2025/10/01
cp m1.ndjson sink/run.googleapis.com/stderr/2025/10/01/02:00:00_02:59:59_S0.json
within i.db 227 2
ok $? "(a) a new day folder and a new month folder: counted in $took ms" ||
    diag_file i.log

# --idle 1s: the first shard closes (a 60 s poll would not close it in
# time), then grows: only an event can have it opened again
shard=10:00:00_10:59:59_S0.json
is_open $pid app.log
ok $? "(a) /proc shows the files open (app.log, named, stays open)"
n=0
while is_open $pid "$shard" && [ $n -lt 50 ]; do
	sleep 0.1
	n=$((n + 1))
done
is_open $pid "$shard"
is $? 1 "(a) a shard idle for --idle 1s is closed (after $((n * 100)) ms)"
gen g1 10 shop-00002-bbb 7200 > g1.ndjson
cat g1.ndjson >> all.ndjson
mark
cat g1.ndjson >> "$day/$shard"
within i.db 237 2
ok $? "(a) the closed shard grows: opened again and read in $took ms" ||
    diag_file i.log
elapsed=$(($(now_ms) - start))
[ "$elapsed" -lt 55000 ]
ok $? "(a) all of it before the first 60 s poll ($elapsed ms)"

# ---- (b) --no-inotify: the same changes wait for the poll -----------------
mkdir -p nsink/2025/09/16
gen n0 40 shop-00003-ccc 0 > nsink/2025/09/16/10:00:00_10:59:59_S0.json
"$LOGAUDIT" follow --db n.db --no-inotify --poll 60s --flush 100ms \
    nsink 2> n.log &
npid=$!
wait_total n.db 40
ok $? "(b) --no-inotify: what was there at start is counted" ||
    diag_file n.log
grep -q "following 1 path (polling every 60s) into n.db" n.log
ok $? "(b) the start-up line says it polls" || diag_file n.log
gen n1 20 shop-00003-ccc 3600 > n1.ndjson
gen n2 7 shop-00003-ccc 100 > n2.ndjson
mark
cp n1.ndjson nsink/2025/09/16/11:00:00_11:59:59_S0.json
cat n2.ndjson >> nsink/2025/09/16/10:00:00_10:59:59_S0.json
within n.db 47 2
ok $? "(b) the append to an open file is counted ($took ms): it runs" ||
    diag_file n.log
stays n.db 47 2
ok $? "(b) the new file in the folder is not counted 2 s later" ||
    diag_file n.log
stop $npid
is $? 0 "(b) SIGTERM: exit 0"
"$LOGAUDIT" follow --db p.db --no-inotify --poll 200ms --flush 100ms \
    nsink 2> p.log &
ppid=$!
wait_total p.db 67
ok $? "(b) --no-inotify --poll 200ms: counted at start" || diag_file p.log
gen p1 9 shop-00003-ccc 7200 > p1.ndjson
mark
cp p1.ndjson nsink/2025/09/16/12:00:00_12:59:59_S0.json
within p.db 76 2
ok $? "(b) ... and a new file is found by polling, in $took ms" ||
    diag_file p.log
stop $ppid

# ---- (c) a sink root only: a new day folder --------------------------------
mkdir -p log1/2025/09/16
gen c0 30 shop-00004-ddd 0 > log1/2025/09/16/10:00:00_10:59:59_S0.json
cp log1/2025/09/16/10:00:00_10:59:59_S0.json c.ndjson
"$LOGAUDIT" follow --db c.db --poll 60s --flush 100ms log1 2> c.log &
cpid=$!
wait_total c.db 30
ok $? "(c) the sink root: counted at start" || diag_file c.log
gen c1 45 shop-00004-ddd 86400 > c1.ndjson
cat c1.ndjson >> c.ndjson
mark
mkdir log1/2025/09/17
cp c1.ndjson log1/2025/09/17/00:00:00_00:59:59_S0.json
within c.db 75 2
ok $? "(c) a new day folder after start: counted in $took ms" ||
    diag_file c.log

# ---- (d) the counts equal a one-shot ingest -------------------------------
stop $pid
is $? 0 "(a) SIGTERM: exit 0"
stop $cpid
is $? 0 "(c) SIGTERM: exit 0"
"$LOGAUDIT" ingest -q --db ref.db all.ndjson
"$LOGAUDIT" ingest -q --db cref.db c.ndjson
is "$(rev_total i.db)" "$(rev_total ref.db)" "(d) (a) entries: as ingest"
same_revs i.db ref.db \
    "(d) (a) revisions equal a one-shot ingest of the same entries"
same_patterns i.db ref.db "(d) (a) per-pattern counts equal ingest's"
same_counts c.db cref.db \
    "(d) (c) revisions and per-pattern counts equal ingest's"
is "$(db_value i.db 'SELECT sum(duplicates) FROM ingest_runs')" 0 \
    "(d) (a) no entry was read twice"
is "$(db_value c.db 'SELECT sum(duplicates) FROM ingest_runs')" 0 \
    "(d) (c) no entry was read twice"

# ---- (e) more new files at once than descriptors -------------------------
mkdir -p many
"$LOGAUDIT" follow --db e.db --poll 60s --flush 100ms many 2> e.log &
epid=$!
n=0
until grep -q "following 1 path (inotify)" e.log || [ $n -gt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
gen e 600 shop-00005-eee 0 > e.ndjson
mark
"$PYTHON3" - e.ndjson <<'PY'
import os, sys
for i, line in enumerate(open(sys.argv[1])):
    d = "many/%02d" % (i // 100)
    os.makedirs(d, exist_ok=True)
    with open(d + "/.tmp", "w") as f:
        f.write(line)
    os.rename(d + "/.tmp", "%s/%03d.json" % (d, i))
PY
within e.db 600 3
ok $? "(e) 600 new files, one entry each: all counted in $took ms" ||
    diag_file e.log
stop $epid
is "$(db_value e.db 'SELECT sum(duplicates) FROM ingest_runs')" 0 \
    "(e) no entry was read twice"

done_testing
