#!/usr/bin/env python3
# api_server.py DIR [CERT KEY] -- a stand-in for the Cloud Logging API on
# 127.0.0.1, for t_pull.sh and t_follow_cloud.sh; with CERT and KEY (PEM
# files) it speaks HTTPS.  It listens on a free port, which it writes to
# DIR/port once it is ready, and reads everything else from DIR on each
# request, so a test changes its behaviour by writing files:
#
#   DIR/entries.json   the LogEntries it holds (a JSON array); a request
#                      gets those inside the filter's time bounds, in
#                      timestamp order, three a page
#   DIR/token          the bearer tokens it accepts, one a line (else 401)
#   DIR/script         what the next requests get, one word each, consumed
#                      one per POST: a status (400, 403, 429 without
#                      Retry-After, 5xx), "ok" for a normal reply,
#                      "sleep:S" for a normal reply after S seconds, or
#                      "huge" for a 200 of 65 MiB (an empty page, then
#                      blanks)
#   DIR/expires_in     when it exists, the metadata server mints a new
#                      token for each GET, good for this many seconds
#                      (and accepted besides DIR/token's)
#
# and it appends to (a test may read or empty them):
#
#   DIR/requests.jsonl each POST body, one a line, as it arrives
#   DIR/bearer.log     the bearer token of each POST, one a line
#   DIR/401.log        a line for each 401 it answers, and why
#   DIR/metadata.log   a line for each token the metadata server gives
#   DIR/user-agent.log the User-Agent of each request, one a line
#
# Pages: the first has PER_PAGE entries and the token "e"; page "e" is
# empty but carries the token "1"; then "1", "2"... until the last, which
# has no nextPageToken.  GET .../service-accounts/default/token with
# Metadata-Flavor: Google answers as the metadata server, with the first
# line of DIR/token (expires_in 1800), or a minted token (DIR/expires_in).
import json
import os
import re
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn

D = sys.argv[1]
PER_PAGE = 3
HUGE = 65 << 20     # bytes of a "huge" reply: past logaudit's 64 MiB
LOCK = threading.Lock()
MINTED = {}         # minted token -> the time it expires


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


def append(name, line):
    with LOCK:
        with open(os.path.join(D, name), "a") as f:
            f.write(line + "\n")


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

    def huge(self):
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(HUGE + 16))
            self.end_headers()
            self.wfile.write(b'{"entries": []}')
            chunk = b" " * (1 << 20)
            for _ in range(HUGE >> 20):
                self.wfile.write(chunk)
            self.wfile.write(b"\n")
        except OSError:
            pass    # the client gave up, as it should

    def do_GET(self):
        append("user-agent.log", self.headers.get("User-Agent", ""))
        if not self.path.endswith("/service-accounts/default/token") or \
           self.headers.get("Metadata-Flavor") != "Google":
            return self.reply(404, {})
        if os.path.exists(os.path.join(D, "expires_in")):
            life = float(read_file("expires_in"))
            with LOCK:
                tok = "tok-MINTED-%d-%x" % (len(MINTED) + 1,
                                            int(time.time() * 1e6))
                MINTED[tok] = time.time() + life
        else:
            life = 1800
            tok = read_file("token").split()[0]
        append("metadata.log", "%.3f %s" % (time.time(), tok))
        self.reply(200, {"access_token": tok, "expires_in": int(life),
                         "token_type": "Bearer"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with LOCK:
            with open(os.path.join(D, "requests.jsonl"), "ab") as f:
                f.write(body + b"\n")
        append("user-agent.log", self.headers.get("User-Agent", ""))
        if self.path != "/v2/entries:list":
            return self.reply(404, {})
        authz = self.headers.get("Authorization", "")
        tok = authz[7:] if authz.startswith("Bearer ") else ""
        append("bearer.log", tok)
        with LOCK:
            expires = MINTED.get(tok)
        if expires is not None and time.time() >= expires:
            append("401.log", "expired %s" % tok)
            return self.error(401, "UNAUTHENTICATED",
                "Request had invalid authentication credentials.")
        if expires is None and tok not in read_file("token").split():
            append("401.log", "unknown")
            return self.error(401, "UNAUTHENTICATED",
                "Request had invalid authentication credentials.")
        word = script_next()
        if word is not None and word.startswith("sleep:"):
            time.sleep(float(word[6:]))
            word = None
        if word == "huge":
            return self.huge()
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
if len(sys.argv) > 3:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    # a client that refuses the certificate fails its accept(), which
    # socketserver ignores
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
open(os.path.join(D, "port.tmp"), "w").write(str(s.server_address[1]))
os.rename(os.path.join(D, "port.tmp"), os.path.join(D, "port"))
s.serve_forever()
