#!/usr/bin/env python3
# api_server.py DIR -- a stand-in for the Cloud Logging API on 127.0.0.1,
# for t_pull.sh and t_follow_cloud.sh.  It listens on a free port, which it
# writes to DIR/port once it is ready, and reads everything else from DIR
# on each request, so a test changes its behaviour by writing files:
#
#   DIR/entries.json   the LogEntries it holds (a JSON array); a request
#                      gets those inside the filter's time bounds, in
#                      timestamp order, three a page
#   DIR/token          the one bearer token it accepts (else 401)
#   DIR/script         what the next requests get, one word each, consumed
#                      one per POST: a status (400, 403, 429 without
#                      Retry-After, 5xx), "ok" for a normal reply, or
#                      "sleep:S" for a normal reply after S seconds
#   DIR/requests.jsonl each POST body, one a line, appended as it arrives
#
# Pages: the first has PER_PAGE entries and the token "e"; page "e" is
# empty but carries the token "1"; then "1", "2"... until the last, which
# has no nextPageToken.  GET .../service-accounts/default/token with
# Metadata-Flavor: Google answers as the metadata server, with DIR/token.
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn

D = sys.argv[1]
PER_PAGE = 3
LOCK = threading.Lock()


def script_next():
    """The next scripted word from DIR/script, or None."""
    p = os.path.join(D, "script")
    with LOCK:
        if not os.path.exists(p):
            return None
        words = open(p).read().split()
        if not words:
            return None
        open(p, "w").write("\n".join(words[1:]))
        return words[0]


def read_file(name):
    with open(os.path.join(D, name)) as f:
        return f.read()


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, doc):
        b = json.dumps(doc).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)
        except OSError:
            pass    # the client went away (killed while waiting)

    def error(self, code, status, msg):
        self.reply(code, {"error": {"code": code, "message": msg,
                                    "status": status}})

    def do_GET(self):
        if not self.path.endswith("/service-accounts/default/token") or \
           self.headers.get("Metadata-Flavor") != "Google":
            return self.reply(404, {})
        tok = read_file("token").strip()
        self.reply(200, {"access_token": tok, "expires_in": 1800,
                         "token_type": "Bearer"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with LOCK:
            with open(os.path.join(D, "requests.jsonl"), "ab") as f:
                f.write(body + b"\n")
        if self.path != "/v2/entries:list":
            return self.reply(404, {})
        tok = read_file("token").strip()
        authz = self.headers.get("Authorization", "")
        if authz != "Bearer " + tok:
            return self.error(401, "UNAUTHENTICATED",
                "Request had invalid authentication credentials.")
        word = script_next()
        if word is not None and word.startswith("sleep:"):
            time.sleep(float(word[6:]))
            word = None
        code = int(word) if word is not None and word != "ok" else None
        if code == 400:
            # echoes the header: the client must redact it
            return self.error(400, "INVALID_ARGUMENT",
                "Unparseable filter: bad token near %s" % authz)
        if code == 403:
            return self.error(403, "PERMISSION_DENIED",
                "Permission denied for project proj")
        if code == 429:
            return self.error(429, "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Read requests'")
        if code is not None and code >= 500:
            return self.error(code, "UNAVAILABLE", "try again")
        req = json.loads(body)
        m = re.search(r'timestamp>="([^"]+)" AND timestamp<"([^"]+)"',
                      req["filter"])
        lo, hi = m.group(1), m.group(2)
        ents = [e for e in json.loads(read_file("entries.json"))
                if lo <= e["timestamp"] < hi]
        ents.sort(key=lambda e: e["timestamp"])
        # pages: "1" holds the first PER_PAGE, "e" is empty, then "2"...
        tokv = req.get("pageToken", "0")
        if tokv == "e":
            return self.reply(200, {"nextPageToken": "1"})
        n = int(tokv)
        page = ents[n * PER_PAGE:(n + 1) * PER_PAGE]
        doc = {"entries": page} if page else {}
        if n == 0:
            doc["nextPageToken"] = "e"
        elif (n + 1) * PER_PAGE < len(ents):
            doc["nextPageToken"] = str(n + 1)
        self.reply(200, doc)


class Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True


s = Server(("127.0.0.1", 0), H)
open(os.path.join(D, "port.tmp"), "w").write(str(s.server_address[1]))
os.rename(os.path.join(D, "port.tmp"), os.path.join(D, "port"))
s.serve_forever()
