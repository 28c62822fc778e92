#!/usr/bin/env python3
"""An independent reading of Google Cloud Logging exports, for comparison.

The integration tests run logaudit and this script on the same file and
compare what each found.  This script shares no code with logaudit and
reads whole files with python3's json module (stdlib only), so a bug in the
C entry reader cannot hide by being repeated here.  It implements the same
attribution rules as the tool (see the comments on each function); where a
rule is a choice rather than a fact of the format, the choice is the tool's.

Framings understood: a JSON array, newline-delimited objects, concatenated
pretty objects separated by whitespace, a wrapper object holding an array of
entries, and text lines (Logs Explorer summary lines, prose) mixed with
indented JSON objects.  On text that is not JSON the reader skips to the
next line whose first non-blank character is '{'.

Commands:
  independent.py revisions FILE   one JSON object, counts per revision
  independent.py entries FILE     JSON Lines, one object per entry in order
  independent.py skipped FILE     the number of non-blank lines outside
                                  JSON values (what logaudit reports as
                                  "N lines skipped")
  independent.py count FILE       the number of LogEntries found
  independent.py unique FILE      the number of distinct LogEntries (by
                                  insertId, instant and logName): what an
                                  ingest into an empty store counts
Exit status 0, or 2 for a usage error or an unreadable file.
"""

import datetime
import json
import re
import signal
import sys

SEVERITY_LADDER = [
    (0, "DEFAULT"), (100, "DEBUG"), (200, "INFO"), (300, "NOTICE"),
    (400, "WARNING"), (500, "ERROR"), (600, "CRITICAL"), (700, "ALERT"),
    (800, "EMERGENCY"),
]

REQUEST_LOG_SUFFIXES = (
    "/logs/run.googleapis.com%2Frequests",
    "/logs/run.googleapis.com/requests",
)

TS_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(Z|z|[+-]\d{2}:\d{2})$")

DECODER = json.JSONDecoder()


# ----------------------------------------------------------------------
# Framing: text -> top-level JSON values, plus the lines that were not JSON

def _line_end(text, pos):
    """Index just past the newline ending the line that holds pos."""
    nl = text.find("\n", pos)
    return len(text) if nl == -1 else nl + 1


def _next_brace_line(text, pos):
    """Start of the next line after pos whose first non-blank char is '{'
    (the position of that '{'), or len(text)."""
    p = _line_end(text, pos)
    while p < len(text):
        q = p
        while q < len(text) and text[q] in " \t\r\f\v":
            q += 1
        if q < len(text) and text[q] == "{":
            return q
        p = _line_end(text, p)
    return len(text)


def read_values(text):
    """Split text into top-level JSON values.

    Returns (values, skipped_lines): values in input order; skipped_lines is
    the number of lines holding a non-blank character outside any JSON
    value (array punctuation aside).  A decode is only tried where '{' or
    '[' starts a value; any other non-blank character, or a failed decode,
    makes the reader skip to the next line that starts with '{'.
    """
    values = []
    skipped = set()           # line numbers (0-based) with skipped text
    pos = 0
    n = len(text)
    if text.startswith("\ufeff"):
        pos = 1
    while True:
        while pos < n and text[pos] in " \t\r\n\f\v":
            pos += 1
        if pos >= n:
            break
        if text[pos] in "{[":
            try:
                value, end = DECODER.raw_decode(text, pos)
            except json.JSONDecodeError:
                value, end = None, None
            if end is not None:
                values.append(value)
                pos = end
                continue
        # Not JSON here: every non-blank line up to the next '{' line is
        # skipped text.
        resume = _next_brace_line(text, pos)
        _mark_nonblank_lines(text, pos, resume, skipped)
        pos = resume
    return values, len(skipped)


def _mark_nonblank_lines(text, start, end, skipped):
    """Add to skipped the lines between start and end that hold text.
    Array punctuation ('[', ']', ',') left over from an array that could
    not be decoded as a whole (a killed gcloud tail) is not text."""
    line = text.count("\n", 0, start)
    seg = text[start:end]
    for i, part in enumerate(seg.split("\n")):
        if part.strip(" \t\r\f\v[],"):
            skipped.add(line + i)


