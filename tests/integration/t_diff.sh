#!/bin/sh
#
# t_diff.sh -- `logaudit diff` and `logaudit ack` on revision sequences
# whose answers are known by construction, and on one real pair.
#
# gen.py (below) writes Cloud Run entries: KIND:N@M puts N entries of a
# kind in minute M of the revision's life.  Kinds and what the catalogue
# makes of them (checked first, with `logaudit match`):
#   info     INFO stdout line, no pattern        (stdout traffic)
#   errinfo  INFO stderr line, no pattern        (stderr traffic)
#   ok       request, status 200, no pattern     (request traffic)
#   e503     request, status 503                 http-5xx           error
#   ws1011   "WebSocket closed with code 1011"   ws-close-1011      error
#   notoken  "... rejected: NO_TOKEN"            auth-no-token      warning
#   connref  "... Connection refused"            connection-error   error
#   deprec   "DeprecationWarning: ..."           deprecation        warning
#   tb       Python traceback on stderr          python-traceback   error
#   wtimeout "WORKER TIMEOUT (pid:17)"           gunicorn-worker-timeout
#                                                                   critical
#   unk      "Cache node alpha unreachable ..."  a template (tpl-...)   error
# Rates are per 1000 entries of the logs a pattern came from, so every
# expected rate below is 1000 * count / (that log's entries).
#
# Covered: every class (new, returning, regressed, gone with its p-value,
# improved, unchanged, not comparable via --patterns); the statistical
# edges (1 vs 2 is no regression, 10 vs 1000 is, chattier stdout does not
# make request errors look better); --window and --since/--until; one
# revision; revisions without sequence numbers; one service name in two
# projects; exit statuses (--fail-on, --min-level, --min-count); ack; the
# JSON shape; the Markdown report rendered to HTML; a real consecutive pair.

. "$(dirname "$0")/lib.sh"

"$PYTHON3" -c 'import json, sys; sys.exit(sys.version_info < (3, 7))' \
    >/dev/null 2>&1 || skip_all "python3 (>= 3.7) not found as '$PYTHON3'"
REAL="$TEST_SRCDIR/data/real/netra_gcloud-read_frontend-auth_100-entries.json"

cat > gen.py <<'PY'
import datetime, json, sys
# gen.py PROJECT SERVICE REVISION HH:MM KIND:N[@MIN]...  (2025-09-16, UTC)
proj, svc, rev, start = sys.argv[1:5]
base = datetime.datetime(2025, 9, 16, int(start[:2]), int(start[3:]),
                         tzinfo=datetime.timezone.utc)
TB = ('Traceback (most recent call last):\n'
      '  File "/app/main.py", line 12, in handler\n'
      '    total = price(order)\nKeyError: \'qty\'')
KINDS = {   # kind: (log, severity, message or status)
    "info":     ("stdout", "INFO", "processed batch of 20 items"),
    "errinfo":  ("stderr", "INFO", "Application startup complete."),
    "ok":       ("requests", "INFO", 200),
    "e503":     ("requests", "ERROR", 503),
    "ws1011":   ("stdout", "ERROR",
                 "WebSocket closed with code 1011 (internal error)"),
    "notoken":  ("stdout", "WARNING", "WebSocket connection rejected: NO_TOKEN"),
    "connref":  ("stdout", "ERROR", "psycopg2.OperationalError: could not "
                 "connect to server: Connection refused"),
    "deprec":   ("stdout", "WARNING",
                 "DeprecationWarning: datetime.utcnow() is deprecated"),
    "tb":       ("stderr", "ERROR", TB),
    "wtimeout": ("stderr", "CRITICAL", "WORKER TIMEOUT (pid:17)"),
    "unk":      ("stdout", "ERROR", "Cache node alpha unreachable, giving up"),
}
for spec in sys.argv[5:]:
    kind, _, rest = spec.partition(":")
    n, _, minute = rest.partition("@")
    n, minute = int(n), int(minute or 0)
    log, sev, what = KINDS[kind]
    for i in range(n):
        # within the first 50 s of the minute, the first entry on the minute
        ts = base + datetime.timedelta(minutes=minute,
                                       microseconds=i * 50000000 // n)
        e = {"insertId": "%s-%s-%s-%d-%d" % (proj, rev, kind, minute, i),
             "logName": "projects/%s/logs/run.googleapis.com%%2F%s" % (proj, log),
             "resource": {"type": "cloud_run_revision", "labels": {
                 "project_id": proj, "location": "europe-west1",
                 "service_name": svc, "revision_name": rev}},
             "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
             "severity": sev}
        if log == "requests":
            e["httpRequest"] = {"requestMethod": "GET", "status": what,
                "requestUrl": "https://%s.example.com/api/items/%d" % (svc, i)}
        else:
            e["textPayload"] = what
        print(json.dumps(e))
PY

# facts.py JSON: diff's JSON as lines "PROJECT SERVICE ID KEY VALUE", ID
# "-" for a comparison's own values (KEY a dotted path), then one line
# "- - - shape ok" (or the shape's first problems).  One python3 run per
# diff output; the shell reads the lines with awk (get, cmp, rows, near).
cat > facts.py <<'PY'
import json, sys

def fmt(v):
    if v is None: return "null"
    if isinstance(v, bool): return "true" if v else "false"
    if isinstance(v, float): return repr(v)
    return str(v).replace("\n", "\\n")

NUM = (int, float)
PAT = {"id": (str,), "kind": (str,), "class": (str,), "level": (str,),
       "count": (int,), "previous_count": (int,), "rate": NUM + (type(None),),
       "previous_rate": NUM + (type(None),), "p_value": NUM + (type(None),),
       "first_seen": (str, type(None)), "sample": (str,),
       "acknowledged": (bool,), "flagged": (bool,)}
CLASSES = {"new", "returning", "regressed", "gone", "improved", "unchanged",
           "not_comparable"}
LEVELS = {"info", "warning", "error", "critical"}
KINDS = ["requests", "stdout", "stderr", "system", "audit", "other"]

def typed(v, types):
    # a JSON true is no count
    return isinstance(v, types) and not (isinstance(v, bool) and
                                         bool not in types)

def shape(doc):
    bad = []
    if set(doc) != {"schema_version", "comparisons"}:
        bad.append("top-level keys %s" % sorted(doc))
    if doc.get("schema_version") != 1 or not typed(doc.get("schema_version"), (int,)):
        bad.append("schema_version %r" % doc.get("schema_version"))
    if not isinstance(doc.get("comparisons"), list):
        return bad + ["comparisons not a list"]
    for c in doc["comparisons"]:
        if set(c) != {"project", "location", "service", "revision", "against",
                      "exposure", "patterns"}:
            bad.append("comparison keys %s" % sorted(c))
            continue
        for k in ("project", "location", "service", "revision"):
            if not isinstance(c[k], str): bad.append("%s %r" % (k, c[k]))
        if not isinstance(c["against"], (str, type(None))):
            bad.append("against %r" % c["against"])
        want = {"revision"} | ({"against"} if c["against"] is not None else set())
        if not isinstance(c["exposure"], dict) or set(c["exposure"]) != want:
            bad.append("exposure keys %r" % c["exposure"])
        else:
            for side, w in c["exposure"].items():
                if set(w) != {"from", "until", "entries"} | set(KINDS):
                    bad.append("exposure.%s keys %s" % (side, sorted(w)))
                    continue
                for k in ("from", "until"):
                    if not isinstance(w[k], (str, type(None))):
                        bad.append("exposure.%s.%s %r" % (side, k, w[k]))
                for k in ["entries"] + KINDS:
                    if not typed(w[k], (int,)) or w[k] < 0:
                        bad.append("exposure.%s.%s %r" % (side, k, w[k]))
                if w["entries"] != sum(w[k] for k in KINDS):
                    bad.append("exposure.%s: entries != sum of kinds" % side)
        if not isinstance(c["patterns"], list):
            bad.append("patterns not a list")
            continue
        if c["against"] is None and c["patterns"]:
            bad.append("patterns without a comparison")
        for p in c["patterns"]:
            if not isinstance(p, dict) or set(p) != set(PAT):
                bad.append("pattern keys %s" % sorted(p))
                continue
            for k, types in PAT.items():
                if not typed(p[k], types):
                    bad.append("%s.%s %r" % (p["id"], k, p[k]))
            if p["kind"] not in ("catalogue", "template") or \
                    (p["kind"] == "template") != p["id"].startswith("tpl-"):
                bad.append("%s.kind %r" % (p["id"], p["kind"]))
            if p["class"] not in CLASSES:
                bad.append("%s.class %r" % (p["id"], p["class"]))
            if p["level"] not in LEVELS:
                bad.append("%s.level %r" % (p["id"], p["level"]))
            if typed(p["p_value"], NUM) and not 0 <= p["p_value"] <= 1:
                bad.append("%s.p_value %r" % (p["id"], p["p_value"]))
    return bad

try:
    doc = json.load(open(sys.argv[1]))
except ValueError as e:
    print("- - - shape not JSON: %s" % e)
    sys.exit(0)
bad = shape(doc)
for c in doc.get("comparisons", []) if isinstance(doc, dict) else []:
    if not isinstance(c, dict): continue
    ps = "%s %s" % (c.get("project"), c.get("service"))
    def walk(v, path):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, path + [k])
        elif not isinstance(v, list):
            print("%s - %s %s" % (ps, ".".join(path), fmt(v)))
    walk({k: v for k, v in c.items() if k != "patterns"}, [])
    for p in c.get("patterns", []):
        for k, v in p.items():
            print("%s %s %s %s" % (ps, p.get("id"), k, fmt(v)))
