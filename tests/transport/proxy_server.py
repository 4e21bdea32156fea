#!/usr/bin/env python3
"""HTTP forward proxy on 127.0.0.1 for the proxy tests of the transport.

It takes absolute-form requests for http:// targets (``POST
http://127.0.0.1:PORT/path HTTP/1.1``), checks ``Proxy-Authorization: Basic``
against the user name and password it was started with, and forwards the
request to the target. Only loopback targets are forwarded; any other host
gets 403, so the tests never reach another machine. A wrong or missing
``Proxy-Authorization`` gets 407, and CONNECT gets 405 because no test
tunnels TLS through the proxy.

``GET /_proxy/stats`` in origin form, sent straight to the proxy, returns
``{"forwarded": N, "rejected": N, "requests": N}``: requests forwarded,
requests rejected with 407, and all proxy requests. The first stdout line is
``listening on http://127.0.0.1:PORT``. Only the standard library is used.
The password comes from the environment variable named by
``--password-env``, so it never appears in a process listing.
"""

import argparse
import base64
import binascii
import hmac
import http.client
import http.server
import ipaddress
import json
import os
import sys
import threading
import urllib.parse

# Headers that belong to one connection or to the proxy itself, so they are
# never passed on, in either direction.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}

FORWARD_TIMEOUT_S = 30


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.values = {"forwarded": 0, "rejected": 0, "requests": 0}

    def add(self, name):
        with self.lock:
            self.values[name] += 1

    def snapshot(self):
        with self.lock:
            return dict(self.values)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hwai-test-proxy/1.0"
    sys_version = ""

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def do_CONNECT(self):
        self.server.counters.add("requests")
        self.send_plain(405, "CONNECT is not supported by this test proxy\n")

    def handle_any(self):
        if self.path == "/_proxy/stats":
            self.read_body()
            body = json.dumps(self.server.counters.snapshot()).encode("utf-8")
            self.send_bytes(200, "application/json", body)
            return
        self.server.counters.add("requests")
        body = self.read_body()
        target = urllib.parse.urlsplit(self.path)
        if target.scheme != "http" or not target.hostname:
            self.send_plain(400, "expected an absolute http:// request target\n")
            return
        if not self.authorized():
            self.server.counters.add("rejected")
            self.send_plain(
                407,
                "proxy authentication required\n",
                {"Proxy-Authenticate": 'Basic realm="hwai-test-proxy"'},
            )
            return
        if not is_loopback(target.hostname):
            self.send_plain(403, "this test proxy forwards to loopback hosts only\n")
            return
        self.forward(target, body)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def authorized(self):
        value = self.headers.get("Proxy-Authorization", "")
        scheme, _, encoded = value.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        expected = ("%s:%s" % (self.server.user, self.server.password)).encode("utf-8")
        return hmac.compare_digest(decoded, expected)

    def forward(self, target, body):
        path = target.path or "/"
        if target.query:
            path += "?" + target.query
        # Header names and values go on unchanged, Host included, because the
        # client signed them. Expect is left out because http.server has
        # already sent 100 Continue.
        headers = [(name, value) for name, value in self.headers.items()
                   if name.lower() not in HOP_BY_HOP and name.lower() != "expect"]

        connection = http.client.HTTPConnection(
            target.hostname, target.port or 80, timeout=FORWARD_TIMEOUT_S
        )
        try:
            connection.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            connection.endheaders(body if body else None)
            response = connection.getresponse()
            answer = response.read()
            answer_headers = [(name, value) for name, value in response.getheaders()
                              if name.lower() not in HOP_BY_HOP
                              and name.lower() != "content-length"]
            status = response.status
        except OSError as error:
            self.send_plain(502, "forwarding failed: %s\n" % error)
            return
        finally:
            connection.close()

        self.server.counters.add("forwarded")
        self.send_response(status)
        for name, value in answer_headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def send_plain(self, status, text, extra_headers=None):
        self.send_bytes(status, "text/plain; charset=utf-8", text.encode("utf-8"), extra_headers)

    def send_bytes(self, status, content_type, body, extra_headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, user, password):
        self.user = user
        self.password = password
        self.counters = Counters()
        super().__init__(address, Handler)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port, or 0 for a free port")
    parser.add_argument("--user", required=True, help="user name that Proxy-Authorization must carry")
    parser.add_argument(
        "--password-env",
        required=True,
        help="name of the environment variable that contains the expected password",
    )
    args = parser.parse_args()
    password = os.environ.get(args.password_env)
    if not password:
        print("proxy_server: environment variable %s is missing or empty" % args.password_env,
              file=sys.stderr)
        return 2

    server = Server(("127.0.0.1", args.port), args.user, password)
    print("listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
