#!/usr/bin/env python3
"""HTTPS server on 127.0.0.1 for the TLS tests of the transport.

It presents the test certificate from tests/data/tls/ and responds to every
POST with one fixed sentiment result, whatever the path and body. With
``--client-ca FILE`` it also requires a client certificate signed by a CA in
FILE and ends the handshake of clients without one. The first stdout line is
``listening on https://127.0.0.1:PORT``. Only the standard library is used.
"""

import argparse
import http.server
import json
import os
import ssl
import sys

SENTIMENT_BODY = json.dumps(
    {"result": {"content": "fixed answer", "label": 1, "confidence": 0.9731}}
).encode("utf-8")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hwai-test-https/1.0"
    sys_version = ""

    def setup(self):
        # The handshake runs here, on the connection's own thread, so a client
        # that stalls or rejects the certificate never blocks the accept loop.
        self.request.do_handshake()
        super().setup()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(SENTIMENT_BODY)))
        self.send_header("X-Request-Id", "req-tls")
        self.end_headers()
        self.wfile.write(SENTIMENT_BODY)

    def log_message(self, format, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, context):
        self.context = context
        super().__init__(address, Handler)

    def get_request(self):
        connection, address = super().get_request()
        wrapped = self.context.wrap_socket(
            connection, server_side=True, do_handshake_on_connect=False
        )
        return wrapped, address

    def handle_error(self, request, client_address):
        # Clients that reject the certificate end the handshake with an alert,
        # and with --client-ca the server ends it for clients without a valid
        # certificate. The tests expect that, so one line on stderr is enough.
        error = sys.exc_info()[1]
        print("https_server: connection from %s:%d failed: %s" % (client_address + (error,)),
              file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port, or 0 for a free port")
    parser.add_argument(
        "--tls-dir",
        default=os.path.join(os.environ.get("HWAI_TEST_DATA_DIR", "tests/data"), "tls"),
        help="directory that contains server.pem and server.key",
    )
    parser.add_argument(
        "--client-ca",
        help="PEM file of the CAs that sign accepted client certificates; when set, a "
        "client certificate is required",
    )
    args = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(
        os.path.join(args.tls_dir, "server.pem"), os.path.join(args.tls_dir, "server.key")
    )
    if args.client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=args.client_ca)
    server = Server(("127.0.0.1", args.port), context)
    print("listening on https://127.0.0.1:%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