def is_log_entry(obj):
    """A LogEntry: an object with an insert id and one of log name,
    resource, timestamp."""
    if not isinstance(obj, dict):
        return False
    if "insertId" not in obj and "insert_id" not in obj:
        return False
    return any(k in obj for k in ("logName", "log_name", "resource",
                                  "timestamp"))


def entries_of(values):
    """LogEntries among the top-level values, in order: top-level objects,
    objects in a top-level array, objects in an array inside a wrapper
    object (e.g. {"entries": [...]})."""
    out = []
    for v in values:
        if isinstance(v, list):
            out.extend(e for e in v if is_log_entry(e))
        elif is_log_entry(v):
            out.append(v)
        elif isinstance(v, dict):
            for inner in v.values():
                if isinstance(inner, list):
                    out.extend(e for e in inner if is_log_entry(e))
    return out


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    text = data.decode("utf-8", errors="surrogateescape")
    values, skipped = read_values(text)
    return entries_of(values), skipped


# ----------------------------------------------------------------------
# Fields of one entry

def field(obj, *names):
    """The first of names present in obj (camelCase and snake_case)."""
    if not isinstance(obj, dict):
        return None
    for name in names:
        if name in obj:
            return obj[name]
    return None


def as_str(v):
    return v if isinstance(v, str) else ""


def project_from_log_name(log_name):
    m = re.match(r"^projects/([^/]+)/logs/", as_str(log_name))
    return m.group(1) if m else ""


def attribution(e):
    """(project, location, service, revision) by the tool's rules."""
    resource = field(e, "resource")
    if not isinstance(resource, dict):
        resource = None
    labels = field(resource, "labels") if resource else None
    if not isinstance(labels, dict):
        labels = {}
    rtype = as_str(field(resource, "type")) if resource else ""
    project = as_str(labels.get("project_id"))
    if project == "":
        project = project_from_log_name(field(e, "logName", "log_name"))
    if rtype == "cloud_run_revision":
        return (project, as_str(labels.get("location")),
                as_str(labels.get("service_name")),
                as_str(labels.get("revision_name")))
    if rtype == "cloud_run_job":
        return (project, as_str(labels.get("location")),
                as_str(labels.get("job_name")), "")
    location = ""
    for k in ("location", "zone", "region"):
        if as_str(labels.get(k)):
            location = labels[k]
            break
    return (project, location, rtype, "")


def severity(e):
    """Severity name: a name in any case upper-cased; a number mapped to
    the named level at or below it; absent -> DEFAULT."""
    s = field(e, "severity")
    if isinstance(s, bool) or s is None:
        return "DEFAULT"
    if isinstance(s, (int, float)):
        name = "DEFAULT"
        for level, lname in SEVERITY_LADDER:
            if s >= level:
                name = lname
        return name
    if isinstance(s, str):
        return s.upper() if s else "DEFAULT"
    return "DEFAULT"


def is_request(e):
    return as_str(field(e, "logName", "log_name")).endswith(
        REQUEST_LOG_SUFFIXES)


