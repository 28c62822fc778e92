#!/usr/bin/env python3
"""Generate benchmark input for `make bench`: Cloud Run LogEntry JSON, fast.

    bench/gen.py --format ndjson|array --size-mb N [--seed S] OUT

Writes at least N MiB (N * 1048576 bytes, stopping after the entry that
crosses it) of synthetic Cloud Run logs shaped like the measurements in the
performance notes: about 1,160 bytes an entry as compact JSON, messages of
about 85 bytes on two entries in three (5% of the bytes), a third of the
entries request logs with no message; stdout (plain and structured),
stderr, varlog/system, requests and a few audit entries of five services
with three or four revisions each over one day; unique insertIds.
Error-ish content: 4% of the entries carry a message the default
catalogue (patterns/*.conf) knows (5xx access lines, tracebacks, WebSocket
1011 and NO_TOKEN, deprecation warnings, startup validation bypassed, Cloud
Run's 503 text), 1% are 5xx request logs with no message (matched by
status), 0.5% carry errors no pattern knows (OOM kills, worker timeouts,
connection resets).

  ndjson  one compact entry per line, oldest first: a Cloud Storage sink.
  array   gcloud logging read --format=json: "[\\n", each entry pretty
          printed with sorted keys and every line indented by two spaces,
          ",\\n" between entries, "\\n]\\n"; newest first.  The same
          entries take about 1.22 times the bytes, so fewer fit in N MiB.

Speed comes from rendering every entry shape once with json.dumps, with
placeholders, and then only substituting ids, times and pre-escaped
messages per entry (%-formatting): 1 GiB takes well under a minute.
Deterministic for a given --seed.  Python 3 standard library only.
"""

import argparse
import json
import random
import re
import sys
import time

PROJECT = "acme-prod"
REGION = "europe-west1"
DAY_START = 1757980800		# 2025-09-16T00:00:00Z
DAY_US = 86400 * 1000000

# name, revisions (sequence, suffix), share of traffic, base image of a
# service deployed from source (Cloud Run then labels every entry with it)
SERVICES = [
    ("chat-api", [(41, "qd2"), (42, "x7k"), (43, "m4p"), (44, "c8n")], 34,
     None),
    ("auth-service", [(17, "b9w"), (18, "r2n"), (19, "k5t")], 22, None),
    ("billing-worker", [(203, "h2v"), (204, "pz9"), (205, "a4e")], 16, None),
    ("web-frontend", [(1187, "t6q"), (1188, "wm3"), (1189, "j0s")], 18,
     "us-docker.pkg.dev/serverless-runtimes/google-22-full/runtimes/"
     "nodejs22:nodejs22_20250810_22_17_1_RC00"),
    ("notifications", [(9, "e7d"), (10, "u1f"), (11, "y3b")], 10,
     "us-docker.pkg.dev/serverless-runtimes/google-22-full/runtimes/"
     "python312:python312_20250810_3_12_11_RC00"),
]


# -- entry shapes -------------------------------------------------------------

def resource(svc):
    return {
        "labels": {
            "configuration_name": svc,
            "location": REGION,
            "project_id": PROJECT,
            "revision_name": "@REV@",
            "service_name": svc,
        },
        "type": "cloud_run_revision",
    }