print("- - - shape %s" % ("ok" if not bad else "; ".join(bad[:5])))
PY

gen() { "$PYTHON3" gen.py "$@"; }
diff_json() {	# DB OUT [diff options]: diff --format json into OUT, its
		# facts into OUT.facts; diff's exit status kept
	_db=$1 _out=$2
	shift 2
	"$LOGAUDIT" diff --db "$_db" --format json "$@" > "$_out" 2> "$_out.err"
	_rc=$?
	echo "$_out" >> diffs.list
	"$PYTHON3" facts.py "$_out" > "$_out.facts"
	return $_rc
}
_fact() {	# FILE PROJECT SERVICE ID KEY: the value, or "absent"
	awk -v p="$2" -v s="$3" -v i="$4" -v k="$5" '
	    $1 == p && $2 == s && $3 == i && $4 == k {
		sub(/^[^ ]+ [^ ]+ [^ ]+ [^ ]+ /, ""); print; f = 1; exit }
	    END { if (!f) print "absent" }' "$1.facts"
}
get() {		# FILE PROJECT SERVICE ID KEY...: values, or "absent"
	_f=$1 _p=$2 _s=$3 _i=$4
	shift 4
	if [ "$(_fact "$_f" "$_p" "$_s" "$_i" id)" = absent ]; then
		echo absent
		return
	fi
	_v=
	for _k in "$@"; do
		_v="$_v${_v:+ }$(_fact "$_f" "$_p" "$_s" "$_i" "$_k")"
	done
	printf '%s\n' "$_v"
}
cmp_() {	# FILE PROJECT SERVICE PATH: a comparison's value
	_fact "$1" "$2" "$3" - "$4"
}
shape() {	# FILE: "ok" or the problems
	_fact "$1" - - - shape
}
rows() {	# FILE PROJECT SERVICE: "id class count previous flagged" lines
	awk -v p="$2" -v s="$3" '$1 == p && $2 == s && $3 != "-" {
		if (!($3 in seen)) { seen[$3] = 1; order[++n] = $3 }
		v[$3, $4] = $5 }
	    END { for (j = 1; j <= n; j++) { i = order[j]
		print i, v[i, "class"], v[i, "count"], v[i, "previous_count"],
		    v[i, "flagged"] } }' "$1.facts"
}
near() {	# FILE PROJECT SERVICE ID KEY WANT REL: "ok" or what differs
	_got=$(_fact "$1" "$2" "$3" "$4" "$5")
	awk -v g="$_got" -v w="$6" -v r="$7" 'BEGIN {
	    d = g - w; if (d < 0) d = -d; a = w < 0 ? -w : w
	    if (g ~ /^[-+0-9.eE]+$/ && d <= r * a) print "ok"
	    else printf "got %s, want %s (relative %s)\n", g, w, r }'
}
between() {	# FILE PROJECT SERVICE ID KEY LOW HIGH: "ok" or the value
	_got=$(_fact "$1" "$2" "$3" "$4" "$5")
	awk -v g="$_got" -v lo="$6" -v hi="$7" 'BEGIN {
	    if (g ~ /^[-+0-9.eE]+$/ && g + 0 >= lo + 0 && g + 0 <= hi + 0)
		print "ok"
	    else printf "got %s, want %s .. %s\n", g, lo, hi }'
}

# ---------------------------------------------------------------------------
# The generator's entries match what the header says (one pattern or none).
gen pa check check-00001-aaa 08:00 info:1 errinfo:1 ok:1 e503:1 ws1011:1 \
    notoken:1 connref:1 deprec:1 tb:1 wtimeout:1 unk:1 > check.ndjson
"$LOGAUDIT" match --format json check.ndjson 2>/dev/null | "$PYTHON3" -c '
import json, sys
print(" ".join(e["insert_id"].split("-")[4] + "=" + ",".join(e["patterns"])
               for e in map(json.loads, sys.stdin)))' > check.txt
is "$(cat check.txt)" "info= errinfo= ok= e503=http-5xx ws1011=ws-close-1011 notoken=auth-no-token connref=connection-error deprec=deprecation tb=python-traceback wtimeout=gunicorn-worker-timeout unk=" \
    "generated entries match the intended catalogue patterns"

# ---------------------------------------------------------------------------
# Every class, service shop in project pa.  Traffic per revision:
#   00001  2000 requests, 1200 stdout                 connection-error 3
#   00002  2000 requests (10 x 503), 1200 stdout (1000 NO_TOKEN, 5
#          deprecation), 20 stderr (6 tracebacks)
#   00003  2000 requests (1000 x 503), 1200 stdout (10 NO_TOKEN, 5
#          deprecation, 4 ws 1011, 3 connection refused), 10 stderr
# 00003 against 00002: ws-close-1011 new, connection-error returning (in
# 00001, not 00002), http-5xx regressed (10 -> 1000), python-traceback gone,
# auth-no-token improved (1000 -> 10), deprecation unchanged (5 -> 5).
gen pa shop shop-00001-aaa 08:00 ok:2000 info:1197 connref:3 > a1.ndjson
gen pa shop shop-00002-bbb 09:00 ok:1990 e503:10 info:195 notoken:1000 \
    deprec:5 tb:6 errinfo:14 > a2.ndjson
gen pa shop shop-00003-ccc 10:00 ok:1000 e503:1000 info:1178 notoken:10 \
    deprec:5 ws1011:4 connref:3 errinfo:10 > a3.ndjson
"$LOGAUDIT" ingest -q --db a.db a1.ndjson a2.ndjson a3.ndjson
is $? 0 "classes: three revisions ingested"

diff_json a.db a.json
is $? 1 "classes: exit 1 (a new error-level pattern, --fail-on new)" ||
    diag_file a.json.err
is "$(shape a.json)" ok "classes: JSON has the documented shape"
is "$(cmp_ a.json pa shop revision) $(cmp_ a.json pa shop against)" \
    "shop-00003-ccc shop-00002-bbb" "classes: latest against its predecessor"
