#!/bin/sh
# t_trend.sh -- logaudit trend: counts per minute/hour/day/revision with
# the bucket's traffic, filters, and the three formats, on an input whose
# counts are known by construction: revision 00001 logs NO_TOKEN 3 times
# in hour 10 (of 20 entries), revision 00002 logs it 5 times in hour 11
# and 2 times in hour 12 (of 40 entries), and an 'other' service logs it
# once.

. "$(dirname "$0")/lib.sh"

"$PYTHON3" - > in.ndjson <<'PY'
import json
def e(svc, rev, ts, i, msg):
    return json.dumps({"insertId": "%s-%d" % (rev, i),
        "logName": "projects/p/logs/run.googleapis.com%2Fstdout",
        "resource": {"type": "cloud_run_revision", "labels": {
            "project_id": "p", "location": "eu", "service_name": svc,
            "revision_name": rev}},
        "timestamp": ts, "severity": "WARNING", "textPayload": msg})
n = 0
def emit(svc, rev, hour, minute, msg):
    global n
    n += 1
    print(e(svc, rev, "2025-09-16T%02d:%02d:00Z" % (hour, minute), n, msg))
for i in range(20):
    emit("api", "api-00001-aaa", 10, i, "WebSocket connection rejected: NO_TOKEN" if i < 3 else "ok")
for i in range(40):
    h, m = (11, i) if i < 30 else (12, i - 30)
    bad = i < 5 or 30 <= i < 32
    emit("api", "api-00002-bbb", h, m, "WebSocket connection rejected: NO_TOKEN" if bad else "ok")
emit("other", "other-00001-ccc", 10, 0, "WebSocket connection rejected: NO_TOKEN")
PY
"$LOGAUDIT" ingest -q --db t.db in.ndjson
is $? 0 "ingest"

"$LOGAUDIT" trend --db t.db --service api --pattern auth-no-token --by revision --format csv > rev.csv
is "$(cat rev.csv)" "service,revision,pattern,count,entries,requests,per_1k_entries
\"api\",\"api-00001-aaa\",\"auth-no-token\",3,20,0,150.000
\"api\",\"api-00002-bbb\",\"auth-no-token\",7,40,0,175.000" "by revision: service, counts, entries and rates"

"$LOGAUDIT" trend --db t.db --service api --pattern auth-no-token --format csv > hour.csv
is "$(cut -d, -f1,3,4 hour.csv | tr '\n' ' ')" \
    "bucket,count,entries \"2025-09-16T10:00:00.000000Z\",3,20 \"2025-09-16T11:00:00.000000Z\",5,30 \"2025-09-16T12:00:00.000000Z\",2,10 " \
    "by hour (the default): each hour's count and entries"

"$LOGAUDIT" trend --db t.db --pattern auth-no-token --by day --format json > day.json
"$PYTHON3" - day.json > day.txt <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema_version"] == 1 and d["by"] == "time"
for r in d["trend"]:
    print(r["bucket"], r["pattern"], r["count"], r["entries"], r["requests"],
          "%.3f" % r["per_1k_entries"])
PY
is "$(cat day.txt)" "2025-09-16T00:00:00.000000Z auth-no-token 11 61 0 180.328" \
    "by day, every service: 11 of 61 entries"

"$LOGAUDIT" trend --db t.db --service api --pattern auth-no-token \
    --since 2025-09-16T11:00:00Z --until 2025-09-16T12:00:00Z --format csv > win.csv
is "$(sed -n 2p win.csv | cut -d, -f1,3)" "\"2025-09-16T11:00:00.000000Z\",5" \
    "--since/--until keep hour 11 only"
is "$(wc -l < win.csv | tr -d ' ')" 2 "and nothing else"

"$LOGAUDIT" trend --db t.db --service api --by minute --pattern auth-no-token --format csv > min.csv
is "$(($(wc -l < min.csv) - 1))" 10 "by minute: 10 minutes with a NO_TOKEN"

"$LOGAUDIT" trend --db t.db --service api --pattern auth-no-token > text.out
grep -q "^BUCKET  *PATTERN  *COUNT" text.out
ok $? "text: an aligned table"
"$LOGAUDIT" trend --db t.db --by week > /dev/null 2>&1
is $? 2 "--by week: exit 2"
"$LOGAUDIT" trend --db nothing.db > /dev/null 2>&1
is $? 2 "a missing database: exit 2"
done_testing