def audit_skeleton(kind, svc):
    """Audit entries: a deploy (activity) and its Ready condition."""
    e = {
        "insertId": "@IID@",
        "logName": "projects/%s/logs/cloudaudit.googleapis.com%%2F%s" % (
            PROJECT, "activity" if kind == "audit_activity" else
            "system_event"),
        "receiveTimestamp": "@RTS@",
        "resource": resource(svc),
        "timestamp": "@TS@",
    }
    e["resource"]["labels"]["revision_name"] = ""
    e["resource"]["labels"]["configuration_name"] = ""
    if kind == "audit_event":
        e["severity"] = "INFO"
        e["protoPayload"] = {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "methodName": "/Services.ReplaceService",
            "resourceName": "namespaces/%s/services/%s" % (PROJECT, svc),
            "serviceName": "run.googleapis.com",
            "status": {"message": "Ready condition status changed to True "
                       "for Service %s." % svc},
        }
        return e
    sa = "cloud-build-deployer@%s.iam.gserviceaccount.com" % PROJECT
    e["severity"] = "NOTICE"
    e["protoPayload"] = {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "authenticationInfo": {"principalEmail": sa,
                               "principalSubject": "serviceAccount:" + sa},
        "authorizationInfo": [{
            "granted": True, "permission": "run.services.update",
            "permissionType": "ADMIN_WRITE",
            "resource": "namespaces/%s/services/%s" % (PROJECT, svc),
            "resourceAttributes": {}}],
        "methodName": "google.cloud.run.v1.Services.ReplaceService",
        "request": {
            "@type": "type.googleapis.com/google.cloud.run.v1."
                     "ReplaceServiceRequest",
            "name": "namespaces/%s/services/%s" % (PROJECT, svc),
            "service": {
                "apiVersion": "serving.knative.dev/v1", "kind": "Service",
                "metadata": {
                    "annotations": {
                        "run.googleapis.com/client-name": "gcloud",
                        "run.googleapis.com/client-version": "538.0.0",
                        "run.googleapis.com/ingress": "all"},
                    "labels": {"cloud.googleapis.com/location": REGION,
                               "managed-by":
                                   "gcp-cloud-build-deploy-cloud-run"},
                    "name": svc, "namespace": "731945826104"},
                "spec": {
                    "template": {
                        "metadata": {"annotations": {
                            "autoscaling.knative.dev/maxScale": "20",
                            "run.googleapis.com/startup-cpu-boost": "true"}},
                        "spec": {
                            "containerConcurrency": 80,
                            "containers": [{
                                "image": "%s-docker.pkg.dev/%s/services/%s:"
                                         "latest" % (REGION, PROJECT, svc),
                                "ports": [{"containerPort": 8080,
                                           "name": "http1"}],
                                "resources": {"limits": {
                                    "cpu": "1", "memory": "512Mi"}}}],
                            "serviceAccountName": "%s@%s.iam."
                            "gserviceaccount.com" % (svc, PROJECT),
                            "timeoutSeconds": 300}},
                    "traffic": [{"latestRevision": True, "percent": 100}]}}},
        "requestMetadata": {
            "callerIp": "34.76.18.101",
            "callerSuppliedUserAgent": "google-cloud-sdk gcloud/538.0.0 "
            "command/gcloud.run.deploy environment/GCE client-os/LINUX "
            "python/3.12.8,gzip(gfe)",
            "destinationAttributes": {},
            "requestAttributes": {"auth": {}, "time": "@TS@"}},
        "resourceLocation": {"currentLocations": [REGION]},
        "resourceName": "namespaces/%s/services/%s" % (PROJECT, svc),
        "serviceName": "run.googleapis.com",
    }
    return e


