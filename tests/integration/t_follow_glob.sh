#!/bin/sh
# t_follow_glob.sh -- logaudit follow with patterns: a PATH with *, ? or [
# is expanded, each match followed as if named, and expanded again so
# that files created later are followed too.
#
# (a) One daemon, --poll 60s (so what it finds within 2 s it found through
#     inotify), follows 'd/*.log' and 'r/app.log*'.  The two .log files
#     there at start are counted, and neither d/c.txt nor d/.hidden.log
#     is; a matching file created later, and an append to a match, are
#     counted within 2 s.  r/app.log is rotated to r/app.log.1 (both
#     matched) and a new r/app.log written: the old file keeps its place
#     under its new name (idle for longer than --idle, then written to
#     again: read on, not again from its start).
# (b) A daemon follows 'w/*/*.json' before w exists: it says it is
#     waiting; a day folder and its file appear and are counted.
# (c) (a) stopped, files grow and a new match appears, (a) restarted:
#     each resumes where it stood.  The final counts of (a) and (b) equal
#     a one-shot `ingest` of the same entries (per revision and per
#     pattern), and no entry was read twice.

. "$(dirname "$0")/lib.sh"
. "$TEST_SRCDIR/integration/follow_lib.sh"

follow_gen_py

# started LOG: the daemon logging to LOG has started (5 s at most)
started() { until_ok 5 grep -q "^logaudit: following" "$1"; }

[ -d /proc/self/fd ] || skip_all "no /proc: inotify is Linux's"

# ---- (a) two matches at start, one later, a rotation -----------------------
mkdir d r
gen a 50 shop-00001-aaa 0 > d/a.log
gen b 40 shop-00001-aaa 100 > d/b.log
gen c 30 shop-00001-aaa 200 > d/c.txt
gen h 20 shop-00001-aaa 300 > d/.hidden.log
gen r1 20 shop-00002-bbb 400 > r/app.log
cat d/a.log d/b.log r/app.log > all.ndjson
"$LOGAUDIT" -v follow --db g.db --poll 60s --flush 100ms --idle 1s \
    'd/*.log' 'r/app.log*' 2> g.log &
pid=$!
started g.log
mark
within g.db 110 5
ok $? "(a) the two .log files and r/app.log there at start are counted" ||
    diag_file g.log
grep -q "following 2 paths (inotify) into g.db" g.log
ok $? "(a) the start-up line says inotify" || diag_file g.log
sleep 1
is "$(rev_total g.db)" 110 "(a) d/c.txt and d/.hidden.log are not counted"
is "$(db_value g.db "SELECT count(*) FROM sources WHERE path LIKE '%c.txt'
    OR path LIKE '%hidden%'")" 0 "(a) ... nor given a position"

gen l 25 shop-00001-aaa 500 > l.ndjson
cat l.ndjson >> all.ndjson
mark
cp l.ndjson d/.late.tmp
mv d/.late.tmp d/late.log
within g.db 135 2
ok $? "(a) a matching file created later: counted in $took ms" ||
    diag_file g.log
gen c2 10 shop-00001-aaa 600 > d/c2.txt
gen a2 15 shop-00001-aaa 700 > a2.ndjson
cat a2.ndjson >> all.ndjson
mark
cat a2.ndjson >> d/a.log
within g.db 150 2
ok $? "(a) appended to a match: counted in $took ms (d/c2.txt is not)" ||
    diag_file g.log

gen r2 15 shop-00002-bbb 800 > r2.ndjson
gen r3 5 shop-00002-bbb 900 > r3.ndjson
cat r2.ndjson r3.ndjson >> all.ndjson
mark
mv r/app.log r/app.log.1
cat r2.ndjson > r/app.log
within g.db 165 2
ok $? "(a) r/app.log rotated to r/app.log.1 (matched too): the new file in $took ms" ||
    diag_file g.log
sleep 2		# longer than --idle: a drained file would be forgotten
mark
cat r3.ndjson >> r/app.log.1
within g.db 170 2
ok $? "(a) r/app.log.1 written to after --idle: read on ($took ms)" ||
    diag_file g.log
is "$(db_value g.db 'SELECT count(*) FROM sources WHERE path LIKE "r/%"')" 2 \
    "(a) one position each for r/app.log and r/app.log.1" ||
    db_value g.db 'SELECT group_concat(path) FROM sources'

# ---- (b) a pattern with a wildcard folder, nothing there yet ---------------
"$LOGAUDIT" follow --db w.db --poll 300ms --flush 100ms 'w/*/*.json' \
    2> w.log &
wpid=$!
started w.log
until_ok 5 grep -q "w/\*/\*.json: no match: waiting for one" w.log
ok $? "(b) a pattern matching nothing: waiting for one" || diag_file w.log
gen w 30 shop-00003-ccc 0 > w.ndjson
mark
mkdir -p w/2025-09-16 w/empty
cp w.ndjson w/2025-09-16/10.json
gen x 10 shop-00003-ccc 50 > w/2025-09-16/10.txt
within w.db 30 3
ok $? "(b) a folder and a file matching appear: counted in $took ms" ||
    diag_file w.log
grep -q "w/\*/\*.json: matches 1 path now" w.log
ok $? "(b) ... and it says so" || diag_file w.log
stop $wpid
is $? 0 "(b) SIGTERM: exit 0"

# ---- (c) stopped, grown, restarted ------------------------------------------
stop $pid
is $? 0 "(a) SIGTERM: exit 0"
gen b2 12 shop-00001-aaa 1000 > b2.ndjson
gen n 8 shop-00001-aaa 1100 > n.ndjson
gen r4 6 shop-00002-bbb 1200 > r4.ndjson
cat b2.ndjson n.ndjson r4.ndjson >> all.ndjson
cat b2.ndjson >> d/b.log
cat n.ndjson > d/new.log
cat r4.ndjson >> r/app.log
"$LOGAUDIT" -v follow --db g.db --poll 60s --flush 100ms --idle 1s \
    'd/*.log' 'r/app.log*' 2> g2.log &
pid=$!
started g2.log
mark
within g.db 196 5
ok $? "(c) restarted: what grew and the new match are counted" ||
    diag_file g2.log
grep -q "d/a.log: resuming at byte" g2.log &&
    grep -q "r/app.log.1: resuming at byte" g2.log
ok $? "(c) the matches resume where they stood" || diag_file g2.log
stop $pid
is $? 0 "(c) SIGTERM: exit 0"

"$LOGAUDIT" ingest -q --db ref.db all.ndjson
"$LOGAUDIT" ingest -q --db wref.db w.ndjson
is "$(rev_total g.db)" "$(rev_total ref.db)" "(c) entries: as ingest (196)"
same_revs g.db ref.db \
    "(c) revisions equal a one-shot ingest of the same entries"
same_patterns g.db ref.db "(c) per-pattern counts equal ingest's"
same_counts w.db wref.db "(b) revisions and per-pattern counts equal ingest's"
is "$(db_value g.db 'SELECT sum(duplicates) FROM ingest_runs')" 0 \
    "(c) no entry was read twice" || diag_file g.log 40

done_testing
