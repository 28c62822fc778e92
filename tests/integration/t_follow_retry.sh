#!/bin/sh
# t_follow_retry.sh -- logaudit follow: a source that disappears or
# becomes unreadable is reported once, retried, and counted once it is
# back, while the other sources go on being counted.
#
# One daemon (--poll 300ms --idle 1s) follows a file, a sink folder, a
# folder that is made unreadable and a folder whose one file is.
# (a) The sink folder is removed: "sink: No such file or directory:
#     waiting for it"; the file grows and is counted meanwhile; the folder
#     is created again with a new day and file: "sink: there now", counted.
# (b) The folder is made unreadable (chmod 000, then 300 so that a file
#     can be put in it): "locked: Permission denied: retrying", logged
#     once; the file grows and is counted meanwhile, the new file in the
#     folder is not; chmod 755: "locked: readable again", and it is.
# (c) A file of the last folder, closed after --idle, is made unreadable
#     (chmod 200) and grows: "Permission denied: retrying"; chmod 644:
#     "readable again", and what it gained is counted.
# (d) The final counts equal a one-shot ingest of the same entries, and
#     no entry was read twice.
# Run as root, where permissions do not stop reading, the daemon runs
# without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (setpriv(1)); without
# setpriv, (b) and (c) are skipped.

. "$(dirname "$0")/lib.sh"
. "$TEST_SRCDIR/integration/follow_lib.sh"

follow_gen_py "get deadlock pool shard"

# counted DB N: the revisions of DB hold N entries within 5 s
counted()
{
	wait_total "$1" "$2" 5 && return 0
	diag "$1: $(rev_total "$1") entries, want $2"
	return 1
}

# logged TEXT: the daemon's log has a line ending in TEXT within 5 s
logged() { until_ok 5 grep -qF -- "$1" r.log; }

# Permissions stop root only without these capabilities.
wrap=
perms=yes
echo secret > probe
chmod 000 probe
if cat probe >/dev/null 2>&1; then
	if command -v setpriv >/dev/null 2>&1 &&
	    ! setpriv --bounding-set=-dac_override,-dac_read_search \
	    cat probe >/dev/null 2>&1; then
		wrap="setpriv --bounding-set=-dac_override,-dac_read_search"
		diag "root: the daemon runs without CAP_DAC_OVERRIDE"
	else
		perms=
	fi
fi
rm -f probe

mkdir -p sink/2025/09/16 locked shards
gen g0 20 shop-00001-aaa 0 > good.log
gen s0 30 shop-00001-aaa 100 > sink/2025/09/16/10.json
gen l0 25 shop-00002-bbb 200 > locked/x.json
gen f0 15 shop-00002-bbb 300 > shards/s1.json
cat good.log sink/2025/09/16/10.json locked/x.json shards/s1.json > all.ndjson
$wrap "$LOGAUDIT" follow --db r.db --poll 300ms --flush 100ms --idle 1s \
    good.log sink locked shards 2> r.log &
pid=$!
counted r.db 90
ok $? "what was there at start is counted" || diag_file r.log

# ---- (a) a followed folder removed and created again ----------------------
rm -rf sink
logged "sink: No such file or directory: waiting for it"
ok $? "(a) the folder removed: reported, waiting for it" || diag_file r.log
gen g1 10 shop-00001-aaa 400 > g1.ndjson
cat g1.ndjson >> all.ndjson
cat g1.ndjson >> good.log
counted r.db 100
ok $? "(a) meanwhile the file is counted" || diag_file r.log
gen s1 35 shop-00001-aaa 500 > s1.ndjson
cat s1.ndjson >> all.ndjson
mkdir -p sink/2025/09/17
cp s1.ndjson sink/2025/09/17/00.json
logged "sink: there now"
ok $? "(a) the folder back: reported" || diag_file r.log
counted r.db 135
ok $? "(a) ... and its new file counted" || diag_file r.log

# ---- (b) a followed folder unreadable --------------------------------------
if [ -n "$perms" ]; then
	chmod 000 locked
	logged "locked: Permission denied: retrying"
	ok $? "(b) the folder unreadable: reported, retrying" ||
	    diag_file r.log
	chmod 300 locked
	gen l1 12 shop-00002-bbb 600 > l1.ndjson
	cat l1.ndjson >> all.ndjson
	cp l1.ndjson locked/y.json
	gen g2 7 shop-00001-aaa 700 > g2.ndjson
	cat g2.ndjson >> all.ndjson
	cat g2.ndjson >> good.log
	counted r.db 142
	ok $? "(b) meanwhile the file is counted" || diag_file r.log
	sleep 1
	is "$(rev_total r.db)" 142 \
	    "(b) the new file in the unreadable folder is not, 1 s later"
	chmod 755 locked
	logged "locked: readable again"
	ok $? "(b) readable again: reported" || diag_file r.log
	counted r.db 154
	ok $? "(b) ... and the new file counted" || diag_file r.log
	is "$(grep -c 'locked: Permission denied' r.log)" 1 \
	    "(b) the problem was logged once, though retried every 300 ms"
else
	for what in "reported" "the file counted meanwhile" \
	    "the new file not" "readable again" "the new file counted" \
	    "logged once"; do
		skip "(b) $what" "root without setpriv: chmod does not stop it"
	done
	gen l1 12 shop-00002-bbb 600 > l1.ndjson
	gen g2 7 shop-00001-aaa 700 > g2.ndjson
	cat l1.ndjson g2.ndjson >> all.ndjson
	cp l1.ndjson locked/y.json
	cat g2.ndjson >> good.log
	counted r.db 154
fi

# ---- (c) a file unreadable while closed, growing ---------------------------
if [ -n "$perms" ]; then
	n=0
	while ls -l "/proc/$pid/fd" 2>/dev/null | grep -q '/shards/s1.json' &&
	    [ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	chmod 200 shards/s1.json
	gen f1 9 shop-00002-bbb 800 > f1.ndjson
	cat f1.ndjson >> all.ndjson
	cat f1.ndjson >> shards/s1.json
	logged "shards/s1.json: Permission denied: retrying"
	ok $? "(c) a closed file, unreadable, grows: reported, retrying" ||
	    diag_file r.log
	sleep 0.5
	is "$(rev_total r.db)" 154 "(c) ... and not read"
	chmod 644 shards/s1.json
	logged "shards/s1.json: readable again"
	ok $? "(c) readable again: reported" || diag_file r.log
	counted r.db 163
	ok $? "(c) ... and what it gained counted" || diag_file r.log
else
	for what in "reported" "not read" "readable again" "counted"; do
		skip "(c) $what" "root without setpriv: chmod does not stop it"
	done
fi

# ---- (d) exact counts ----------------------------------------------------
stop $pid
is $? 0 "SIGTERM: exit 0"
"$LOGAUDIT" ingest -q --db ref.db all.ndjson
is "$(rev_total r.db)" "$(rev_total ref.db)" \
    "(d) entries: as ingest ($(rev_total ref.db))"
same_revs r.db ref.db \
    "(d) revisions and their top patterns equal a one-shot ingest"
is "$(db_value r.db 'SELECT sum(duplicates) FROM ingest_runs')" 0 \
    "(d) no entry was read twice" || diag_file r.log 40

done_testing
