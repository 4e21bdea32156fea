"""A stand-in for the instance metadata service, for the credential chain tests.

It listens on 127.0.0.1 only, prints ``listening on http://127.0.0.1:PORT`` as
its first line, and serves:

- ``PUT /meta-data/latest/api/token``: a session token when the configured
  token status is 200, else an empty response with that status. A PUT without
  ``X-Metadata-Token-Ttl-Seconds`` gets 400.
- ``GET /openstack/latest/securitykey``: temporary keys
  ``{"credential": {"access", "secret", "securitytoken", "expires_at"}}``.
  Each response numbers its keys (METAAK0001, METAAK0002, ...), so a refresh is
  visible in the AK. When a session token was issued, a GET without it (or
  with another one) gets 401.

Control requests, which are not counted:

- ``GET /_stats``: request counters and the headers last seen.
- ``POST /_config``: a JSON object with any of ``expires_in_s`` (lifetime of
  the keys, negative for already expired), ``token_status`` (status of the
  PUT), ``key_status`` (status of the GET) and ``key_delay_ms`` (pause before
  responding to the GET).
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SESSION_TOKEN = "metadata-session-token-0001"


class State:
    def __init__(self, expires_in_s):
        self.lock = threading.Lock()
        self.expires_in_s = expires_in_s
        self.token_status = 200
        self.key_status = 200
        self.key_delay_ms = 0
        self.token_issued = False
        self.token_put = 0
        self.securitykey_get = 0
        self.other = 0
        self.last_ttl_header = None
        self.last_key_had_token = False

    def stats(self):
        with self.lock:
            return {
                "token_put": self.token_put,
                "securitykey_get": self.securitykey_get,
                "other": self.other,
                "total": self.token_put + self.securitykey_get + self.other,
                "last_ttl_header": self.last_ttl_header,
                "last_key_had_token": self.last_key_had_token,
            }


def format_time(epoch_seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(epoch_seconds))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body=b"", content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_PUT(self):
        state = self.server.state
        self._read_body()
        if self.path != "/meta-data/latest/api/token":
            with state.lock:
                state.other += 1
            self._send(404)
            return
        ttl = self.headers.get("X-Metadata-Token-Ttl-Seconds")
        with state.lock:
            state.token_put += 1
            state.last_ttl_header = ttl
            status = state.token_status
            if status == 200 and ttl:
                state.token_issued = True
        if not ttl:
            self._send(400)
        elif status == 200:
            self._send(200, SESSION_TOKEN.encode(), "text/plain")
        else:
            self._send(status)

    def do_GET(self):
        state = self.server.state
        if self.path == "/_stats":
            self._send(200, json.dumps(state.stats()).encode())
            return
        if self.path != "/openstack/latest/securitykey":
            with state.lock:
                state.other += 1
            self._send(404)
            return
        token = self.headers.get("X-Metadata-Token")
        with state.lock:
            state.securitykey_get += 1
            number = state.securitykey_get
            state.last_key_had_token = token == SESSION_TOKEN
            token_required = state.token_issued
            status = state.key_status
            delay_ms = state.key_delay_ms
            expires_in_s = state.expires_in_s
        if delay_ms:
            time.sleep(delay_ms / 1000.0)
        if token_required and token != SESSION_TOKEN:
            self._send(401)
            return
        if status != 200:
            self._send(status, b'{"error": "scripted failure"}')
            return
        credential = {
            "access": "METAAK%04d" % number,
            "secret": "meta-secret-%04d" % number,
            "securitytoken": "meta-security-token-%04d" % number,
            "expires_at": format_time(int(time.time()) + expires_in_s),
        }
        self._send(200, json.dumps({"credential": credential}).encode())

    def do_POST(self):
        state = self.server.state
        body = self._read_body()
        if self.path != "/_config":
            with state.lock:
                state.other += 1
            self._send(404)
            return
        settings = json.loads(body.decode() or "{}")
        with state.lock:
            for key in ("expires_in_s", "token_status", "key_status", "key_delay_ms"):
                if key in settings:
                    setattr(state, key, int(settings[key]))
        self._send(200, b"{}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument(
        "--expires-in-s", type=int, default=7200, help="lifetime of the keys it returns, in seconds"
    )
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.state = State(args.expires_in_s)
    print("listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