is "$(cmp_ a.json pa shop location)" europe-west1 "classes: location"
is "$(cmp_ a.json pa shop exposure.revision.entries) $(cmp_ a.json pa shop exposure.revision.requests) $(cmp_ a.json pa shop exposure.revision.stdout) $(cmp_ a.json pa shop exposure.revision.stderr)" \
    "3210 2000 1200 10" "classes: R's exposure by log"
is "$(cmp_ a.json pa shop exposure.against.entries) $(cmp_ a.json pa shop exposure.against.requests) $(cmp_ a.json pa shop exposure.against.stdout) $(cmp_ a.json pa shop exposure.against.stderr)" \
    "3220 2000 1200 20" "classes: R0's exposure by log"
is "$(cmp_ a.json pa shop exposure.revision.from) $(cmp_ a.json pa shop exposure.revision.until)" \
    "null null" "classes: whole lives compared (no window)"
is "$(rows a.json pa shop | awk '{print $1, $2}' | tr '\n' ' ')" \
    "ws-close-1011 new connection-error returning http-5xx regressed python-traceback gone $(rows a.json pa shop | awk '$1 ~ /^tpl-/ {print $1}') gone auth-no-token improved deprecation unchanged " \
    "classes: every pattern once, in report order (new .. unchanged)" ||
    diag "$(rows a.json pa shop)"

# The SQL views for sqlite3 users, on the same store: new_patterns says what
# diff says over whole lives (nothing for the first revision), the rates
# and the daily counts are the counts above, a template has a summary.
q() { db_value a.db "$1"; }
is "$(q "SELECT group_concat(x, ' ') FROM (SELECT revision || ':' || CASE WHEN pattern LIKE 'tpl-%' THEN 'tpl' ELSE pattern END AS x FROM new_patterns WHERE service = 'shop' ORDER BY revision, pattern)")" \
    "shop-00002-bbb:auth-no-token shop-00002-bbb:deprecation shop-00002-bbb:http-5xx shop-00002-bbb:python-traceback shop-00002-bbb:tpl shop-00003-ccc:ws-close-1011" \
    "view new_patterns: new per revision, none in the first"
is "$(q "SELECT count || ' ' || entries || ' ' || requests || ' ' || per_1k_entries || ' ' || per_1k_requests FROM revision_pattern_rates WHERE revision = 'shop-00003-ccc' AND pattern = 'http-5xx'")" \
    "1000 3210 2000 311.526 500.0" "view revision_pattern_rates: http-5xx of 00003"
is "$(q "SELECT day || ' ' || count FROM daily_pattern_counts WHERE service = 'shop' AND pattern = 'http-5xx'")" \
    "2025-09-16 1010" "view daily_pattern_counts: 10 + 1000 on the day"
is "$(q "SELECT count || ' ' || first_revision FROM template_summary")" \
    "6 shop/shop-00002-bbb" "view template_summary: the traceback's template"

# new: 4 in 1200 stdout entries, never before
is "$(get a.json pa shop ws-close-1011 class level count previous_count rate previous_rate p_value flagged acknowledged)" \
    "new error 4 0 3.3333333333333335 0.0 null true false" \
    "new: ws-close-1011 4 vs 0, rate 1000*4/1200, flagged"
is "$(get a.json pa shop ws-close-1011 first_seen kind sample)" \
    "2025-09-16T10:00:00.000000Z catalogue WebSocket closed with code 1011 (internal error)" \
    "new: first seen, kind, sample"
# returning: in 00001, not 00002, in 00003
is "$(get a.json pa shop connection-error class level count previous_count rate previous_rate p_value flagged)" \
    "returning error 3 0 2.5 0.0 null false" \
    "returning: connection-error 3 vs 0, not flagged by --fail-on new"
# regressed: 10 vs 1000 in 2000 requests each
is "$(get a.json pa shop http-5xx class count previous_count rate previous_rate flagged)" \
    "regressed 1000 10 500.0 5.0 false" \
    "regressed: http-5xx 1000 vs 10 per 2000 requests"
# float(up(1000, 1010, F(1, 2))) = 2.6797874373123635e-281 (see test_compare.c
# for up), times 2 or 3 by Holm over the 3 tests: auth-no-token's p is as
# small (the same tail mirrored) and sorts before or ties with it
is "$(between a.json pa shop http-5xx p_value 5.35e-281 8.04e-281)" ok \
    "regressed: p-value 2 or 3 x 2.68e-281 (P(X >= 1000), X ~ Binomial(1010, 1/2))"
# gone: 6 tracebacks in 20 stderr entries, none in 10: p = exp(-6 * 10 / 20)
is "$(get a.json pa shop python-traceback class count previous_count rate previous_rate first_seen)" \
    "gone 0 6 0.0 300.0 null" "gone: python-traceback 0 vs 6, rates per stderr"
is "$(near a.json pa shop python-traceback p_value 0.049787068367863944 1e-9)" \
    ok "gone: p-value exp(-c0*e/e0) = exp(-6*10/20)"
# improved: 10 vs 1000 in 1200 stdout each
is "$(get a.json pa shop auth-no-token class level count previous_count rate previous_rate)" \
    "improved warning 10 1000 8.333333333333334 833.3333333333334" \
    "improved: auth-no-token 10 vs 1000"
is "$(between a.json pa shop auth-no-token p_value 0 1e-12)" ok \
    "improved: p-value below 1e-12"
# unchanged: 5 vs 5; raw float(up(5, 10, F(1, 2))) = 0.623046875, the
# largest of the 3 tests: Holm x1
is "$(get a.json pa shop deprecation class count previous_count rate previous_rate)" \
    "unchanged 5 5 4.166666666666667 4.166666666666667" \
    "unchanged: deprecation 5 vs 5"
is "$(near a.json pa shop deprecation p_value 0.623046875 1e-9)" ok \
    "unchanged: p-value 0.623046875 (P(X >= 5), X ~ Binomial(10, 1/2))"
# the traceback also has a template (python-traceback is generic): gone too
is "$(rows a.json pa shop | awk '$1 ~ /^tpl-/ {print $2, $3, $4}')" \
    "gone 0 6" "the traceback's template: one, gone, 0 vs 6"

# text: unchanged rows left out, the flagged one marked
"$LOGAUDIT" diff --db a.db > a.txt 2>&1
is $? 1 "text: exit 1"
is "$(head -n 1 a.txt)" \
    "shop (project pa, location europe-west1): shop-00003-ccc against shop-00002-bbb" \
    "text: the heading names both revisions"
is "$(awk '/ ws-close-1011 / {print $1}' a.txt)" new \
    "text: the new pattern's class" || diag_file a.txt
grep -q '^new \* *ws-close-1011 ' a.txt
ok $? "text: the flagged pattern marked with *"
grep -q 'deprecation' a.txt
ok $((! $?)) "text: unchanged patterns left out"

# exit statuses on the same store
diff_json a.db f.json --fail-on none
is $? 0 "--fail-on none: exit 0"
is "$(rows f.json pa shop | awk '$5 == "true"' | wc -l | tr -d ' ')" 0 \
    "--fail-on none: nothing flagged"
diff_json a.db f.json --fail-on regressed
is $? 1 "--fail-on regressed: exit 1 on the regression"
is "$(rows f.json pa shop | awk '$5 == "true" {print $1}' | tr '\n' ' ')" \
    "http-5xx " "--fail-on regressed: only http-5xx flagged"
diff_json a.db f.json --fail-on returning
is $? 1 "--fail-on returning: exit 1"
is "$(rows f.json pa shop | awk '$5 == "true" {print $1}' | tr '\n' ' ')" \
    "connection-error " "--fail-on returning: only connection-error flagged"
diff_json a.db f.json --fail-on any
is "$(rows f.json pa shop | awk '$5 == "true" {print $1}' | tr '\n' ' ')" \
    "ws-close-1011 connection-error http-5xx " \
    "--fail-on any: new, returning and regressed flagged"