def compact(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def message(e):
    """The entry's message, by the tool's order of preference."""
    text = field(e, "textPayload", "text_payload")
    if isinstance(text, str):
        return text
    jp = field(e, "jsonPayload", "json_payload")
    if isinstance(jp, dict):
        if "message" in jp and jp["message"] is not None:
            m = jp["message"]
            return m if isinstance(m, str) else compact(m)
        for k in ("msg", "error", "exception", "event"):
            if isinstance(jp.get(k), str):
                return jp[k]
    pp = field(e, "protoPayload", "proto_payload")
    if isinstance(pp, dict):
        method = field(pp, "methodName", "method_name")
        status = field(pp, "status")
        smsg = field(status, "message")
        if isinstance(smsg, str):
            if isinstance(method, str):
                return "%s: %s" % (method, smsg)
            return smsg
        if isinstance(method, str):
            return method
    # no message field: the payload itself, compact (capped by the tool
    # at 16 KiB; the real files stay far below)
    for payload in (jp, pp):
        if isinstance(payload, dict):
            return compact(payload)
    has_payload = any(k in e for k in (
        "textPayload", "text_payload", "jsonPayload", "json_payload",
        "protoPayload", "proto_payload"))
    hr = field(e, "httpRequest", "http_request")
    if not has_payload and isinstance(hr, dict):
        parts = []
        meth = field(hr, "requestMethod", "request_method", "method")
        url = field(hr, "requestUrl", "request_url", "url")
        status = field(hr, "status")
        if isinstance(meth, str) and meth:
            parts.append(meth)
        if isinstance(url, str) and url:
            parts.append(url)
        if isinstance(status, (int, float)) and not isinstance(status, bool):
            parts.append(str(int(status)))
        elif isinstance(status, str) and status:
            parts.append(status)
        return " ".join(parts)
    return ""


def timestamp(e):
    """RFC 3339 UTC, exactly 6 fractional digits (truncated), 'Z'."""
    ts = field(e, "timestamp")
    if not isinstance(ts, str):
        ts = field(e, "receiveTimestamp", "receive_timestamp")
    if not isinstance(ts, str):
        return ""
    m = TS_RE.match(ts)
    if not m:
        return ""
    y, mo, d, h, mi, s = (int(x) for x in m.group(1, 2, 3, 4, 5, 6))
    frac = ((m.group(7) or "") + "000000")[:6]
    sec = 59 if s == 60 else s          # a leap second stays in its minute
    t = datetime.datetime(y, mo, d, h, mi, sec)
    off = m.group(8)
    if off not in ("Z", "z"):
        sign = 1 if off[0] == "+" else -1
        t -= sign * datetime.timedelta(hours=int(off[1:3]),
                                       minutes=int(off[4:6]))
    return "%s.%sZ" % (t.strftime("%Y-%m-%dT%H:%M:%S"), frac)


def dedup_key(e):
    """insertId + instant (nanoseconds) + logName: the tool's identity."""
    ts = field(e, "timestamp")
    if not isinstance(ts, str):
        ts = field(e, "receiveTimestamp", "receive_timestamp")
    m = TS_RE.match(ts) if isinstance(ts, str) else None
    nanos = ts
    if m:
        nanos = (timestamp(e)[:19], ((m.group(7) or "") + "0" * 9)[:9])
    return (as_str(field(e, "insertId", "insert_id")), nanos,
            as_str(field(e, "logName", "log_name")))


# ----------------------------------------------------------------------
# Commands

def cmd_revisions(entries):
    revs = {}
    seen = set()
    for e in entries:
        k = dedup_key(e)
        if k in seen:
            continue        # counted once, as the store does
        seen.add(k)
        key = attribution(e)
        r = revs.setdefault(key, {"entries": 0, "requests": 0,
                                  "severity": {}})
        r["entries"] += 1
        if is_request(e):
            r["requests"] += 1
        sev = severity(e)
        r["severity"][sev] = r["severity"].get(sev, 0) + 1
    out = []
    for key in sorted(revs):
        r = revs[key]
        out.append({"project": key[0], "location": key[1],
                    "service": key[2], "revision": key[3],
                    "entries": r["entries"], "requests": r["requests"],
                    "severity": dict(sorted(r["severity"].items()))})
    print(json.dumps({"revisions": out}, ensure_ascii=False, indent=1))


def cmd_entries(entries):
    for e in entries:
        _, _, service, revision = attribution(e)
        print(json.dumps({
            "insert_id": as_str(field(e, "insertId", "insert_id")),
            "timestamp": timestamp(e),
            "service": service,
            "revision": revision,
            "severity": severity(e),
            "message": message(e),
        }, ensure_ascii=False))


def main(argv):
    if len(argv) != 3 or argv[1] not in ("revisions", "entries", "skipped",
                                         "count", "unique"):
        sys.stderr.write("usage: independent.py "
                         "revisions|entries|skipped|count|unique FILE\n")
        return 2
    try:
        entries, skipped = load(argv[2])
    except OSError as exc:
        sys.stderr.write("independent.py: %s\n" % exc)
        return 2
    # Keep invalid UTF-8 visible instead of failing on output.
    sys.stdout.reconfigure(errors="surrogateescape")
    if argv[1] == "revisions":
        cmd_revisions(entries)
    elif argv[1] == "entries":
        cmd_entries(entries)
    elif argv[1] == "skipped":
        print(skipped)
    elif argv[1] == "count":
        print(len(entries))
    else:
        print(len(set(dedup_key(e) for e in entries)))
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # quiet under | head
    sys.exit(main(sys.argv))