def skeleton(kind, svc, base_image):
    """The entry for kind with placeholders where each entry differs."""
    if kind.startswith("audit"):
        return audit_skeleton(kind, svc)
    e = {
        "insertId": "@IID@",
        "labels": {"instanceId": "@INST@"},
        "logName": "projects/%s/logs/run.googleapis.com%%2F%s" % (
            PROJECT, {"stdout": "stdout", "json": "stdout",
                      "stderr": "stderr", "stderr_sev": "stderr",
                      "system": "varlog%2Fsystem", "request": "requests",
                      "request_text": "requests"}[kind]),
        "receiveTimestamp": "@RTS@",
        "resource": resource(svc),
        "timestamp": "@TS@",
    }
    if base_image:
        e["labels"]["run.googleapis.com/base_image_versions"] = base_image
    if kind in ("stdout", "stderr"):
        e["textPayload"] = "@MSG@"			# no severity: plain lines
    elif kind in ("stderr_sev", "system"):
        e["textPayload"] = "@MSG@"
        e["severity"] = "@SEV@"
        if kind == "stderr_sev":
            e["errorGroups"] = [{"id": "@GROUP@"}]
    elif kind == "json":
        # a structured logger's line; Cloud Run lifted severity, trace,
        # spanId and sourceLocation out of it
        e["jsonPayload"] = {
            "client_ip": "@IP@",
            "duration_ms": "@DUR@",
            "env": "production",
            "http_method": "@METHOD@",
            "logger": "@LOGGER@",
            "message": "@MSG@",
            "process": 1,
            "request_id": "@RID@",
            "route": "@ROUTE@",
            "thread": "asyncio_0",
            "user_agent": "@UA@",
            "user_id": "@UID@",
            "version": "2.%d.%d" % (len(svc) % 7, len(svc) * 3 % 11),
        }
        e["labels"]["python_logger"] = "@LOGGER@"
        e["severity"] = "@SEV@"
        e["sourceLocation"] = {"file": "@SRCFILE@", "function": "@SRCFUNC@",
                               "line": "@SRCLINE@"}
        e["spanId"] = "@SPAN@"
        e["trace"] = "projects/%s/traces/@TRACE@" % PROJECT
        e["traceSampled"] = False
    else:
        e["labels"].update({
            "commit-sha": "@COMMIT@",
            "gcb-build-id": "@BUILD@",
            "managed-by": "gcp-cloud-build-deploy-cloud-run",
        })
        e["httpRequest"] = {
            "latency": "@LAT@",
            "protocol": "HTTP/1.1",
            "referer": "https://app.acme.example/rooms",
            "remoteIp": "@IP@",
            "requestMethod": "@METHOD@",
            "requestSize": "@REQSZ@",
            "requestUrl": "https://%s-731945826104.%s.run.app@PATH@" % (
                svc, REGION),
            "responseSize": "@RESPSZ@",
            "serverIp": "34.143.74.2",
            "status": "@STATUS@",
            "userAgent": "@UA@",
        }
        e["severity"] = "@SEV@"
        e["spanId"] = "@SPAN@"
        e["trace"] = "projects/%s/traces/@TRACE@" % PROJECT
        e["traceSampled"] = False
        if kind == "request_text":
            e["textPayload"] = "@MSG@"
    return e


def to_template(text):
    """A json.dumps rendering with @X@ placeholders -> a %-format string."""
    text = text.replace("%", "%%")
    text = text.replace('"@STATUS@"', "%(status)s")
    text = text.replace('"@DUR@"', "%(dur)s")
    for name in ("IID", "INST", "RTS", "REV", "TS", "MSG", "SEV", "LOGGER",
                 "RID", "TRACE", "COMMIT", "BUILD", "LAT", "IP", "METHOD",
                 "REQSZ", "PATH", "RESPSZ", "UA", "SPAN", "GROUP", "ROUTE",
                 "UID", "SRCFILE", "SRCFUNC", "SRCLINE"):
        text = text.replace("@%s@" % name, "%%(%s)s" % name.lower())
    assert not re.search("@[A-Z]+@", text), text
    return text


def render_compact(e):
    return json.dumps(e, separators=(",", ":"), ensure_ascii=False)


def render_pretty(e):
    s = json.dumps(e, indent=2, sort_keys=True, separators=(",", ": "),
                   ensure_ascii=False)
    return "\n".join("  " + line for line in s.split("\n"))


# -- messages -------------------------------------------------------------------

def esc(s):
    """The inside of a JSON string literal for s."""
    return json.dumps(s, ensure_ascii=False)[1:-1]


def pool(rng, makers, n):
    """n pre-escaped messages drawn from makers (functions of rng)."""
    return [esc(rng.choice(makers)(rng)) for _ in range(n)]


def hx(rng, n):
    return "%0*x" % (n, rng.getrandbits(4 * n))


def clock(rng):
    return "2025-09-16 %02d:%02d:%02d,%03d" % (
        rng.randrange(24), rng.randrange(60), rng.randrange(60),
        rng.randrange(1000))


def gclock(rng):
    return "[2025-09-16 %02d:%02d:%02d +0000]" % (
        rng.randrange(24), rng.randrange(60), rng.randrange(60))