# --revision: 00002 against 00001
diff_json a.db r.json --revision shop-00002-bbb --fail-on none
is "$(cmp_ r.json pa shop revision) $(cmp_ r.json pa shop against)" \
    "shop-00002-bbb shop-00001-aaa" "--revision 00002: against 00001"
is "$(get r.json pa shop http-5xx class count) $(get r.json pa shop connection-error class previous_count)" \
    "new 10 gone 3" "--revision 00002: http-5xx new, connection-error gone"
"$LOGAUDIT" diff --db a.db --revision shop-00009-zzz > /dev/null 2>&1
is $? 2 "--revision naming no revision: exit 2"

# --against skipping 00002: what 00002 had is not new in 00003
diff_json a.db ag.json --against shop-00001-aaa --fail-on none
is "$(cmp_ ag.json pa shop against)" shop-00001-aaa "--against 00001"
is "$(get ag.json pa shop connection-error class count previous_count)" \
    "unchanged 3 3" "--against 00001: connection-error 3 vs 3 unchanged"
is "$(get ag.json pa shop ws-close-1011 class)" new \
    "--against 00001: ws-close-1011, in no earlier revision, new"
is "$(get ag.json pa shop http-5xx class) $(get ag.json pa shop auth-no-token class) $(get ag.json pa shop deprecation class)" \
    "returning returning returning" \
    "--against 00001: patterns of 00002 (earlier than 00003) are returning, not new" ||
    diag "$(rows ag.json pa shop)"

# ---------------------------------------------------------------------------
# Markdown: rendered with python3's markdown module, checked as HTML.  The
# module may live only in the system python3 (Debian's python3-markdown).
py_with() {	# MODULE: a python3 that can import it, or nothing
	for _py in "$PYTHON3" /usr/bin/python3; do
		if "$_py" -c "import $1" > /dev/null 2>&1; then
			echo "$_py"
			return
		fi
	done
}
MDPY=$(py_with markdown)
"$LOGAUDIT" diff --db a.db --format markdown > a.md 2> a.md.err
is $? 1 "markdown: exit 1 as for text"
if [ -n "$MDPY" ]; then
	"$MDPY" - a.md > md.txt <<'PY'
import sys
from html.parser import HTMLParser
import markdown

html = markdown.markdown(open(sys.argv[1]).read(), extensions=["tables"])

class Tables(HTMLParser):
    """Tables (title: the h3 before, head cells, body rows), paragraphs."""
    def __init__(self):
        super().__init__()
        self.tables, self.paras, self.title = [], [], None
        self.text, self.cell, self.row, self.in_head = None, None, None, False
    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"title": self.title, "head": [], "rows": []})
        elif tag == "thead":
            self.in_head = True
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = ""
        elif tag in ("h3", "p"):
            self.text = ""
        elif tag == "code" and self.cell is not None:
            self.cell += "<code>"
    def handle_endtag(self, tag):
        if tag == "thead":
            self.in_head = False
        elif tag in ("td", "th"):
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr":
            t = self.tables[-1]
            if self.in_head:
                t["head"] = self.row
            else:
                t["rows"].append(self.row)
        elif tag == "h3":
            self.title, self.text = self.text.strip(), None
        elif tag == "p":
            self.paras.append(self.text.strip())
            self.text = None
        elif tag == "code" and self.cell is not None:
            self.cell += "</code>"
    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        if self.text is not None:
            self.text += data

p = Tables()
p.feed(html)
new = [t for t in p.tables if t["title"] == "New"]
print("tables=%d" % len(p.tables))
print("titles=%s" % ",".join(str(t["title"]) for t in p.tables))
print("new head=%s" % ("|".join(new[0]["head"]) if new else "none"))
print("new rows=%s" % (",".join(r[0] for r in new[0]["rows"]) if new else "none"))
print("new row=%s" % ("|".join(new[0]["rows"][0][1:6])
                      if new and new[0]["rows"] else "none"))
print("verdict=%s" % "".join(x for x in p.paras if x.startswith("Verdict:")))
gone = [t for t in p.tables if t["title"] == "Gone"]
print("gone head=%s" % ("|".join(gone[0]["head"]) if gone else "none"))
print("summary=%s" % ",".join(r[0] for r in p.tables[0]["rows"]))
PY
	is "$(sed -n 's/^tables=//p' md.txt)" 6 \
	    "markdown: 6 tables (summary, New, Returning, Regressed, Gone, Improved)" ||
	    diag_file md.txt
	is "$(sed -n 's/^titles=//p' md.txt)" \
	    "None,New,Returning,Regressed,Gone,Improved" \
	    "markdown: a table per class found, no Unchanged table"
	is "$(sed -n 's/^new head=//p' md.txt)" \
	    "Pattern|Count|Previous|Rate/1k|Previous/1k|First seen|Sample" \
	    "markdown: the New table's header cells"
	is "$(sed -n 's/^new rows=//p' md.txt)" "<code>ws-close-1011</code>" \
	    "markdown: one row per new pattern, its id as code"
	is "$(sed -n 's/^new row=//p' md.txt)" \
	    "4|0|3.33|0|2025-09-16T10:00:00.000000Z" \
	    "markdown: the new row's count, previous, rates, first seen"
	is "$(sed -n 's/^verdict=//p' md.txt)" \
	    "Verdict: 1 finding needs attention (1 new, 1 returning, 1 regressed)." \
	    "markdown: the verdict line names what came back or got worse"
	is "$(sed -n 's/^gone head=//p' md.txt)" \
	    "Pattern|Count|Previous|Rate/1k|Previous/1k|p|First seen|Sample" \
	    "markdown: the Gone table has the chance of none at R0's rate"
	is "$(sed -n 's/^summary=//p' md.txt)" \
	    "Service,Revision,Compared with,Exposure compared,Catalogue" \
	    "markdown: the summary names the catalogue version"
else
	for t in "6 tables" "a table per class" "New header cells" \
	    "a row per new pattern" "the new row's cells" "the verdict line" \
	    "the Gone table's p" "the catalogue row"; do
		skip "markdown: $t" "python3 markdown module not installed"
	done
fi

