#!/usr/bin/env python3
"""Generate examples/cloud-run-export.json: a day in the life of two Cloud Run
services, exactly as `gcloud logging read --format=json` prints it.

The story a team would audit after a deploy (project acme-chat-prod,
europe-west1, 2025-09-16 06:00-12:00 UTC):

  chat-api-00041-qd2   the baseline: uvicorn access lines, WebSocket auth
                       failures (NO_TOKEN), Pydantic deprecation warnings at
                       startup, a rare 500.
  chat-api-00042-x7k   deployed 08:20; startup validation now fails and is
                       bypassed ("BYPASSING STARTUP VALIDATION ..."); one
                       instance runs out of memory (503s while it restarts).
  chat-api-00043-m4p   deployed 10:40; the WebSocket hub raises KeyError
                       (one traceback, then "WebSocket closed with code 1011
                       (internal error)" on every hit), 5xx clearly worse,
                       no more OOM.
  auth-service-00017-b9w  gunicorn + uvicorn workers, plain-text logging,
                       expired-token warnings, Pydantic V1 validators.
  auth-service-00018-r2n  deployed 09:05; the Pydantic warnings are gone,
                       per-client rate limiting (429) is new.

Plus the audit entries of the three deploys (protoPayload AuditLog,
revision_name "" for the service-level ones) and Cloud Run's own
varlog/system messages.  Plain stdout/stderr lines carry no severity, as on
Cloud Run.

Deterministic: a fixed seed and no clock; rerunning produces the same bytes.
Python 3 standard library only.

    python3 examples/generate.py [-o examples/cloud-run-export.json]
"""

import argparse
import datetime
import json
import os
import random
import sys

SEED = 20250916

PROJECT = "acme-chat-prod"
PROJECT_NUMBER = "731945826104"
REGION = "europe-west1"
DEPLOYER = "cloud-build-deployer@acme-chat-prod.iam.gserviceaccount.com"

WINDOW_START = datetime.datetime(2025, 9, 16, 6, 0, 0,
                                 tzinfo=datetime.timezone.utc)
WINDOW_HOURS = 6

rng = random.Random(SEED)


# -- time ------------------------------------------------------------------

def us_of(hh, mm, ss=0.0):
    """Microseconds since the epoch of hh:mm:ss (plus < 1 ms of jitter)."""
    base = int(WINDOW_START.replace(hour=0).timestamp()) * 1000000
    return base + int(((hh * 60 + mm) * 60 + ss) * 1000000) + \
        rng.randint(0, 999)


WIN_BEGIN = us_of(6, 0)
WIN_END = us_of(6 + WINDOW_HOURS, 0)