OK_PATHS = ["/api/v1/rooms?include=members,unread&page_size=50",
            "/api/v1/rooms/r-%s/messages?limit=50&before=m_1873%s",
            "/api/v1/messages", "/api/v1/users/me?fields=profile,settings",
            "/health", "/v1/token", "/v1/token/refresh",
            "/.well-known/jwks.json",
            "/api/v2/invoices/inv_%s?expand=lines,customer",
            "/static/js/app.%s.js", "/api/v1/notifications/ack",
            "/api/v1/search?q=release+notes&room=r-%s&limit=20"]
REASON = {200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified",
          401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          422: "Unprocessable Entity", 500: "Internal Server Error",
          502: "Bad Gateway", 503: "Service Unavailable",
          504: "Gateway Timeout"}


def some_path(rng):
    p = rng.choice(OK_PATHS)
    return p % ((hx(rng, 6),) * p.count("%s"))


def access_line(rng, status):
    method = "POST" if rng.random() < 0.3 else "GET"
    return 'INFO:     169.254.1.1:0 - "%s %s HTTP/1.1" %d %s' % (
        method, some_path(rng), status, REASON[status])


STDOUT_MAKERS = [
    lambda r: access_line(r, r.choice([200, 200, 200, 201, 204, 304])),
    lambda r: access_line(r, 200),
    lambda r: 'INFO:     169.254.1.1:0 - "WebSocket /ws/chat?room=r-%s&'
              'client=%s" [accepted]' % (hx(r, 6), r.choice(
                  ["web-2.14.1", "ios-2.14.1", "android-2.14.0"])),
    lambda r: "INFO:     connection closed after %.1fs (%d frames, "
              "room r-%s)" % (r.uniform(1, 900), r.randrange(1, 900),
                              hx(r, 6)),
    lambda r: '169.254.169.126:%d - "GET /health HTTP/1.1" 200' % (
        r.randrange(30000, 60000)),
    lambda r: "%s - chat.api - INFO - Delivered message m_%d to %d "
              "subscribers in room r-%s" % (clock(r), r.randrange(10 ** 7),
                                            r.randrange(1, 40), hx(r, 6)),
    lambda r: "Processed batch %d from subscription notify-events: %d events "
              "in %d ms (lag %d ms)" % (
                  r.randrange(10 ** 6), r.randrange(1, 500),
                  r.randrange(2, 900), r.randrange(0, 3000)),
    lambda r: "GET /api/notifications?since=%d&limit=%d 200 %d - %.3f ms" % (
        r.randrange(10 ** 9), r.choice([20, 50, 100]), r.randrange(100, 9000),
        r.uniform(1, 80)),
    lambda r: "Rendered /rooms/r-%s for user u_%d in %d ms (cache %s, "
              "%d components)" % (hx(r, 6), r.randrange(10 ** 5),
                                  r.randrange(3, 300),
                                  r.choice(["hit", "miss"]),
                                  r.randrange(10, 90)),
]
STDERR_MAKERS = [
    lambda r: "%s INFO [auth.tokens] Issued access token sub=u_%d "
              "client_id=%s scope=chat.read,chat.write ttl=900s" % (
                  clock(r), r.randrange(10 ** 5),
                  r.choice(["web-app", "mobile-ios", "chat-api"])),
    lambda r: "%s [%d] [INFO] Booting worker with pid: %d" % (
        gclock(r), 1, r.randrange(7, 40)),
    lambda r: 'DEBUG:urllib3.connectionpool:https://oauth2.googleapis.com:'
              '443 "POST /token HTTP/1.1" 200 None',
    lambda r: "%s [%d] [INFO] Application startup complete." % (
        gclock(r), r.randrange(7, 40)),
    lambda r: "%s INFO [billing.sync] Synced %d invoices for account "
              "acct_%s in %.2fs (%d skipped, next cursor %s)" % (
                  clock(r), r.randrange(1, 200), hx(r, 8), r.uniform(0.1, 9),
                  r.randrange(0, 5), hx(r, 12)),
    lambda r: "%s DEBUG [notify.push] FCM send ok message_id=%s device=%s "
              "topic=%s" % (clock(r), hx(r, 16), hx(r, 8),
                            r.choice(["mentions", "dm", "digest"])),
]
JSON_MAKERS = [
    lambda r: "Order %s settled: %d items, total %d.%02d EUR, payment "
              "method card_%s" % (hx(r, 10), r.randrange(1, 9),
                                  r.randrange(5, 900), r.randrange(100),
                                  hx(r, 4)),
    lambda r: "Room r-%s: %d members online, %d messages in the last "
              "minute, %d typing" % (hx(r, 6), r.randrange(1, 300),
                                     r.randrange(0, 900), r.randrange(0, 9)),
    lambda r: "Token refreshed for user u_%d via %s (expires in 900s, "
              "rotation %d)" % (r.randrange(10 ** 5),
                                r.choice(["web-app", "mobile-ios"]),
                                r.randrange(1, 40)),
    lambda r: "Push notification queued for %d devices (topic %s, "
              "priority %s, collapse key %s)" % (
                  r.randrange(1, 50), r.choice(["mentions", "dm", "digest"]),
                  r.choice(["high", "normal"]), hx(r, 8)),
    lambda r: "Message m_%d stored in room r-%s (%d bytes, %d attachments, "
              "%d mentions)" % (r.randrange(10 ** 7), hx(r, 6),
                                r.randrange(10, 4000), r.randrange(0, 3),
                                r.randrange(0, 5)),
]
SYSTEM_MAKERS = [
    lambda r: "Starting new instance. Reason: AUTOSCALING - Instance started "
              "due to configured scaling factors (e.g. CPU utilization, "
              "request throughput, etc.) or no existing capacity for "
              "current traffic.",
    lambda r: 'Default STARTUP TCP probe succeeded after 1 attempt for '
              'container "app-1" on port 8080.',
    lambda r: "Shutting down user disabled instance",
]

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/usr/local/lib/python3.11/site-packages/starlette/routing.py", '
    "line 74, in app\n"
    "    response = await func(request)\n"
    '  File "/app/%s.py", line %d, in %s\n'
    "    %s\n"
    "%s")
