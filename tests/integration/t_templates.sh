#!/bin/sh
# t_templates.sh -- errors no pattern knows get templates whose ids stay.
#
# Revision 00001 logs an uncatalogued error; a second ingest run (a new
# process: the templates reload from the store) brings revision 00002 with
# the same error worded with other numbers, a new uncatalogued error, and a
# traceback whose line numbers moved.  The store must show the recurring
# template under its old id with counts in both revisions, the new one as
# first seen in 00002, the traceback as one template across both; a third
# run of the same input changes nothing; the text listing shows a sample
# of each, cut to 60 bytes; promote gives a pattern that patterns test
# accepts; fingerprint gives stable ids on stdin.

. "$(dirname "$0")/lib.sh"

gen() {	# revision first_second message... -> NDJSON on stdout
	"$PYTHON3" - "$@" <<'PY'
import json, sys
rev, sec = sys.argv[1], int(sys.argv[2])
for i, msg in enumerate(sys.argv[3:]):
    print(json.dumps({
        "insertId": "%s-%d" % (rev, i),
        "logName": "projects/p/logs/run.googleapis.com%2Fstderr",
        "resource": {"type": "cloud_run_revision", "labels": {
            "project_id": "p", "location": "eu", "service_name": "shop",
            "revision_name": rev}},
        "timestamp": "2025-09-16T10:%02d:%02dZ" % (sec // 60, sec % 60 + 0),
        "severity": "ERROR",
        "textPayload": msg}))
    sec += 1
PY
}
tb() {	# line -> a traceback raised from app/orders.py line N
	printf 'Traceback (most recent call last):\n  File "/app/app/routes.py", line %s, in create_order\n    total = price(order)\n  File "/app/app/orders.py", line %s, in price\n    return order["qty"] * rate\nKeyError: %s' "$1" "$(($1 + 40))" "'qty'"
}

gen shop-00001-aaa 0 \
    "Payment gateway returned malformed payload for order 1234" \
    "Payment gateway returned malformed payload for order 98" \
    "$(tb 10)" > r1.ndjson
gen shop-00002-bbb 100 \
    "Payment gateway returned malformed payload for order 777" \
    "Inventory sync aborted: shard 7 unreachable after 3 attempts" \
    "Inventory sync aborted: shard 12 unreachable after 5 attempts" \
    "$(tb 17)" > r2.ndjson

"$LOGAUDIT" ingest -q --db t.db r1.ndjson
is $? 0 "run 1 ingests revision 00001"
"$LOGAUDIT" templates --db t.db --format json > t1.json
"$LOGAUDIT" ingest -q --db t.db r2.ndjson
is $? 0 "run 2 (a new process) ingests revision 00002"
"$LOGAUDIT" templates --db t.db --format json > t2.json

"$PYTHON3" - t1.json t2.json > facts.txt <<'PY'
import json, sys
t1 = {t["id"]: t for t in json.load(open(sys.argv[1]))["templates"]}
t2 = {t["id"]: t for t in json.load(open(sys.argv[2]))["templates"]}
def find(d, word):
    return [t for t in d.values() if word in t["text"] or word in t["sample"]]
pay1, pay2 = find(t1, "Payment gateway"), find(t2, "Payment gateway")
inv2 = find(t2, "Inventory sync")
tb1, tb2 = find(t1, "KeyError"), find(t2, "KeyError")
print("templates run1=%d run2=%d" % (len(t1), len(t2)))
print("payment one template=%s same id=%s" % (len(pay1) == 1 == len(pay2),
      len(pay1) == 1 and len(pay2) == 1 and pay1[0]["id"] == pay2[0]["id"]))
if pay2:
    p = pay2[0]
    print("payment count=%d first=%s revisions=%s" % (p["count"],
          p["first_revision"], ",".join(r["revision"] for r in p["revisions"])))
if inv2:
    print("inventory templates=%d count=%d first=%s new=%s" % (len(inv2),
          inv2[0]["count"], inv2[0]["first_revision"], inv2[0]["id"] not in t1))
print("traceback one template=%s same id=%s count=%d" % (len(tb2) == 1,
      len(tb1) == 1 and len(tb2) == 1 and tb1[0]["id"] == tb2[0]["id"],
      tb2[0]["count"] if tb2 else 0))
PY
is "$(sed -n 1p facts.txt)" "templates run1=2 run2=3" "2 templates after run 1, 3 after run 2" ||
    diag_file facts.txt
is "$(sed -n 2p facts.txt)" "payment one template=True same id=True" \
    "the recurring error keeps its id across runs"
is "$(sed -n 3p facts.txt)" "payment count=3 first=shop-00001-aaa revisions=shop-00001-aaa,shop-00002-bbb" \
    "the recurring template: 3 entries, first seen in 00001, counted in both"
is "$(sed -n 4p facts.txt)" "inventory templates=1 count=2 first=shop-00002-bbb new=True" \
    "the new error: one template, first seen in 00002, absent before"
is "$(sed -n 5p facts.txt)" "traceback one template=True same id=True count=2" \
    "a traceback whose line numbers moved: one template, same id"

# the text listing: a sample message beside each template, its first line
"$LOGAUDIT" templates --db t.db > t2.txt
is "$(sed -n 1p t2.txt | awk '{print $NF}')" SAMPLE "text: a SAMPLE column" ||
    diag_file t2.txt
grep -q 'order <\*> *Payment gateway returned malformed payload for order 1234$' t2.txt
ok $? "text: the template's first sample, after its text" || diag_file t2.txt
grep -q 'shard 7 unreachable after 3 attempts$' t2.txt
ok $? "text: a sample of 60 bytes shown whole"
grep -q ' Traceback (most recent call last):\.\.\.$' t2.txt
ok $? "text: a traceback's sample: its first line, then ..."
# a long sample is cut to 60 bytes, not inside a character (byte 60 is
# the second of the ö's two)
gen shop-00009-zzz 200 \
    "Rechnungsexport fehlgeschlagen für Nr. 11: Übertragungsgröße überschritten, Zieldatei zu groß" \
    > long.ndjson
"$LOGAUDIT" ingest -q --db long.db long.ndjson
"$LOGAUDIT" templates --db long.db > long.txt
"$PYTHON3" - long.txt > long.facts <<'PY'
import sys
line = open(sys.argv[1], "rb").read().split(b"\n")[1]
cut = line[line.rindex(b"Rechnungsexport"):]
cut.decode("utf-8")
print(cut.endswith(b"...") and len(cut) - 3 == 59)
PY
is "$(cat long.facts)" True "text: a long sample cut to 60 bytes at a character, then ..." ||
    diag_file long.txt

# the same input again changes nothing
"$LOGAUDIT" ingest -q --db t.db r1.ndjson r2.ndjson
"$LOGAUDIT" templates --db t.db --format json > t3.json
cmp -s t2.json t3.json
ok $? "ingesting both again changes no template or count"

# the store records the fingerprint rules that made its templates, and a
# logaudit with other rules says so
is "$(db_value t.db "SELECT value FROM meta WHERE key = 'fingerprint_version'")" 1 \
    "meta records fingerprint_version 1"
"$PYTHON3" -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE meta SET value = 0 WHERE key = \x27fingerprint_version\x27"); c.commit()' t.db
"$LOGAUDIT" ingest -q --db t.db r1.ndjson 2> fpv.err
grep -q "grouped by fingerprint rules 0, this logaudit's are 1" fpv.err
ok $? "other fingerprint rules are reported" || diag_file fpv.err
is "$(db_value t.db "SELECT value FROM meta WHERE key = 'fingerprint_version'")" 1 \
    "and the version is brought up to date"

# templates are patterns in the store: the revision's top patterns show them
"$LOGAUDIT" revisions --db t.db --format json > revs.json
"$PYTHON3" - revs.json > top.txt <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["revisions"]:
    print(r["revision"], " ".join(sorted(p["id"][:4] for p in r["top_patterns"])))
PY
grep -q "^shop-00002-bbb .*tpl-" top.txt
ok $? "revisions lists templates among a revision's patterns" || diag_file top.txt

# --templates-min-severity CRITICAL: ERROR entries get no template
"$LOGAUDIT" ingest -q --db hi.db --templates-min-severity CRITICAL r1.ndjson
"$LOGAUDIT" templates --db hi.db > hi.txt
grep -q "^no templates" hi.txt
ok $? "--templates-min-severity above ERROR: no templates" || diag_file hi.txt
"$LOGAUDIT" ingest -q --db off.db --no-templates r1.ndjson
"$LOGAUDIT" templates --db off.db > off.txt
grep -q "^no templates" off.txt
ok $? "--no-templates: no templates"

# promote: a pattern skeleton the catalogue test accepts
id=$("$PYTHON3" -c 'import json,sys; print([t["id"] for t in json.load(open(sys.argv[1]))["templates"] if "Inventory" in t["text"]][0])' t2.json)
mkdir promoted
"$LOGAUDIT" templates --db t.db promote "$id" > promoted/p.conf
is $? 0 "templates promote exits 0"
"$LOGAUDIT" patterns --patterns promoted test > promote.out 2>&1
is $? 0 "the promoted pattern passes patterns test" || diag_file promote.out
"$LOGAUDIT" templates --db t.db promote tpl-ffffffffffffffff > /dev/null 2>&1
is $? 2 "promoting an unknown id exits 2"

# fingerprint: one id per line, the same message shape the same id
printf '%s\n' "Upload of file 17 failed after 3 retries" \
    "Upload of file 204 failed after 5 retries" "worker 3 restarted" > fp.in
"$LOGAUDIT" fingerprint < fp.in > fp.out
is "$(wc -l < fp.out | tr -d ' ')" 3 "fingerprint prints one id per line"
[ "$(sed -n 1p fp.out)" = "$(sed -n 2p fp.out)" ] &&
    [ "$(sed -n 1p fp.out)" != "$(sed -n 3p fp.out)" ]
ok $? "fingerprint: same shape, same id; another shape, another" ||
    diag_file fp.out
"$LOGAUDIT" fingerprint < fp.in > fp2.out
cmp -s fp.out fp2.out
ok $? "fingerprint is deterministic"
done_testing