def fmt_us(us):
    """RFC 3339 with 6 fractional digits, as Cloud Run's timestamps."""
    sec, frac = divmod(us, 1000000)
    t = datetime.datetime.fromtimestamp(sec, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % frac


def fmt_ns(ns):
    """RFC 3339 with 9 fractional digits, as receiveTimestamp."""
    sec, frac = divmod(ns, 1000000000)
    t = datetime.datetime.fromtimestamp(sec, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % frac


def log_time(us):
    """Python logging's asctime: 2025-09-16 07:12:03,114"""
    sec, frac = divmod(us, 1000000)
    t = datetime.datetime.fromtimestamp(sec, datetime.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S") + ",%03d" % (frac // 1000)


def gunicorn_time(us):
    """gunicorn's [2025-09-16 09:05:12 +0000]"""
    t = datetime.datetime.fromtimestamp(us // 1000000, datetime.timezone.utc)
    return t.strftime("[%Y-%m-%d %H:%M:%S +0000]")


# -- identifiers -------------------------------------------------------------

def hexs(n):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def base36(n):
    return "".join(rng.choice("0123456789abcdefghijklmnopqrstuvwxyz")
                   for _ in range(n))


_used_insert_ids = set()


def cloud_run_insert_id(us):
    """24 hex: seconds, microseconds (as the agent saw them), random."""
    while True:
        seen = us + rng.randint(50, 4000)
        iid = "%08x%08x%s" % (seen // 1000000, seen % 1000000, hexs(8))
        if iid not in _used_insert_ids:
            _used_insert_ids.add(iid)
            return iid


def audit_insert_id():
    """Audit logs: short base36, sometimes with a leading '-'."""
    while True:
        iid = ("-" if rng.random() < 0.3 else "") + base36(rng.choice(
            (10, 11, 12)))
        if iid not in _used_insert_ids:
            _used_insert_ids.add(iid)
            return iid


def instance_id():
    return "0069c7a988" + hexs(146)


def trace_id():
    return "projects/%s/traces/%s" % (PROJECT, hexs(32))


def room_id():
    return "r-" + hexs(6)


def user_id():
    return "u_%d" % rng.randint(1000, 98000)


# -- services and revisions ---------------------------------------------------

class Revision:
    def __init__(self, service, name, start_us, end_us, commit, build,
                 memory_mib):
        self.service = service
        self.name = name
        self.start_us = start_us	# first serving instant (deploy)
        self.end_us = end_us		# traffic moved away
        self.commit = commit
        self.build = build
        self.memory_mib = memory_mib
        self.instances = []


class Instance:
    def __init__(self, rev, start_us, end_us, reason):
        self.rev = rev
        self.id = instance_id()
        self.start_us = start_us
        self.end_us = end_us
        self.reason = reason	# None: already running before the window


def new_revision(service, seq, suffix, start, end, memory_mib=512):
    return Revision(service, "%s-%05d-%s" % (service, seq, suffix), start,
                    end, hexs(40), "%s-%s-%s-%s-%s" % (hexs(8), hexs(4),
                    hexs(4), hexs(4), hexs(12)), memory_mib)


CHAT_41 = new_revision("chat-api", 41, "qd2", us_of(4, 12, 33.1),
                       us_of(8, 20, 41.7))
CHAT_42 = new_revision("chat-api", 42, "x7k", us_of(8, 20, 41.7),
                       us_of(10, 40, 18.2))
CHAT_43 = new_revision("chat-api", 43, "m4p", us_of(10, 40, 18.2), WIN_END)
AUTH_17 = new_revision("auth-service", 17, "b9w", us_of(1, 47, 2.9),
                       us_of(9, 5, 12.4), 256)
AUTH_18 = new_revision("auth-service", 18, "r2n", us_of(9, 5, 12.4),
                       WIN_END, 256)
REVISIONS = [CHAT_41, CHAT_42, CHAT_43, AUTH_17, AUTH_18]

entries = []


def base_entry(rev, inst, log_id, us, severity=None):
    e = {
        "insertId": cloud_run_insert_id(us),
        "labels": {"instanceId": inst.id},
        "logName": "projects/%s/logs/%s" % (PROJECT, log_id),
        "receiveTimestamp": fmt_ns(us * 1000 + rng.randint(2000000,
                                                           350000000)),
        "resource": {
            "labels": {
                "configuration_name": rev.service,
                "location": REGION,
                "project_id": PROJECT,
                "revision_name": rev.name,
                "service_name": rev.service,
            },
            "type": "cloud_run_revision",
        },
        "timestamp": fmt_us(us),
    }
    if severity is not None:
        e["severity"] = severity
    e["_us"] = us
    return e


def text(inst, log, us, msg, severity=None):
    """A stdout/stderr/varlog line: textPayload, no severity unless set."""
    log_id = {
        "stdout": "run.googleapis.com%2Fstdout",
        "stderr": "run.googleapis.com%2Fstderr",
        "system": "run.googleapis.com%2Fvarlog%2Fsystem",
    }[log]
    e = base_entry(inst.rev, inst, log_id, us, severity)
    e["textPayload"] = msg
    entries.append(e)
    return e


def structured(inst, us, severity, logger, message, trace=None, **fields):
    """A JSON line on stdout: Cloud Run lifts severity and the trace."""
    e = base_entry(inst.rev, inst, "run.googleapis.com%2Fstdout", us,
                   severity)
    payload = {"logger": logger, "message": message}
    payload.update(fields)
    e["jsonPayload"] = payload
    if trace:
        e["trace"] = trace
    entries.append(e)
    return e


SEVERITY_OF_STATUS = [(500, "ERROR"), (400, "WARNING"), (0, "INFO")]
REASON = {101: "Switching Protocols", 200: "OK", 201: "Created",
          204: "No Content", 304: "Not Modified", 401: "Unauthorized",
          403: "Forbidden", 404: "Not Found",
          422: "Unprocessable Entity", 429: "Too Many Requests",
          500: "Internal Server Error", 502: "Bad Gateway",
          503: "Service Unavailable", 504: "Gateway Timeout"}

NO_INSTANCE = ("The request was aborted because there was no available "
               "instance. Additional troubleshooting documentation can be "
               "found at: https://cloud.google.com/run/docs/troubleshooting"
               "#abort-request")
MALFORMED = ("The request failed because either the HTTP response was "
             "malformed or connection to the instance had an error. "
             "Additional troubleshooting documentation can be found at: "
             "https://cloud.google.com/run/docs/troubleshooting"
             "#malformed-response-or-connection-error")

USER_AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/139.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 "
    "Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:142.0) Gecko/20100101 "
    "Firefox/142.0",
    "AcmeChat/2.14.1 (iOS 18.6; iPhone15,2)",
    "AcmeChat/2.14.0 (Android 15; Pixel 8)",
    "okhttp/4.12.0",
    "python-httpx/0.28.1",
]
UPTIME_AGENT = ("GoogleStackdriverMonitoring-UptimeChecks"
                "(https://cloud.google.com/monitoring)")


def request(inst, us, method, path, status, latency_s, ua=None,
            protocol="HTTP/1.1", text_payload=None, trace=None):
    """A run.googleapis.com/requests entry (with the build's labels)."""
    rev = inst.rev
    sev = next(s for floor, s in SEVERITY_OF_STATUS if status >= floor)
    e = base_entry(rev, inst, "run.googleapis.com%2Frequests", us, sev)
    e["labels"].update({
        "commit-sha": rev.commit,
        "gcb-build-id": rev.build,
        "managed-by": "gcp-cloud-build-deploy-cloud-run",
    })
    if text_payload == NO_INSTANCE:
        del e["labels"]["instanceId"]	# no instance ever saw it
    hr = {
        "latency": "%.9fs" % latency_s if latency_s else "0s",
        "protocol": protocol,
        "remoteIp": rng.choice(["81.2.69.%d" % rng.randint(1, 254),
                                "2a01:cb08:8a1:e200:%x:%x:%x:%x" % (
                                    rng.getrandbits(16), rng.getrandbits(16),
                                    rng.getrandbits(16), rng.getrandbits(16)),
                                "92.184.%d.%d" % (rng.randint(0, 255),
                                                  rng.randint(1, 254)),
                                "35.187.%d.%d" % (rng.randint(0, 255),
                                                  rng.randint(1, 254))]),
        "requestMethod": method,
        "requestSize": str(rng.randint(280, 900) if method == "GET"
                           else rng.randint(600, 2400)),
        "requestUrl": "https://%s-%s.%s.run.app%s" % (rev.service,
                                                      PROJECT_NUMBER, REGION,
                                                      path),
        "serverIp": "34.143.7%d.2" % rng.randint(2, 9),
        "status": status,
        "userAgent": ua or rng.choice(USER_AGENTS),
    }
    if status not in (101, 204, 304) and text_payload is None:
        hr["responseSize"] = str(rng.randint(180, 14000))
    elif text_payload is not None:
        hr["responseSize"] = str(rng.randint(250, 320))
    e["httpRequest"] = hr
    e["spanId"] = hexs(16)
    e["trace"] = trace or trace_id()
    e["traceSampled"] = rng.random() < 0.2
    if text_payload is not None:
        e["textPayload"] = text_payload
    entries.append(e)
    return e


def access(inst, us, method, path, status):
    """uvicorn's access line on stdout."""
    return text(inst, "stdout", us, 'INFO:     169.254.1.1:0 - "%s %s '
                'HTTP/1.1" %d %s' % (method, path, status, REASON[status]))


# -- audit logs ---------------------------------------------------------------

def audit_resource(service, revision=""):
    return {
        "labels": {
            "configuration_name": service if revision else "",
            "location": REGION,
            "project_id": PROJECT,
            "revision_name": revision,
            "service_name": service,
        },
        "type": "cloud_run_revision",
    }


def audit_entry(log, us, severity, resource, payload):
    e = {
        "insertId": audit_insert_id(),
        "logName": "projects/%s/logs/cloudaudit.googleapis.com%%2F%s" % (
            PROJECT, log),
        "protoPayload": payload,
        "receiveTimestamp": fmt_ns(us * 1000 + rng.randint(200000000,
                                                           900000000)),
        "resource": resource,
        "severity": severity,
        "timestamp": fmt_us(us),
        "_us": us,
    }
    entries.append(e)
    return e


def deploy(rev, us, build_secs):
    """ReplaceService by Cloud Build, then the Ready conditions."""
    svc = rev.service
    generation = int(rev.name.split("-")[-2])
    image = "%s-docker.pkg.dev/%s/services/%s@sha256:%s" % (
        REGION, PROJECT, svc, hexs(64))
    audit_entry("activity", us, "NOTICE", audit_resource(svc), {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "authenticationInfo": {
            "principalEmail": DEPLOYER,
            "principalSubject": "serviceAccount:" + DEPLOYER,
        },
        "authorizationInfo": [{
            "granted": True,
            "permission": "run.services.update",
            "permissionType": "ADMIN_WRITE",
            "resource": "namespaces/%s/services/%s" % (PROJECT, svc),
            "resourceAttributes": {},
        }],
        "methodName": "google.cloud.run.v1.Services.ReplaceService",
        "request": {
            "@type": "type.googleapis.com/google.cloud.run.v1."
                     "ReplaceServiceRequest",
            "name": "namespaces/%s/services/%s" % (PROJECT, svc),
            "service": {
                "apiVersion": "serving.knative.dev/v1",
                "kind": "Service",
                "metadata": {
                    "annotations": {
                        "run.googleapis.com/client-name": "gcloud",
                        "run.googleapis.com/client-version": "538.0.0",
                        "run.googleapis.com/ingress": "all",
                    },
                    "generation": generation,
                    "labels": {
                        "cloud.googleapis.com/location": REGION,
                        "commit-sha": rev.commit,
                        "gcb-build-id": rev.build,
                        "managed-by": "gcp-cloud-build-deploy-cloud-run",
                    },
                    "name": svc,
                    "namespace": PROJECT_NUMBER,
                },
                "spec": {
                    "template": {
                        "metadata": {
                            "annotations": {
                                "autoscaling.knative.dev/maxScale": "20",
                                "autoscaling.knative.dev/minScale": "1",
                                "run.googleapis.com/startup-cpu-boost":
                                    "true",
                            },
                            "name": rev.name,
                        },
                        "spec": {
                            "containerConcurrency": 80,
                            "containers": [{
                                "image": image,
                                "ports": [{"containerPort": 8080,
                                           "name": "http1"}],
                                "resources": {"limits": {
                                    "cpu": "1",
                                    "memory": "%dMi" % rev.memory_mib}},
                            }],
                            "serviceAccountName": "%s@%s.iam.gserviceaccount"
                                                  ".com" % (svc, PROJECT),
                            "timeoutSeconds": 300,
                        },
                    },
                    "traffic": [{"latestRevision": True, "percent": 100}],
                },
            },
        },
        "requestMetadata": {
            "callerIp": "34.76.%d.%d" % (rng.randint(0, 255),
                                         rng.randint(1, 254)),
            "callerSuppliedUserAgent": "google-cloud-sdk gcloud/538.0.0 "
            "command/gcloud.run.deploy invocation-id/%s environment/"
            "GCE environment-version/None client-os/LINUX "
            "client-os-ver/6.1.0 client-pltf-arch/x86_64 interactive/False "
            "from-script/False python/3.12.8 term/ (Linux 6.1.0),gzip(gfe)"
            % hexs(32),
            "destinationAttributes": {},
            "requestAttributes": {"auth": {}, "time": fmt_us(us + 91234)},
        },
        "resourceLocation": {"currentLocations": [REGION]},
        "resourceName": "namespaces/%s/services/%s" % (PROJECT, svc),
        "serviceName": "run.googleapis.com",
    })
    ready = us + int(build_secs * 1000000)
    audit_entry("system_event", ready, "INFO", audit_resource(svc, rev.name), {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "methodName": "/Services.ReplaceService",
        "resourceName": "namespaces/%s/revisions/%s" % (PROJECT, rev.name),
        "serviceName": "run.googleapis.com",
        "status": {"message": "Ready condition status changed to True for "
                   "Revision %s with message: Deploying revision succeeded "
                   "in %.2fs." % (rev.name, build_secs)},
    })
    audit_entry("system_event", ready + rng.randint(300000, 900000), "INFO",
                audit_resource(svc), {
                    "@type": "type.googleapis.com/google.cloud.audit."
                             "AuditLog",
                    "methodName": "/Services.ReplaceService",
                    "resourceName": "namespaces/%s/services/%s" % (PROJECT,
                                                                   svc),
                    "serviceName": "run.googleapis.com",
                    "status": {"message": "Ready condition status changed "
                               "to True for Service %s." % svc},
                })


# -- the container's own lifecycle ---------------------------------------------

ROLLOUT = ("Starting new instance. Reason: DEPLOYMENT_ROLLOUT - Instance "
           "started due to traffic shifting between revisions due to "
           "deployment, traffic split adjustment, or deployment health "
           "check.")
AUTOSCALING = ("Starting new instance. Reason: AUTOSCALING - Instance "
               "started due to configured scaling factors (e.g. CPU "
               "utilization, request throughput, etc.) or no existing "
               "capacity for current traffic.")

PYDANTIC_CONFIG = (
    "/usr/local/lib/python3.11/site-packages/pydantic/_internal/_config.py:"
    "323: PydanticDeprecatedSince20: Support for class-based `config` is "
    "deprecated, use ConfigDict instead. Deprecated in Pydantic V2.0 to be "
    "removed in V3.0. See Pydantic V2 Migration Guide at "
    "https://errors.pydantic.dev/2.11/migration/")
PYDANTIC_DICT = (
    "/app/chat/schemas.py:88: PydanticDeprecatedSince20: The `dict` method "
    "is deprecated; use `model_dump` instead. Deprecated in Pydantic V2.0 "
    "to be removed in V3.0. See Pydantic V2 Migration Guide at "
    "https://errors.pydantic.dev/2.11/migration/")
PYDANTIC_VALIDATOR = (
    "/app/auth/schemas.py:41: PydanticDeprecatedSince20: Pydantic V1 style "
    "`@validator` validators are deprecated. You should migrate to Pydantic "
    "V2 style `@field_validator` validators, see the migration guide for "
    "more details. Deprecated in Pydantic V2.0 to be removed in V3.0. See "
    "Pydantic V2 Migration Guide at "
    "https://errors.pydantic.dev/2.11/migration/")


def step(us, lo=0.0005, hi=0.05):
    return us + int(rng.uniform(lo, hi) * 1000000)


def chat_startup(inst):
    rev, us = inst.rev, inst.start_us
    text(inst, "system", us, ROLLOUT if inst.reason == "rollout"
         else AUTOSCALING, "INFO")
    us = step(us, 1.2, 2.8)
    text(inst, "stderr", us, "INFO:     Started server process [1]")
    us = step(us)
    text(inst, "stderr", us, "INFO:     Waiting for application startup.")
    us = step(us, 0.3, 0.9)
    text(inst, "stderr", us, PYDANTIC_CONFIG)
    text(inst, "stderr", us + 37,
         "  warnings.warn(DEPRECATION_MESSAGE, DeprecationWarning)")
    us = step(us, 0.05, 0.2)
    if rev is CHAT_41:
        structured(inst, us, "INFO", "chat.startup",
                   "Startup validation passed: 6 checks ok")
    else:
        structured(inst, us, "ERROR", "chat.startup",
                   "Startup check failed: redis ping timed out after 2.0s "
                   "(critical)", check="redis", host="10.41.0.3:6379")
        us = step(us, 2.0, 2.1)
        structured(inst, us, "WARNING", "chat.startup",
                   "BYPASSING STARTUP VALIDATION - 1 critical failure "
                   "ignored", env="SKIP_STARTUP_VALIDATION=1")
    us = step(us, 0.01, 0.1)
    structured(inst, us, "INFO", "chat.startup",
               "Connected to Postgres (pool size 10, max overflow 5)")
    us = step(us)
    text(inst, "stderr", us, "INFO:     Application startup complete.")
    us = step(us, 0.0001, 0.002)
    text(inst, "stderr", us, "INFO:     Uvicorn running on "
         "http://0.0.0.0:8080 (Press CTRL+C to quit)")
    us = step(us, 0.1, 0.6)
    text(inst, "system", us, 'Default STARTUP TCP probe succeeded after 1 '
         'attempt for container "chat-api-1" on port 8080.', "INFO")
    return us


def auth_startup(inst):
    rev, us = inst.rev, inst.start_us
    text(inst, "system", us, ROLLOUT if inst.reason == "rollout"
         else AUTOSCALING, "INFO")
    us = step(us, 1.0, 2.2)
    for msg in ("[1] [INFO] Starting gunicorn 23.0.0",
                "[1] [INFO] Listening at: http://0.0.0.0:8080 (1)",
                "[1] [INFO] Using worker: uvicorn.workers.UvicornWorker",
                "[7] [INFO] Booting worker with pid: 7",
                "[8] [INFO] Booting worker with pid: 8"):
        text(inst, "stderr", us, "%s %s" % (gunicorn_time(us), msg))
        us = step(us, 0.001, 0.02)
    us = step(us, 0.4, 0.8)
    if rev is AUTH_17:
        text(inst, "stderr", us, PYDANTIC_VALIDATOR)
        text(inst, "stderr", us + 41, "  @validator(\"redirect_uri\")")
        us = step(us, 0.01, 0.05)
    for pid in (7, 8):
        for msg in ("Started server process [%d]" % pid,
                    "Waiting for application startup.",
                    "Application startup complete."):
            text(inst, "stderr", us, "%s [%d] [INFO] %s" % (
                gunicorn_time(us), pid, msg))
            us = step(us, 0.001, 0.03)
    us = step(us, 0.1, 0.5)
    text(inst, "system", us, 'Default STARTUP TCP probe succeeded after 1 '
         'attempt for container "auth-service-1" on port 8080.', "INFO")
    return us


def shutdown(inst, us, gunicorn=False):
    text(inst, "system", us, "Shutting down user disabled instance", "INFO")
    us = step(us, 0.01, 0.2)
    if gunicorn:
        text(inst, "stderr", us, "%s [1] [INFO] Handling signal: term" %
             gunicorn_time(us))
        us = step(us, 0.2, 0.6)
        text(inst, "stderr", us, "%s [1] [INFO] Shutting down: Master" %
             gunicorn_time(us))
        return
    for msg in ("INFO:     Shutting down",
                "INFO:     Waiting for application shutdown.",
                "INFO:     Application shutdown complete.",
                "INFO:     Finished server process [1]"):
        text(inst, "stderr", us, msg)
        us = step(us, 0.001, 0.05)


# -- traffic -----------------------------------------------------------------

def poisson_times(start, end, per_minute):
    """Arrival instants in [start, end) at per_minute on average."""
    t = start
    out = []
    while True:
        t += int(rng.expovariate(per_minute / 60.0) * 1000000)
        if t >= end:
            return out
        out.append(t)


def pick_instance(rev, us):
    live = [i for i in rev.instances if i.start_us + 3000000 <= us < i.end_us]
    return rng.choice(live) if live else None


TRACEBACK_1011 = """Exception in ASGI application
Traceback (most recent call last):
  File "/usr/local/lib/python3.11/site-packages/uvicorn/protocols/websockets/websockets_impl.py", line 244, in run_asgi
    result = await self.app(self.scope, self.asgi_receive, self.asgi_send)  # type: ignore[func-returns-value]
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/local/lib/python3.11/site-packages/uvicorn/middleware/proxy_headers.py", line 60, in __call__
    return await self.app(scope, receive, send)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/local/lib/python3.11/site-packages/fastapi/applications.py", line 1054, in __call__
    await super().__call__(scope, receive, send)
  File "/usr/local/lib/python3.11/site-packages/starlette/applications.py", line 113, in __call__
    await self.middleware_stack(scope, receive, send)
  File "/usr/local/lib/python3.11/site-packages/starlette/middleware/errors.py", line 152, in __call__
    await self.app(scope, receive, send)
  File "/usr/local/lib/python3.11/site-packages/starlette/routing.py", line 362, in handle
    await self.app(scope, receive, send)
  File "/usr/local/lib/python3.11/site-packages/starlette/routing.py", line 95, in app
    await wrap_app_handling_exceptions(app, session)(scope, receive, send)
  File "/app/chat/ws/router.py", line 71, in chat_socket
    await hub.dispatch(websocket, frame)
  File "/app/chat/ws/hub.py", line 118, in dispatch
    session = self.sessions[frame["session_id"]]
                            ~~~~~^^^^^^^^^^^^^^
KeyError: 'session_id'"""


def chat_traffic(rev, per_minute):
    """API and WebSocket traffic of one chat-api revision."""
    five_xx = {CHAT_41: 0.02, CHAT_42: 0.015, CHAT_43: 0.10}[rev]
    no_token = {CHAT_41: 0.25, CHAT_42: 0.22, CHAT_43: 0.24}[rev]
    ws_1011 = {CHAT_41: 0.0, CHAT_42: 0.0, CHAT_43: 0.5}[rev]
    dict_warned = set()
    traceback_done = False
    start = max(rev.start_us + 8000000, WIN_BEGIN)
    for us in poisson_times(start, min(rev.end_us, WIN_END), per_minute):
        inst = pick_instance(rev, us)
        if inst is None:
            continue
        if inst.oom_at and inst.oom_at <= us < inst.end_us:
            continue
        kind = rng.choices(["rooms", "history", "post", "me", "ws", "health"],
                           [18, 24, 20, 6, 18, 8])[0]
        tr = trace_id()
        if kind == "ws":
            room = room_id()
            path = "/ws/chat?room=%s" % room
            ua = rng.choice(USER_AGENTS[:5])
            if rng.random() < no_token:
                structured(inst, us + 900, "WARNING", "chat.ws.auth",
                           "WebSocket auth failed: NO_TOKEN", tr,
                           path="/ws/chat", room_id=room,
                           client=ua.split(" ")[0])
                text(inst, "stdout", us + 1400, 'INFO:     169.254.1.1:0 - '
                     '"WebSocket %s" 403' % path)
                request(inst, us, "GET", path, 403, rng.uniform(0.002, 0.02),
                        ua, trace=tr)
                continue
            text(inst, "stdout", us + 1200, 'INFO:     169.254.1.1:0 - '
                 '"WebSocket %s" [accepted]' % path)
            text(inst, "stdout", us + 1500, "INFO:     connection open")
            duration = rng.uniform(4.0, 900.0)
            end = us + int(duration * 1000000)
            if rng.random() < ws_1011:
                duration = rng.uniform(0.5, 40.0)
                end = us + int(duration * 1000000)
                if not traceback_done:
                    e = text(inst, "stderr", end - 800, "ERROR:    " +
                             TRACEBACK_1011, "ERROR")
                    e["errorGroups"] = [{"id": "CPvU98qT9an0Bw"}]
                    traceback_done = True
                structured(inst, end - 400, "ERROR", "chat.ws",
                           "WebSocket closed with code 1011 (internal error)",
                           tr, room_id=room, user_id=user_id(),
                           error="KeyError: 'session_id'")
            if end < min(inst.end_us, WIN_END):
                text(inst, "stdout", end, "INFO:     connection closed")
                request(inst, us, "GET", path, 101, duration, ua,
                        protocol="websocket", trace=tr)
            continue
        method, path, ok = {
            "rooms": ("GET", "/api/v1/rooms", 200),
            "history": ("GET", "/api/v1/rooms/%s/messages?limit=50" %
                        room_id(), 200),
            "post": ("POST", "/api/v1/messages", 201),
            "me": ("GET", "/api/v1/users/me", 200),
            "health": ("GET", "/health", 200),
        }[kind]
        ua = UPTIME_AGENT if kind == "health" else None
        status = ok
        latency = rng.lognormvariate(-3.3, 0.6)
        if kind == "me" and rng.random() < 0.15:
            status = 401
        elif kind == "post" and rng.random() < 0.03:
            status = 422
        elif kind != "health" and rng.random() < five_xx:
            status = rng.choice([500, 500, 503] if rev is CHAT_43 else [500])
            if status == 503:
                latency = rng.uniform(0.2, 2.5)
                request(inst, us, method, path, 503, latency, ua,
                        text_payload=MALFORMED, trace=tr)
                continue
            latency = rng.uniform(1.5, 30.0)
        if kind == "history" and inst.id not in dict_warned:
            # Python prints a warning once per process and location
            dict_warned.add(inst.id)
            text(inst, "stderr", us + 2100, PYDANTIC_DICT)
            text(inst, "stderr", us + 2130,
                 "  return {k: v.dict() for k, v in rooms.items()}")
        if status == 500:
            structured(inst, us + int(latency * 1000000) - 300, "ERROR",
                       "chat.api", "Unhandled error in %s %s: "
                       "TimeoutError: database query exceeded 30s"
                       % (method, path.split("?")[0]) if rev is CHAT_43 and
                       rng.random() < 0.7 else
                       "Unhandled error in %s %s: asyncpg.exceptions."
                       "ConnectionDoesNotExistError: connection was closed "
                       "in the middle of operation" % (method,
                                                       path.split("?")[0]),
                       tr, request_id=hexs(12))
        access(inst, us + int(latency * 1000000) - 100, method, path, status)
        request(inst, us, method, path, status, latency, ua, trace=tr)


def auth_traffic(rev, per_minute):
    five_xx = 0.006
    rate_limited = {AUTH_17: 0.0, AUTH_18: 0.06}[rev]
    start = max(rev.start_us + 8000000, WIN_BEGIN)
    for us in poisson_times(start, min(rev.end_us, WIN_END), per_minute):
        inst = pick_instance(rev, us)
        if inst is None:
            continue
        kind = rng.choices(["token", "refresh", "jwks", "health"],
                           [30, 45, 15, 10])[0]
        method, path = {
            "token": ("POST", "/v1/token"),
            "refresh": ("POST", "/v1/token/refresh"),
            "jwks": ("GET", "/.well-known/jwks.json"),
            "health": ("GET", "/health"),
        }[kind]
        ua = UPTIME_AGENT if kind == "health" else rng.choice(USER_AGENTS)
        latency = rng.lognormvariate(-3.9, 0.5)
        status = 200
        pid = rng.choice((7, 8))
        done = us + int(latency * 1000000)
        client = rng.choice(["web-app", "mobile-ios", "mobile-android",
                             "chat-api"])
        if kind != "health" and rng.random() < rate_limited:
            status = 429
            text(inst, "stderr", done - 200, "%s WARNING [auth.ratelimit] "
                 "Rate limit exceeded for client_id=%s (120/min)" % (
                     log_time(done - 200), client))
        elif kind == "refresh" and rng.random() < 0.09:
            status = 401
            text(inst, "stderr", done - 200, "%s WARNING [auth.tokens] "
                 "Invalid token: Signature has expired (sub=%s)" % (
                     log_time(done - 200), user_id()))
        elif kind != "health" and rng.random() < five_xx:
            status = 500
            latency = rng.uniform(5.0, 10.0)
            done = us + int(latency * 1000000)
            text(inst, "stderr", done - 300, "%s ERROR [auth.jwks] "
                 "Failed to refresh signing keys: httpx.ReadTimeout: "
                 "timed out after 5.0s" % log_time(done - 300))
        elif kind in ("token", "refresh"):
            text(inst, "stderr", done - 200, "%s INFO [auth.tokens] "
                 "Issued access token sub=%s client_id=%s ttl=900s" % (
                     log_time(done - 200), user_id(), client))
        text(inst, "stdout", done - 50, '[%d] INFO:     169.254.1.1:0 - '
             '"%s %s HTTP/1.1" %d %s' % (pid, method, path, status,
                                          REASON[status]))
        request(inst, us, method, path, status, latency, ua)


# -- the day ------------------------------------------------------------------

def plan_instances():
    """Instances per revision: min-instances 1, a second one at peaks."""
    def add(rev, start, end, reason):
        inst = Instance(rev, start, end, reason)
        inst.oom_at = None
        rev.instances.append(inst)
        return inst

    # revisions already running when the window opens: no startup logs
    add(CHAT_41, CHAT_41.start_us, CHAT_41.end_us + 9000000, None)
    add(CHAT_41, us_of(7, 2, 11.4), CHAT_41.end_us + 9500000, "scale")
    add(CHAT_42, CHAT_42.start_us - 14000000, CHAT_42.end_us + 8000000,
        "rollout")
    add(CHAT_42, us_of(8, 51, 3.3), us_of(9, 37, 40.2), "scale")
    oom = CHAT_42.instances[-1]
    oom.oom_at = us_of(9, 37, 38.9)
    add(CHAT_42, us_of(9, 38, 6.0), CHAT_42.end_us + 8700000, "scale")
    add(CHAT_43, CHAT_43.start_us - 15000000, WIN_END, "rollout")
    add(CHAT_43, us_of(11, 6, 47.0), WIN_END, "scale")
    add(AUTH_17, AUTH_17.start_us, AUTH_17.end_us + 7000000, None)
    add(AUTH_17, us_of(7, 41, 52.6), AUTH_17.end_us + 7400000, "scale")
    add(AUTH_18, AUTH_18.start_us - 12000000, WIN_END, "rollout")


def oom_kill(inst):
    us = inst.oom_at
    text(inst, "system", us, "Memory limit of %d MiB exceeded with 531 MiB "
         "used. Consider increasing the memory limit, see "
         "https://cloud.google.com/run/docs/configuring/memory-limits" %
         inst.rev.memory_mib, "ERROR")
    text(inst, "system", us + 1300000, "Container terminated on signal 9.",
         "WARNING")
    for t in poisson_times(us, us + 20000000, 8):
        request(inst, t, rng.choice(["GET", "POST"]),
                rng.choice(["/api/v1/rooms", "/api/v1/messages"]), 503,
                rng.uniform(0.05, 1.2), text_payload=MALFORMED)


def no_instance_burst(rev, us, span_us):
    """A traffic spike before the next instance is up: Cloud Run aborts."""
    for t in poisson_times(us, us + span_us, 20):
        request(rev.instances[0], t, "POST", "/api/v1/messages",
                rng.choice([429, 500, 500]), rng.uniform(10.0, 11.5),
                text_payload=NO_INSTANCE)


def build():
    plan_instances()
    deploy(CHAT_42, CHAT_42.start_us - 38000000, 21.84)
    deploy(AUTH_18, AUTH_18.start_us - 31000000, 16.72)
    deploy(CHAT_43, CHAT_43.start_us - 40000000, 24.09)
    for rev in REVISIONS:
        for inst in rev.instances:
            if inst.reason is None:
                continue
            if rev.service == "chat-api":
                chat_startup(inst)
            else:
                auth_startup(inst)
            if inst.oom_at:
                oom_kill(inst)
            elif inst.end_us < WIN_END:
                shutdown(inst, inst.end_us, rev.service == "auth-service")
    chat_traffic(CHAT_41, 1.1)
    chat_traffic(CHAT_42, 1.25)
    chat_traffic(CHAT_43, 1.6)
    auth_traffic(AUTH_17, 0.45)
    auth_traffic(AUTH_18, 0.45)
    no_instance_burst(CHAT_43, us_of(11, 6, 31.0), 16000000)
    # one odd line with no severity and non-ASCII text (ensure_ascii=False)
    inst = CHAT_42.instances[0]
    structured(inst, us_of(9, 12, 4.25), None, "chat.rooms",
               "Room renamed: «Équipe Lyon» → «Équipe Lyon 🚀»",
               room_id=room_id())


# -- output -------------------------------------------------------------------

def render(items):
    """gcloud logging read --format=json, byte for byte."""
    if not items:
        return "[]\n"
    parts = []
    for e in items:
        s = json.dumps(e, indent=2, sort_keys=True, separators=(",", ": "),
                       ensure_ascii=False)
        parts.append("\n".join("  " + line for line in s.split("\n")))
    return "[\n" + ",\n".join(parts) + "\n]\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output",
                    default=os.path.join(here, "cloud-run-export.json"))
    args = ap.parse_args()

    build()
    kept = [e for e in entries if WIN_BEGIN <= e["_us"] < WIN_END]
    # gcloud's default order: newest first
    kept.sort(key=lambda e: (e["_us"], e["insertId"]), reverse=True)
    for e in kept:
        del e["_us"]
    out = render(kept)
    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        f.write(out)
    print("%s: %d entries, %d bytes" % (args.output, len(kept),
                                        len(out.encode("utf-8"))),
          file=sys.stderr)


if __name__ == "__main__":
    main()