TB_CASES = [
    ("chat/ws/hub", "dispatch", 'session = self.sessions[frame["session_id"]]',
     "KeyError: 'session_id'"),
    ("billing/sync", "fetch_invoices", "rows = await conn.fetch(QUERY, acct)",
     "asyncpg.exceptions.ConnectionDoesNotExistError: connection was closed "
     "in the middle of operation"),
    ("auth/jwks", "refresh", "resp = await client.get(JWKS_URL)",
     "httpx.ReadTimeout: timed out"),
]

# Error-ish messages the default catalogue (patterns/*.conf) knows:
# (maker, entry kind, severity), each about equally likely.
MATCHED_MAKERS = [
    (lambda r: access_line(r, r.choice([500, 500, 502, 503, 504])),
     "stdout", None),
    (lambda r: access_line(r, 500), "stdout", None),
    (lambda r: "WebSocket closed with code 1011 (internal error)", "json",
     "ERROR"),
    (lambda r: "websockets.exceptions.ConnectionClosedError: received 1011 "
               "(internal error); then sent 1011 (internal error)",
     "stderr", None),
    (lambda r: "WebSocket auth failed: NO_TOKEN", "json", "WARNING"),
    (lambda r: "/usr/local/lib/python3.11/site-packages/pydantic/_internal/"
               "_config.py:323: PydanticDeprecatedSince20: Support for "
               "class-based `config` is deprecated, use ConfigDict instead.",
     "stderr", None),
    (lambda r: "/app/chat/util/clock.py:%d: DeprecationWarning: "
               "datetime.datetime.utcnow() is deprecated" % r.randrange(9, 90),
     "stderr", None),
    (lambda r: "BYPASSING STARTUP VALIDATION - 1 critical failure ignored",
     "json", "WARNING"),
    (lambda r: TRACEBACK % (lambda c: (c[0], r.randrange(20, 400), c[1],
                                       c[2], c[3]))(r.choice(TB_CASES)),
     "stderr_sev", "ERROR"),
    (lambda r: "The request failed because either the HTTP response was "
               "malformed or connection to the instance had an error. "
               "Additional troubleshooting documentation can be found at: "
               "https://cloud.google.com/run/docs/troubleshooting"
               "#malformed-response-or-connection-error",
     "request_text", "ERROR"),
]
# Error-ish messages no pattern knows (logaudit fingerprints those).
UNKNOWN_MAKERS = [
    (lambda r: "Unhandled error in POST /api/v1/messages: TimeoutError: "
               "database query exceeded 30s", "json", "ERROR"),
    (lambda r: "ConnectionResetError: [Errno 104] Connection reset by peer",
     "stderr", None),
    (lambda r: "redis.exceptions.ConnectionError: Error 111 connecting to "
               "10.41.0.%d:6379. Connection refused." % r.randrange(2, 9),
     "stderr", None),
    (lambda r: "%s [1] [CRITICAL] WORKER TIMEOUT (pid:%d)" % (
        gclock(r), r.randrange(7, 40)), "stderr", None),
    (lambda r: "Memory limit of 512 MiB exceeded with %d MiB used. Consider "
               "increasing the memory limit, see https://cloud.google.com/"
               "run/docs/configuring/memory-limits" % r.randrange(513, 560),
     "system", "ERROR"),
    (lambda r: "Container terminated on signal 9.", "system", "WARNING"),
]

