"""A small proxy in front of the SES v2 stand-in, so tests can take mail down for one domain
while the rest of the suite keeps sending (the stand-in has no outage switch).

    POST   /__outage/<domain>   mail to <domain> answers 503 from now on
    DELETE /__outage/<domain>   it goes through again
    GET    /__outage/<domain>   {"refused": n}: calls refused for it so far

Everything else is forwarded to the stand-in unchanged. Listens on 127.0.0.1 only."""
import http.server
import json
import sys
import threading
import urllib.error
import urllib.request

UPSTREAM = ""
DOWN = {}  # domain -> calls refused
LOCK = threading.Lock()


def destinations(body):
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return []
    found = []
    for dest in [doc.get("Destination") or {}] + [
        (e or {}).get("Destination") or {} for e in doc.get("BulkEmailEntries") or []
    ]:
        for key in ("ToAddresses", "CcAddresses", "BccAddresses"):
            found.extend(a for a in dest.get(key) or [] if isinstance(a, str))
    return found


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/__outage/"):
            domain = self.path[len("/__outage/"):].lower()
            with LOCK:
                if self.command == "POST":
                    DOWN.setdefault(domain, 0)
                elif self.command == "DELETE":
                    DOWN.pop(domain, None)
                refused = DOWN.get(domain)
            return self.reply(200, {"domain": domain, "down": refused is not None, "refused": refused or 0})
        with LOCK:
            hit = next((d for a in destinations(body) for d in DOWN if a.lower().endswith("@" + d)), None)
            if hit is not None:
                DOWN[hit] += 1
        if hit is not None:
            return self.reply(503, {"message": "simulated outage"})
        request = urllib.request.Request(UPSTREAM + self.path, data=body if body else None, method=self.command)
        for name, value in self.headers.items():
            if name.lower() not in ("host", "content-length", "connection"):
                request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                status, headers, data = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, data = e.code, e.headers, e.read()
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


if __name__ == "__main__":
    port, UPSTREAM = int(sys.argv[1]), sys.argv[2].rstrip("/")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy)
    server.daemon_threads = True
    server.serve_forever()