# ---------------------------------------------------------------------------
# Not comparable: 00001 counted with a catalogue lacking ws-close-1011,
# 00002 with the full one.  Both have the same 3 ws 1011 lines.  Service
# cat2 the other way round: 00002's catalogue lacks it.
mkdir partial
for f in "$LOGAUDIT_PATTERNS"/*.conf; do
	cp "$f" partial/ || bail_out "cannot copy $f"
done
"$PYTHON3" - partial/websocket.conf <<'PY'
import re, sys
text = open(sys.argv[1]).read()
out = re.sub(r"(?ms)^\[ws-close-1011\]\n.*?(?=^\[)", "", text)
assert out != text
open(sys.argv[1], "w").write(out)
PY
"$LOGAUDIT" patterns --patterns partial list 2>/dev/null |
    grep -c '^ws-close-1011 ' > partial.count
is "$(cat partial.count)" 0 "the partial catalogue lacks ws-close-1011"
gen pa cat cat-00001-aaa 08:00 ok:100 info:50 ws1011:3 deprec:2 > c1.ndjson
gen pa cat cat-00002-bbb 09:00 ok:100 info:50 ws1011:3 deprec:2 > c2.ndjson
gen pa cat2 cat2-00001-aaa 08:00 ok:100 info:50 ws1011:3 deprec:2 > d1.ndjson
gen pa cat2 cat2-00002-bbb 09:00 ok:100 info:50 ws1011:3 deprec:2 > d2.ndjson
"$LOGAUDIT" ingest -q --db nc.db --patterns partial c1.ndjson &&
    "$LOGAUDIT" ingest -q --db nc.db c2.ndjson d1.ndjson &&
    "$LOGAUDIT" ingest -q --db nc.db --patterns partial d2.ndjson
is $? 0 "not comparable: ingested with two catalogues"
diff_json nc.db nc.json --service cat
is $? 0 "not comparable: exit 0 (nothing new)" || diag_file nc.json.err
is "$(get nc.json pa cat ws-close-1011 class count previous_count flagged)" \
    "not_comparable 3 0 false" \
    "not comparable: counted only where the catalogue knew it, never new"
is "$(get nc.json pa cat deprecation class count previous_count)" \
    "unchanged 2 2" "not comparable: a pattern both catalogues knew compares"
diff_json nc.db nc2.json --service cat2
is "$(get nc2.json pa cat2 ws-close-1011 class count previous_count)" \
    "not_comparable 0 3" \
    "not comparable: R's catalogue lacking it, not gone"
is "$(shape nc.json) $(shape nc2.json)" "ok ok" "not comparable: JSON shape"
# The partial catalogue made templates of the 1011 errors: the template is
# an artefact of the catalogue change, neither gone (cat) nor new (cat2).
is "$(rows nc.json pa cat | awk '/^tpl-/ { print $2, $3, $4, $5 }')" \
    "not_comparable 0 3 false" \
    "not comparable: a template made by the catalogue change is not gone"
diff_json nc.db nc2.json --service cat2
is $? 0 "not comparable: cat2 exits 0" || diag_file nc2.json.err
is "$(rows nc2.json pa cat2 | awk '/^tpl-/ { print $2, $3, $4, $5 }')" \
    "not_comparable 3 0 false" \
    "not comparable: a template made by the catalogue change is not new"

# The Markdown report names each side's catalogue when they differ
vfull=$(db_value nc.db "SELECT rc.version FROM revision_catalogues rc JOIN revisions r ON r.id = rc.revision_id WHERE r.revision = 'cat-00002-bbb'")
vpart=$(db_value nc.db "SELECT rc.version FROM revision_catalogues rc JOIN revisions r ON r.id = rc.revision_id WHERE r.revision = 'cat-00001-aaa'")
"$LOGAUDIT" diff --db nc.db --service cat --format markdown > nc.md 2>&1
grep -qxF "| Catalogue | $vfull (cat-00002-bbb), $vpart (cat-00001-aaa) |" nc.md
ok $? "not comparable: the Markdown report names both catalogues" ||
    diag_file nc.md 12
[ -n "$vfull" ] && [ "$vfull" != "$vpart" ]
ok $? "not comparable: two catalogue versions recorded ($vfull, $vpart)"

# Templates off on one side: a recurring uncatalogued error is not new.
gen pa nt nt-00001-aaa 08:00 ok:100 unk:4 > t1.ndjson
gen pa nt nt-00002-bbb 09:00 ok:100 unk:4 > t2.ndjson
gen pa nt nt-00003-ccc 10:00 ok:100 unk:4 > t3.ndjson
"$LOGAUDIT" ingest -q --db nt.db --no-templates t1.ndjson &&
    "$LOGAUDIT" ingest -q --db nt.db t2.ndjson
is $? 0 "templates off: ingested"
diff_json nt.db nt.json --service nt
is $? 0 "templates off on R0: exit 0" || diag_file nt.json.err
is "$(rows nt.json pa nt | awk '/^tpl-/ { print $2, $3, $4, $5 }')" \
    "not_comparable 4 0 false" "templates off on R0: the template is not new"
"$LOGAUDIT" ingest -q --db nt.db t3.ndjson
diff_json nt.db nt3.json --service nt
is "$(rows nt3.json pa nt | awk '/^tpl-/ { print $2, $3, $4, $5 }')" \
    "unchanged 4 4 false" "both sides with templates: the template compares"

# ---------------------------------------------------------------------------
# Statistical edges, one store, one service each.
#   tiny:   1 vs 2 errors in 10 requests each: no regression
#   reg:    10 vs 1000 errors in 2000 requests each: regression
#   chatty: 50 errors in 1000 requests both times, stdout 100 -> 5000 INFO
#           lines: the error rate is per request, unchanged
gen pa tiny tiny-00001-aaa 08:00 ok:9 e503:1 > s1.ndjson
gen pa tiny tiny-00002-bbb 09:00 ok:8 e503:2 > s2.ndjson
gen pa reg reg-00001-aaa 08:00 ok:1990 e503:10 > s3.ndjson
gen pa reg reg-00002-bbb 09:00 ok:1000 e503:1000 > s4.ndjson
gen pa chatty chatty-00001-aaa 08:00 ok:950 e503:50 info:100 > s5.ndjson
gen pa chatty chatty-00002-bbb 09:00 ok:950 e503:50 info:5000 > s6.ndjson
"$LOGAUDIT" ingest -q --db st.db s1.ndjson s2.ndjson s3.ndjson s4.ndjson \
    s5.ndjson s6.ndjson
is $? 0 "edges: ingested"
diff_json st.db st.json --fail-on regressed
is $? 1 "edges: --fail-on regressed exits 1 (service reg)"
is "$(shape st.json)" ok "edges: JSON shape"
is "$(get st.json pa tiny http-5xx class count previous_count flagged)" \
    "unchanged 2 1 false" "edges: 1 vs 2 on tiny traffic is no regression"
# one test: min(float(up(2, 3, F(1, 2))), 1 - float(up(3, 3, F(1, 2)))) = 0.5
is "$(near st.json pa tiny http-5xx p_value 0.5 1e-9)" ok \
    "edges: 1 vs 2 p-value 0.5"
is "$(get st.json pa reg http-5xx class count previous_count rate previous_rate flagged)" \
    "regressed 1000 10 500.0 5.0 true" \
    "edges: 10 vs 1000 on equal traffic regressed, flagged"
is "$(get st.json pa chatty http-5xx class count previous_count rate previous_rate flagged)" \
    "unchanged 50 50 50.0 50.0 false" \
    "edges: 50x stdout INFO lines do not make request errors improved"
# float(up(50, 100, F(1, 2))) = 0.5397946186935894
is "$(near st.json pa chatty http-5xx p_value 0.5397946186935894 1e-9)" ok \
    "edges: chatty p-value compares requests with requests"
is "$(cmp_ st.json pa chatty exposure.revision.stdout) $(cmp_ st.json pa chatty exposure.against.stdout)" \
    "5000 100" "edges: the stdout traffic did grow 50x"
diff_json st.db st2.json --service tiny --fail-on regressed
is $? 0 "edges: --fail-on regressed, service tiny: exit 0"
diff_json st.db st3.json --service reg
is $? 0 "edges: service reg with the default --fail-on new: exit 0"
is "$(get st3.json pa reg http-5xx class flagged)" "regressed false" \
    "edges: the regression reported, not flagged by --fail-on new"
# the only test: float(up(1000, 1010, F(1, 2))) = 2.6797874373123635e-281
is "$(near st.json pa reg http-5xx p_value 2.6797874373123635e-281 1e-8)" ok \
    "edges: 10 vs 1000 p-value P(X >= 1000), X ~ Binomial(1010, 1/2)"
"$LOGAUDIT" diff --db st.db --service reg --format markdown > reg.md 2>&1
grep -qx '\*\*Verdict:\*\* no new error patterns introduced by reg-00002-bbb (1 regressed)\.' reg.md
ok $? "edges: a regression is in the verdict even when nothing is new" ||
    diag_file reg.md 40
"$LOGAUDIT" diff --db st.db --service reg > reg.txt 2>&1
grep -qx 'verdict: no new error patterns introduced by reg-00002-bbb (1 regressed)\.' reg.txt
ok $? "edges: the text report ends with the same verdict" || diag_file reg.txt
grep -q "$(printf '\033')" reg.txt
is $? 1 "text: no colour when stdout is not a terminal"
"$LOGAUDIT" diff --db st.db --service reg --color always > regc.txt 2>&1
grep -q "$(printf '\033\\[31mregressed\033\\[0m')" regc.txt
ok $? "text: --color always colours the class" || diag_file regc.txt
is "$(sed "s/$(printf '\033')\\[[0-9;]*m//g" regc.txt)" "$(cat reg.txt)" \
    "text: colour changes no column"
diff_json st.db st5.json --service reg --min-change-count 1001
is "$(get st5.json pa reg http-5xx class)" "unchanged" \
    "edges: --min-change-count 1001: 1000 occurrences are not tested"
"$LOGAUDIT" diff --db st.db --service reg --min-change-count 0 > /dev/null 2>&1
is $? 2 "edges: --min-change-count 0: exit 2"
"$LOGAUDIT" diff --db st.db --service reg --min-count 2x > /dev/null 2>&1
is $? 2 "edges: --min-count 2x: exit 2"
diff_json st.db st4.json --service reg --alpha 1e-275
is "$(get st4.json pa reg http-5xx class)" regressed \
    "edges: --alpha 1e-275: still regressed (p 2.7e-281)"
diff_json st.db st4.json --service reg --alpha 1e-285
is "$(get st4.json pa reg http-5xx class)" unchanged \
    "edges: --alpha 1e-285: unchanged (p 2.7e-281)"

# ---------------------------------------------------------------------------
# --window: the first 10 minutes of each revision.  win-00002 logs ws 1011
# only in minute 25: not new within --window 10m, new without.
gen pa win win-00001-aaa 08:00 info:20@0 deprec:2@3 info:20@5 info:20@30 \
    > w1.ndjson
gen pa win win-00002-bbb 09:00 info:20@0 deprec:2@3 info:20@5 ws1011:3@25 \
    info:20@30 > w2.ndjson
"$LOGAUDIT" ingest -q --db w.db w1.ndjson w2.ndjson
is $? 0 "window: ingested"
diff_json w.db w10.json --window 10m
is $? 0 "--window 10m: exit 0 (nothing new in the first 10 minutes)" ||
    diag_file w10.json.err
is "$(get w10.json pa win ws-close-1011 class)" absent \
    "--window 10m: ws-close-1011 (minute 25) not in the comparison"
is "$(get w10.json pa win deprecation class count previous_count)" \
    "unchanged 2 2" "--window 10m: deprecation (minute 3) compared"
is "$(cmp_ w10.json pa win exposure.revision.from) $(cmp_ w10.json pa win exposure.revision.until) $(cmp_ w10.json pa win exposure.revision.entries)" \
    "2025-09-16T09:00:00.000000Z 2025-09-16T09:10:00.000000Z 42" \
    "--window 10m: R's window and its 42 entries"
is "$(cmp_ w10.json pa win exposure.against.from) $(cmp_ w10.json pa win exposure.against.until) $(cmp_ w10.json pa win exposure.against.entries)" \
    "2025-09-16T08:00:00.000000Z 2025-09-16T08:10:00.000000Z 42" \
    "--window 10m: R0's window (its own first 10 minutes)"
diff_json w.db wall.json
is $? 1 "no window: exit 1"
is "$(get wall.json pa win ws-close-1011 class count)" "new 3" \
    "no window: ws-close-1011 new"
is "$(cmp_ wall.json pa win exposure.revision.entries)" 65 \
    "no window: all 65 entries"
"$LOGAUDIT" diff --db w.db --window 10m --since 2025-09-16T09:00:00Z \
    > /dev/null 2>&1
is $? 2 "--window with --since: usage error, exit 2"
"$LOGAUDIT" diff --db w.db --window soon > /dev/null 2>&1
is $? 2 "--window with a bad duration: exit 2"

# The window's end on a minute boundary: [09:00, 09:10) holds nothing of
# minute 09:10.  winb-00002 logs ws 1011 at 09:10:00 .. 09:10:37.5.
gen pa winb winb-00001-aaa 08:00 info:10@0 > wb1.ndjson
gen pa winb winb-00002-bbb 09:00 info:10@0 ws1011:4@10 > wb2.ndjson
"$LOGAUDIT" ingest -q --db wb.db wb1.ndjson wb2.ndjson
diff_json wb.db wb.json --window 10m
is "$(get wb.json pa winb ws-close-1011 class) $(cmp_ wb.json pa winb exposure.revision.entries)" \
    "absent 10" "--window 10m from 09:00:00: entries at 09:10 are outside" ||
    diag "$(rows wb.json pa winb)"
diff_json wb.db wbs.json --since 2025-09-16T09:00:00Z \
    --until 2025-09-16T09:10:00Z
is "$(get wbs.json pa winb ws-close-1011 class) $(cmp_ wbs.json pa winb exposure.revision.entries)" \
    "absent 10" "--since 09:00 --until 09:10: entries at 09:10 are outside"
diff_json wb.db wbs2.json --since 2025-09-16T09:00:00Z \
    --until 2025-09-16T09:11:00Z
is "$(get wbs2.json pa winb ws-close-1011 class count) $(cmp_ wbs2.json pa winb exposure.revision.entries)" \
    "new 4 14" "--since 09:00 --until 09:11: entries at 09:10 are inside"

# ---------------------------------------------------------------------------
# One revision: nothing to compare.
gen pa solo solo-00001-aaa 08:00 ok:10 ws1011:2 > solo.ndjson
"$LOGAUDIT" ingest -q --db solo.db solo.ndjson
"$LOGAUDIT" diff --db solo.db --service solo > solo.txt 2>&1
is $? 0 "one revision: exit 0"
grep -q 'nothing to compare' solo.txt
ok $? "one revision: says nothing to compare" || diag_file solo.txt
diff_json solo.db solo.json --service solo
is $? 0 "one revision, JSON: exit 0"
is "$(cmp_ solo.json pa solo revision) $(cmp_ solo.json pa solo against)" \
    "solo-00001-aaa null" 'one revision: "against": null'
is "$(rows solo.json pa solo | wc -l | tr -d ' ') $(shape solo.json)" \
    "0 ok" "one revision: no patterns, JSON shape"
"$LOGAUDIT" diff --db solo.db --service solo --format markdown > solo.md 2>&1
grep -q 'nothing to compare' solo.md
ok $? "one revision, markdown: the verdict says nothing to compare"
"$LOGAUDIT" diff --db solo.db --service nosuch > /dev/null 2>&1
is $? 2 "an unknown service: exit 2 (a named service must exist)"

# ---------------------------------------------------------------------------
# Revision names without a sequence number: ordered by first entry.
# api-green ran first, api-blue after, though "blue" sorts before "green"
# (and is ingested first).
gen pa api api-green 08:00 ok:100 deprec:2 > green.ndjson
gen pa api api-blue 09:00 ok:100 deprec:2 ws1011:1 > blue.ndjson
"$LOGAUDIT" ingest -q --db bg.db blue.ndjson green.ndjson
diff_json bg.db bg.json
is $? 1 "blue/green: exit 1 (ws-close-1011 new in api-blue)"
is "$(cmp_ bg.json pa api revision) $(cmp_ bg.json pa api against)" \
    "api-blue api-green" "blue/green: the later revision against the earlier"
is "$(get bg.json pa api ws-close-1011 class count) $(get bg.json pa api deprecation class)" \
    "new 1 unchanged" "blue/green: classes"

# ---------------------------------------------------------------------------
# One service name in two projects, the same revision names: each compared
# within its project.  ws 1011 in pa's 00001 and pb's 00002.
gen pa web web-00001-aaa 08:00 ok:100 ws1011:2 > pa1.ndjson
gen pa web web-00002-bbb 09:00 ok:100 > pa2.ndjson
gen pb web web-00001-aaa 08:00 ok:100 > pb1.ndjson
gen pb web web-00002-bbb 09:00 ok:100 ws1011:2 > pb2.ndjson
"$LOGAUDIT" ingest -q --db pr.db pa1.ndjson pa2.ndjson pb1.ndjson pb2.ndjson
diff_json pr.db pr.json
is $? 1 "two projects: exit 1 (new in pb)"
"$PYTHON3" -c 'import json
print(" ".join("%s:%s:%s<%s" % (c["project"], c["service"], c["revision"],
      c["against"]) for c in json.load(open("pr.json"))["comparisons"]))' \
    > pr.txt
is "$(cat pr.txt)" \
    "pa:web:web-00002-bbb<web-00001-aaa pb:web:web-00002-bbb<web-00001-aaa" \
    "two projects: two comparisons, each within its project"
is "$(get pr.json pa web ws-close-1011 class count previous_count)" \
    "gone 0 2" "two projects: pa's ws-close-1011 gone"
is "$(get pr.json pb web ws-close-1011 class count previous_count)" \
    "new 2 0" "two projects: pb's ws-close-1011 new (pa's history not pb's)"
diff_json pr.db pra.json --project pa
is "$? $(cmp_ pra.json pb web revision)" "0 absent" \
    "--project pa: only pa, exit 0"
"$LOGAUDIT" ack --db pr.db --service web ws-close-1011 > /dev/null 2>&1
is $? 2 "ack: a service in two projects needs --project"

# ---------------------------------------------------------------------------
# Exit status gates.  gate: ws 1011 (error) twice, new.  gatew: deprecation
# (warning) new.  gatec: worker timeout (critical) new.
gen pa gate gate-00001-aaa 08:00 ok:50 info:50 > g1.ndjson
gen pa gate gate-00002-bbb 09:00 ok:50 info:50 ws1011:2 > g2.ndjson
gen pa gatew gatew-00001-aaa 08:00 ok:50 info:50 > g3.ndjson
gen pa gatew gatew-00002-bbb 09:00 ok:50 info:50 deprec:1 > g4.ndjson
gen pa gatec gatec-00001-aaa 08:00 ok:50 errinfo:50 > g5.ndjson
gen pa gatec gatec-00002-bbb 09:00 ok:50 errinfo:50 wtimeout:1 > g6.ndjson
"$LOGAUDIT" ingest -q --db g.db g1.ndjson g2.ndjson g3.ndjson g4.ndjson \
    g5.ndjson g6.ndjson
gate() {	# WANT NAME diff-options...: diff's exit status
	_want=$1 _name=$2
	shift 2
	diff_json g.db gate.json "$@"
	is $? "$_want" "$_name"
}
gate 1 "gate: a new error-level pattern fails (default --fail-on new)" \
    --service gate
is "$(get gate.json pa gate ws-close-1011 class count flagged)" \
    "new 2 true" "gate: ws-close-1011 new, twice, flagged"
gate 0 "gate: --fail-on none: exit 0" --service gate --fail-on none
gate 0 "gate: --min-level critical: a new error-level pattern does not fail" \
    --service gate --min-level critical
is "$(get gate.json pa gate ws-close-1011 class flagged)" "new false" \
    "gate: --min-level critical: still reported new, not flagged"
gate 1 "gate: --min-level error: it fails" --service gate --min-level error
gate 0 "gate: --min-count 3, seen twice: exit 0" --service gate --min-count 3
gate 1 "gate: --min-count 2, seen twice: exit 1" --service gate --min-count 2
gate 1 "gatew: a new warning fails at the default --min-level warning" \
    --service gatew
gate 0 "gatew: --min-level error: the new warning does not fail" \
    --service gatew --min-level error
gate 1 "gatec: --min-level critical: a new critical pattern fails" \
    --service gatec --min-level critical
is "$(get gate.json pa gatec gunicorn-worker-timeout class level)" \
    "new critical" "gatec: gunicorn-worker-timeout new, critical"
gate 2 "--fail-on bogus: exit 2" --fail-on bogus
gate 2 "--min-level bogus: exit 2" --min-level bogus
gate 2 "--format bogus: exit 2" --format bogus

# ---------------------------------------------------------------------------
# ack: still reported, marked, no longer failing.
"$LOGAUDIT" ack --db g.db --service gate --revision gate-00002-bbb \
    --note "known: client bug" ws-close-1011 > ack.out 2>&1
is $? 0 "ack: exit 0" || diag_file ack.out
gate 0 "ack: the acknowledged pattern no longer fails (it was the only one)" \
    --service gate
is "$(get gate.json pa gate ws-close-1011 class count acknowledged flagged)" \
    "new 2 true false" "ack: still reported new, acknowledged, not flagged"
is "$(shape gate.json)" ok "ack: JSON shape"
"$LOGAUDIT" diff --db g.db --service gate > ack.txt 2>&1
is "$(awk '/ws-close-1011/ {print $1, $2, $3}' ack.txt)" \
    "new (ack) ws-close-1011" "ack: text marks it (ack), no *" ||
    diag_file ack.txt
"$LOGAUDIT" diff --db g.db --service gate --format markdown > ack.md 2>&1
grep -q '^| `ws-close-1011` (acknowledged) | 2 |' ack.md
ok $? "ack: markdown marks it (acknowledged)" || diag_file ack.md 40
grep -q '^\*\*Verdict:\*\* 1 new pattern, none failing (below the failing level or count, acknowledged, or --fail-on excludes new)\.$' ack.md
ok $? "ack: markdown verdict: nothing fails"
"$LOGAUDIT" ack --db g.db --service gatec --revision gatec-00001-aaa \
    gunicorn-worker-timeout > /dev/null 2>&1
gate 1 "ack: of another revision does not silence this one" --service gatec
is "$(get gate.json pa gatec gunicorn-worker-timeout acknowledged)" false \
    "ack: another revision's ack: not acknowledged here"
"$LOGAUDIT" ack --db g.db --service gatec gunicorn-worker-timeout \
    > /dev/null 2>&1
is $? 0 "ack without --revision: exit 0"
gate 0 "ack without --revision: every revision acknowledged" --service gatec
"$LOGAUDIT" ack --db g.db --service nosuch ws-close-1011 > /dev/null 2>&1
is $? 2 "ack: an unknown service: exit 2"
"$LOGAUDIT" ack --db g.db ws-close-1011 > acksv.out 2>&1
is $? 2 "ack: without --service, several services: exit 2"
grep -q 'several services (gate, gatec, gatew); give --service' acksv.out
ok $? "ack: without --service: names the services" || diag_file acksv.out
acks() { db_value "$1" "SELECT count(*) FROM acks"; }
n0=$(acks g.db)
"$LOGAUDIT" ack --db g.db --service gate --revision nosuch-rev \
    ws-close-1011 > ackrev.out 2>&1
is "$? $(acks g.db)" "2 $n0" "ack: an unknown revision: exit 2, nothing recorded"
grep -q 'service gate: no revision nosuch-rev' ackrev.out
ok $? "ack: an unknown revision: says so" || diag_file ackrev.out
"$LOGAUDIT" ack --db g.db --service gatew --revision gate-00002-bbb \
    deprecation > /dev/null 2>&1
is "$? $(acks g.db)" "2 $n0" "ack: another service's revision: exit 2"
"$LOGAUDIT" ack --db g.db --service gate bogus-id > ackpat.out 2>&1
is "$? $(acks g.db)" "2 $n0" "ack: an unknown pattern: exit 2, nothing recorded"
grep -q 'service gate: no pattern or template bogus-id' ackpat.out
ok $? "ack: an unknown pattern: says so" || diag_file ackpat.out
"$LOGAUDIT" ack --db g.db --service gate --revision nosuch-rev bogus-id \
    > /dev/null 2>&1
is "$? $(acks g.db)" "2 $n0" "ack: unknown revision and pattern: exit 2"
# a catalogue pattern the service never showed can be acknowledged ahead
"$LOGAUDIT" ack --db g.db --service gate http-5xx > /dev/null 2>&1
is "$? $(acks g.db)" "0 $((n0 + 1))" "ack: a catalogue pattern not yet seen: exit 0"
# a template: only one its service counted
cp a.db acka.db
tpl=$(db_value acka.db "SELECT rp.pattern FROM revision_patterns rp JOIN revisions r ON r.id = rp.revision_id WHERE r.service = 'shop' AND rp.pattern LIKE 'tpl-%' LIMIT 1")
"$LOGAUDIT" ack --db acka.db --service shop "$tpl" > /dev/null 2>&1
is "$? $(acks acka.db)" "0 1" "ack: a template the service counted: exit 0"
"$LOGAUDIT" ack --db g.db --service gate "$tpl" > /dev/null 2>&1
is "$? $(acks g.db)" "2 $((n0 + 1))" "ack: a template the service never counted: exit 2"
# one service: --service may be left out
cp solo.db ack1.db
"$LOGAUDIT" ack --db ack1.db ws-close-1011 > ack1.out 2>&1
is $? 0 "ack: without --service, one service: exit 0" || diag_file ack1.out
"$LOGAUDIT" ack --db ack1.db --revision solo-00001-aaa --note n \
    ws-close-1011 > /dev/null 2>&1
is $? 0 "ack: without --service, with --revision: exit 0"
is "$(db_value ack1.db "SELECT group_concat(project || '/' || service || '/' || revision || '/' || pattern, ' ') FROM (SELECT * FROM acks ORDER BY revision)")" \
    "pa/solo//ws-close-1011 pa/solo/solo-00001-aaa/ws-close-1011" \
    "ack: without --service: recorded for the only service"

# ---------------------------------------------------------------------------
# Real consecutive pairs: netra-frontend-staging 00005 -> 00006 and
# netra-auth-service 00006 -> 00007 (the only services of the public
# captures with two revisions), and the two services of the bundled
# example export that have more than one revision.  The expected sets come from `logaudit match` (no store,
# no diff code), grouped by revision: new = only in R, gone = only in R0,
# and the counts.  The captures have no pattern only in the newer revision;
# the example export has some, so "new" is checked on something.
EXPORT="$TEST_SRCDIR/../examples/cloud-run-export.json"
cat > pairs.py <<'PY'
import collections, json, sys
by = collections.defaultdict(collections.Counter)
for line in open(sys.argv[1]):
    e = json.loads(line)
    by[(e.get("service"), e.get("revision"))].update(e["patterns"])
for c in json.load(open(sys.argv[2]))["comparisons"]:
    if c["against"] is None:
        continue
    R, R0 = by[(c["service"], c["revision"])], by[(c["service"], c["against"])]
    cat = [p for p in c["patterns"] if p["kind"] == "catalogue"]
    got = lambda cls: sorted(p["id"] for p in cat if p["class"] == cls)
    both = set(R) & set(R0)
    print("%s<%s new=%s gone=%s both-not-new=%s counts=%s all-listed=%s "
          "nnew=%d ngone=%d nboth=%d" % (c["revision"], c["against"],
        got("new") == sorted(set(R) - set(R0)),
        got("gone") == sorted(set(R0) - set(R)),
        all(p["class"] not in ("new", "returning") for p in cat
            if p["id"] in both),
        all((p["count"], p["previous_count"]) == (R[p["id"]], R0[p["id"]])
            for p in cat),
        sorted(p["id"] for p in cat) == sorted(set(R) | set(R0)),
        len(set(R) - set(R0)), len(set(R0) - set(R)), len(both)))
PY
pairs() {	# DB INPUT OUT: ingest, diff, match; one line per pair in OUT
	"$LOGAUDIT" ingest -q --db "$1" "$2" &&
	    "$LOGAUDIT" diff --db "$1" --format json --fail-on none > "$3.json" &&
	    "$LOGAUDIT" match --format json "$2" 2>/dev/null > "$3.match" &&
	    "$PYTHON3" pairs.py "$3.match" "$3.json" > "$3"
}
pairs real.db "$REAL" real.txt
is $? 0 "real: ingested, compared and matched" || diag_file real.txt
cp real.txt.json real.json
"$PYTHON3" facts.py real.json > real.json.facts
is "$(shape real.json)" ok "real: JSON shape"
pairs ex.db "$EXPORT" ex.txt
is $? 0 "example export: ingested, compared and matched" || diag_file ex.txt
while read -r pair rest; do diag "$pair $rest"; done < real.txt
while read -r pair rest; do diag "$pair $rest"; done < ex.txt
is "$(cut -d' ' -f1 real.txt | tr '\n' ' ')" \
    "netra-auth-service-00007-5rx<netra-auth-service-00006-86c netra-frontend-staging-00006-g8g<netra-frontend-staging-00005-n5g " \
    "real: the two consecutive pairs compared" || diag_file real.txt
is "$(wc -l < ex.txt | tr -d ' ')" 2 \
    "example export: two pairs compared (the third service has one revision)"
for k in new gone both-not-new counts all-listed; do
	is "$(cat real.txt ex.txt | grep -c " $k=True ")" 4 \
	    "real and example pairs: $k as match says"
done
is "$(sed 's/.* nnew=\([0-9]*\) .*/\1/' ex.txt | awk '{ s += $1 } END { print (s > 0) }')" 1 \
    "example export: some pattern is only in a newer revision"