LOGGERS = ["chat.api", "chat.ws", "chat.rooms", "auth.tokens",
           "billing.sync", "billing.invoices", "notify.push", "web.ssr"]
SOURCES = [("/app/chat/api/messages.py", "post_message", 142),
           ("/app/chat/ws/hub.py", "broadcast", 203),
           ("/app/chat/rooms/service.py", "list_members", 57),
           ("/app/auth/tokens.py", "issue", 88),
           ("/app/billing/sync.py", "sync_account", 311),
           ("/app/notify/push.py", "send_batch", 76),
           ("/workspace/server/render.js", "renderPage", 412)]

USER_AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/139.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 "
    "Safari/604.1",
    "AcmeChat/2.14.1 (iOS 18.6; iPhone15,2)",
    "okhttp/4.12.0",
    "GoogleStackdriverMonitoring-UptimeChecks"
    "(https://cloud.google.com/monitoring)",
]


# -- the generator --------------------------------------------------------------

class Gen:
    def __init__(self, seed, pretty):
        rng = random.Random(seed)
        self.rng = rng
        render = render_pretty if pretty else render_compact
        self.services = []
        kinds = ("stdout", "json", "stderr", "stderr_sev", "system",
                 "request", "request_text", "audit_activity", "audit_event")
        for svc, revs, share, base_image in SERVICES:
            tmpl = {k: to_template(render(skeleton(k, svc, base_image)))
                    for k in kinds}
            rv = []
            for seq, suffix in revs:
                rv.append({
                    "rev": "%s-%05d-%s" % (svc, seq, suffix),
                    "commit": hx(rng, 40),
                    "build": "%s-%s-4%s-a%s-%s" % (hx(rng, 8), hx(rng, 4),
                                                    hx(rng, 3), hx(rng, 3),
                                                    hx(rng, 12)),
                    "insts": ["0069c7a988" + hx(rng, 146)
                              for _ in range(rng.randrange(2, 5))],
                })
            self.services.append((svc, tmpl, rv))
        self.svc_weights = [s[2] for s in SERVICES]
        self.stdout = pool(rng, STDOUT_MAKERS, 4000)
        self.stderr = pool(rng, STDERR_MAKERS, 2000)
        self.json = pool(rng, JSON_MAKERS, 2000)
        self.system = pool(rng, SYSTEM_MAKERS, 30)
        self.matched = [(pool(rng, [m], 60), kind, sev)
                        for m, kind, sev in MATCHED_MAKERS]
        self.unknown = [(pool(rng, [m], 60), kind, sev)
                        for m, kind, sev in UNKNOWN_MAKERS]
        self.ips = ["%d.%d.%d.%d" % (rng.choice([81, 92, 35, 176, 212]),
                                     rng.randrange(256), rng.randrange(256),
                                     rng.randrange(1, 255))
                    if rng.random() < 0.7 else
                    "2a01:cb08:%x:%x:%x:%x:%x:%x" % tuple(
                        rng.getrandbits(16) for _ in range(6))
                    for _ in range(2000)]
        self.uas = [esc(u) for u in USER_AGENTS]
        self.short_uas = [esc(u) for u in ("AcmeChat/2.14.1 (iOS 18.6)",
                                           "AcmeChat/2.14.0 (Android 15)",
                                           "acme-web/5.3.0", "okhttp/4.12.0",
                                           "python-httpx/0.28.1")]
        self.paths = [esc(some_path(rng)) for _ in range(2000)]
        self.routes = [esc(some_path(rng).split("?")[0]) for _ in range(500)]
        self.loggers = [esc(x) for x in LOGGERS]
        self.sources = [tuple(esc(str(y)) for y in x) for x in SOURCES]
        self.groups = ["C%s" % hx(rng, 13) for _ in range(len(TB_CASES))]
        # (upper bound of a uniform draw, kind): cumulative shares
        self.mix = [(0.335, "request"), (0.46, "stdout"), (0.57, "stderr"),
                    (0.968, "json"), (0.997, "system"), (1.0, "audit")]
        self.sec_cache = {}
        self.salt = rng.getrandbits(32)

    def stamp(self, sec):
        s = self.sec_cache.get(sec)
        if s is None:
            if len(self.sec_cache) > 4096:
                self.sec_cache.clear()
            s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
            self.sec_cache[sec] = s
        return s

    def entry(self, i, t_us):
        """Entry number i at t_us (microseconds since the epoch)."""
        rng = self.rng
        r = rng.random
        svc, tmpl, revs = rng.choices(self.services, self.svc_weights)[0]
        # revisions follow each other over the day, each service its own way
        frac = (t_us - DAY_START * 1000000) / DAY_US
        k = int((frac + 0.13 * len(svc) % 0.4) * len(revs) / 1.25)
        rev = revs[min(max(k, 0), len(revs) - 1)]
        sec, usec = divmod(t_us, 1000000)
        recv_ns = t_us * 1000 + 2000000 + rng.getrandbits(28)
        rsec, rns = divmod(recv_ns, 1000000000)
        # unique: i * odd constant is a bijection on 32 bits
        uniq = (i * 2654435761 + self.salt) & 0xffffffff
        v = {
            "iid": "%08x%08x%08x" % (sec, usec, uniq),
            "ts": "%s.%06dZ" % (self.stamp(sec), usec),
            "rts": "%s.%09dZ" % (self.stamp(rsec), rns),
            "inst": rng.choice(rev["insts"]),
            "rev": rev["rev"],
        }
        x = r()
        if x < 0.055:
            if x < 0.04:	# a message the catalogue knows
                msgs, kind, sev = rng.choice(self.matched)
            elif x < 0.05:	# a 5xx request log: matched by its status
                msgs, kind, sev = None, "request", "ERROR"
                v["status"] = rng.choice((500, 502, 503, 504))
            else:		# an error no pattern knows
                msgs, kind, sev = rng.choice(self.unknown)
            if msgs:
                v["msg"] = rng.choice(msgs)
            v["sev"] = sev
            if kind == "stderr_sev":
                v["group"] = rng.choice(self.groups)
        else:
            x = r()
            kind = next(k for bound, k in self.mix if x < bound)
            if kind == "request":
                # 404 is a pattern too (a warning): keep it to 1%
                v["status"] = 200 if x < 0.27 else 404 if x < 0.2705 else \
                    rng.choice((201, 204, 304, 401))
                v["sev"] = "INFO" if v["status"] < 400 else "WARNING"
            elif kind == "stdout":
                v["msg"] = rng.choice(self.stdout)
            elif kind == "stderr":
                v["msg"] = rng.choice(self.stderr)
            elif kind == "json":
                v["msg"] = rng.choice(self.json)
                v["sev"] = "INFO" if x < 0.9 else "DEBUG"
            elif kind == "system":
                v["msg"] = rng.choice(self.system)
                v["sev"] = "INFO"
            else:
                kind = "audit_activity" if x < 0.9985 else "audit_event"
                v["iid"] = "%s%09x" % ("-" if uniq & 1 else "", uniq)
        if kind == "json":
            v["logger"] = rng.choice(self.loggers)
            v["rid"] = "%012x" % rng.getrandbits(48)
            v["uid"] = "u_%d" % rng.getrandbits(17)
            v["route"] = rng.choice(self.routes)
            v["ip"] = rng.choice(self.ips)
            v["method"] = "GET" if r() < 0.7 else "POST"
            v["ua"] = rng.choice(self.short_uas)
            # odd thousandths: no trailing zero, so the text is what any
            # JSON printer would write for the number
            v["dur"] = "%d.%03d" % (rng.getrandbits(8),
                                    rng.getrandbits(9) | 1)
            v["srcfile"], v["srcfunc"], v["srcline"] = rng.choice(
                self.sources)
            v["span"] = "%016x" % rng.getrandbits(64)
            v["trace"] = "%032x" % rng.getrandbits(128)
        elif kind.startswith("request"):
            v.setdefault("status", 503)
            v["commit"] = rev["commit"]
            v["build"] = rev["build"]
            v["lat"] = "%d.%09ds" % (0, rng.getrandbits(29)) if \
                v["status"] < 500 else "%d.%09ds" % (rng.randrange(1, 30),
                                                     rng.getrandbits(29))
            v["ip"] = rng.choice(self.ips)
            v["method"] = "GET" if r() < 0.7 else "POST"
            v["reqsz"] = str(250 + rng.getrandbits(9))
            v["path"] = rng.choice(self.paths)
            v["respsz"] = str(180 + rng.getrandbits(13))
            v["ua"] = rng.choice(self.uas)
            v["span"] = "%016x" % rng.getrandbits(64)
            v["trace"] = "%032x" % rng.getrandbits(128)
        return tmpl[kind] % v


