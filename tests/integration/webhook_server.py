#!/usr/bin/env python3
"""A webhook receiver for the alert tests: records every POST it gets.

webhook_server.py LOG PORTFILE [PORT]

Listens on 127.0.0.1 (PORT, or any free port), writes the port to
PORTFILE once it listens, and appends one JSON line per request to LOG:
{"path": ..., "status": ..., "body": ..., "content_type": ...,
 "authorization": ...}.  What it answers depends on the path's first
segment:

  /ok/...           200 "ok"
  /flaky/N/...      500 for the first N requests to this exact path, then 200
  /refuse/...       404 "no_such_hook" (Slack's answer to a deleted hook)
  /slow/S/...       waits S seconds, then 200
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG, PORTFILE = sys.argv[1], sys.argv[2]
PORT = int(sys.argv[3]) if len(sys.argv) > 3 else 0
lock = threading.Lock()
seen = {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        parts = self.path.split("/")
        kind = parts[1] if len(parts) > 1 else ""
        status, answer = 200, b"ok"
        with lock:
            seen[self.path] = seen.get(self.path, 0) + 1
            count = seen[self.path]
        if kind == "flaky" and count <= int(parts[2]):
            status, answer = 500, b"try later"
        elif kind == "refuse":
            status, answer = 404, b"no_such_hook"
        elif kind == "slow":
            time.sleep(float(parts[2]))
        with lock, open(LOG, "a") as f:
            f.write(json.dumps({
                "path": self.path, "status": status, "body": body,
                "content_type": self.headers.get("Content-Type"),
                "authorization": self.headers.get("Authorization"),
                "time": time.time()}) + "\n")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


ThreadingHTTPServer.allow_reuse_address = True
ThreadingHTTPServer.daemon_threads = True
server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