is "$(sed 's/.* nboth=\([0-9]*\)$/\1/' ex.txt | awk '{ s += $1 } END { print (s > 0) }')" 1 \
    "example export: some pattern is in both revisions of a pair"
echo real.json >> diffs.list
echo ex.txt.json >> diffs.list

# ---------------------------------------------------------------------------
# Every diff JSON of this test against the published JSON Schema
# (docs/schema/diff.schema.json, draft 2020-12), with python3-jsonschema.
SCHEMA="$TEST_SRCDIR/../docs/schema/diff.schema.json"
JSPY=$(py_with jsonschema)
if [ -n "$JSPY" ]; then
	sort -u diffs.list > diffs.sorted
	"$JSPY" - "$SCHEMA" diffs.sorted > schema.txt 2>&1 <<'PY'
import json, sys
import jsonschema
V = jsonschema.Draft202012Validator
schema = json.load(open(sys.argv[1]))
V.check_schema(schema)
v = V(schema)
files = [l.strip() for l in open(sys.argv[2]) if l.strip()]
bad = []
for f in files:
    errs = list(v.iter_errors(json.load(open(f))))
    if errs:
        bad.append("%s: %s" % (f, errs[0].message))
print("checked %d invalid %d" % (len(files), len(bad)))
for b in bad[:5]:
    print(b)