def estimate_entry_len(seed, pretty):
    g = Gen(seed, pretty)
    n = 20000
    t = DAY_START * 1000000
    total = sum(len(g.entry(i, t + i * 1000).encode("utf-8"))
                for i in range(n))
    return total / n


def main():
    ap = argparse.ArgumentParser(
        description="Generate Cloud Run LogEntry JSON for the benchmark.")
    ap.add_argument("--format", choices=("ndjson", "array"), required=True)
    ap.add_argument("--size-mb", type=float, required=True,
                    help="write at least this many MiB")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("out", help="output file ('-' for stdout)")
    args = ap.parse_args()

    pretty = args.format == "array"
    target = int(args.size_mb * 1048576)
    # spread the entries over one day: estimate how many there will be
    est = max(1, int(target / estimate_entry_len(args.seed + 1, pretty)))
    step = DAY_US / est
    g = Gen(args.seed, pretty)
    day0 = DAY_START * 1000000

    out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")
    started = time.monotonic()
    written = 0
    i = 0
    buf = []
    buf_len = 0
    if pretty:
        first, sep, last = "[\n", ",\n", "\n]\n"
    else:
        first, sep, last = "", "\n", "\n"
    while written + buf_len < target:
        jitter = int(g.rng.random() * step)
        if pretty:	# gcloud: newest first
            t = day0 + DAY_US - 1 - int(i * step) - jitter
        else:
            t = day0 + int(i * step) + jitter
        s = g.entry(i, t)
        if i == 0:
            s = first + s
        else:
            s = sep + s
        buf.append(s)
        buf_len += len(s)	# close to bytes: messages are mostly ASCII
        i += 1
        if buf_len >= 1 << 22:
            chunk = "".join(buf).encode("utf-8")
            out.write(chunk)
            written += len(chunk)
            buf = []
            buf_len = 0
    buf.append(last if i else ("[]\n" if pretty else ""))
    chunk = "".join(buf).encode("utf-8")
    out.write(chunk)
    written += len(chunk)
    out.flush()
    if args.out != "-":
        out.close()
    secs = time.monotonic() - started
    print("gen.py: %s: %d entries, %d bytes (%.1f MiB) in %.1fs, %.0f MB/s"
          % (args.out, i, written, written / 1048576.0, secs,
             written / 1e6 / max(secs, 1e-9)), file=sys.stderr)


if __name__ == "__main__":
    main()