# the schema can fail: a class it does not know, a missing key
doc = json.load(open("real.json"))
p = [c for c in doc["comparisons"] if c["patterns"]][0]["patterns"][0]
p["class"] = "worse"
print("mutated-class %s" % v.is_valid(doc))
p["class"] = "gone"
del p["p_value"]
print("mutated-key %s" % v.is_valid(doc))
PY
	is "$(sed -n 's/^checked [0-9]* invalid //p' schema.txt)" 0 \
	    "JSON Schema: every diff output of this test is valid" ||
	    diag_file schema.txt
	is "$(awk '/^checked/ { print ($2 >= 20) }' schema.txt)" 1 \
	    "JSON Schema: 20 or more outputs checked" || diag_file schema.txt
	is "$(sed -n 's/^mutated-//p' schema.txt | tr '\n' ' ')" \
	    "class False key False " \
	    "JSON Schema: an unknown class or a missing key is invalid"
else
	for t in "every output valid" "20 or more checked" "mutations invalid"; do
		skip "JSON Schema: $t" "python3 jsonschema module not installed"
	done
fi

# http-404: 2 in 8 requests of 00005, none in 2 of 00006: exp(-2 * 2 / 8)
is "$(near real.json netra-staging netra-frontend-staging http-404 p_value 0.6065306597126334 1e-9)" \
    ok "real: http-404 gone, p-value exp(-2*2/8)"

done_testing
