"""HTTP/1.1 server and request handler of the emulator.

Every response has Content-Length, except event streams, which are sent
with ``Connection: close`` and end when the server closes the connection.
Keep-alive connections stay open between requests otherwise.
"""

import http.server
import io
import logging
import socket
import struct
import time

import control
import routes
import signing
from responses import HttpError, Response, StreamResponse, encode_json, huawei_error
from state import ROUTE_UNKNOWN, new_request_id

LOG = logging.getLogger("hwai_emulator")

# Largest request body accepted, in bytes.
MAX_BODY_BYTES = 64 * 1024 * 1024
CONTROL_PREFIX = "/_emulator/"


class BodyError(Exception):
    """A request body that cannot be read; the connection is closed after the 400."""


class ConnectionDropped(Exception):
    """The emulator closed the connection on purpose (scripted reset)."""


class EmulatorServer(http.server.ThreadingHTTPServer):
    """Threaded server that counts accepted TCP connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state, quiet=False):
        self.state = state
        self.quiet = quiet
        super().__init__(address, EmulatorHandler)

    def get_request(self):
        connection, address = super().get_request()
        self.state.count_tcp_accept()
        return connection, address


def _is_loopback(address):
    return address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1")


class EmulatorHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hwai-emulator/1.0"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        # State generation in which this connection was last counted, or None.
        self.counted_generation = None
        self.request_id = None
        self.route_name = None

    # http.server hooks

    def handle_expect_100(self):
        if self.server.state.config.send_100_continue:
            return super().handle_expect_100()
        return True

    def log_request(self, code="-", size="-"):
        # Each request is logged once by _log_request_line.
        pass

    def log_message(self, format, *args):
        LOG.warning("%s: %s", self.address_string(), format % args)

    def send_error(self, code, message=None, explain=None):
        """Send a JSON error for requests http.server rejects before dispatch (bad request line, 501)."""
        request_id = new_request_id()
        body = encode_json(
            {
                "error_code": "APIG.0201" if code < 500 else "APIG.0501",
                "error_msg": message or self.responses.get(code, ("Error",))[0],
                "request_id": request_id,
            }
        )
        self.log_message("code %d, message %s", code, message)
        self.close_connection = True
        try:
            self.send_response(code, message)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Request-Id", request_id)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(body)
        except OSError:
            pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    # Request reading

    def raw_target(self):
        """Return the request target exactly as sent; self.path may have been rewritten by http.server."""
        words = self.requestline.split()
        return words[1] if len(words) >= 2 else self.path

    def read_body(self):
        transfer_encoding = self.headers.get("Transfer-Encoding")
        if transfer_encoding is not None:
            if transfer_encoding.strip().lower() != "chunked":
                raise BodyError("unsupported Transfer-Encoding %r" % transfer_encoding)
            return self._read_chunked_body()
        length_values = self.headers.get_all("Content-Length") or []
        if not length_values:
            return b""
        if len(set(value.strip() for value in length_values)) != 1:
            raise BodyError("conflicting Content-Length headers")
        text = length_values[0].strip()
        if not text.isdigit():
            raise BodyError("invalid Content-Length %r" % text)
        length = int(text)
        if length > MAX_BODY_BYTES:
            raise BodyError("body of %d bytes is over the %d byte limit" % (length, MAX_BODY_BYTES))
        body = self.rfile.read(length)
        if len(body) != length:
            raise BodyError("body ended after %d of %d bytes" % (len(body), length))
        return body

    def _read_chunked_body(self):
        parts = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BodyError("invalid chunk size line %r" % line[:40]) from None
            if size == 0:
                break
            total += size
            if total > MAX_BODY_BYTES:
                raise BodyError("chunked body is over the %d byte limit" % MAX_BODY_BYTES)
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.read(2) != b"\r\n":
                raise BodyError("chunked body ended early")
            parts.append(chunk)
        # Skip trailer fields up to the empty line.
        while True:
            line = self.rfile.readline(8192)
            if line in (b"\r\n", b"\n", b""):
                break
        return b"".join(parts)

    # Dispatch

    def dispatch(self):
        started = time.monotonic()
        self.request_id = new_request_id()
        target = self.raw_target()
        path, query = signing.split_target(target)
        self.route_name = "control" if path.startswith(CONTROL_PREFIX) else None
        status = None
        try:
            try:
                body = self.read_body()
            except BodyError as error:
                self.close_connection = True
                LOG.warning("%s %s: invalid request body: %s", self.command, path, error)
                status = self.send_complete(
                    huawei_error(400, "APIG.0201", "Invalid request body: %s" % error, self.request_id)
                )
                return

            if self.route_name == "control":
                status = self.dispatch_control(path, query, body)
                return

            status = self.dispatch_service(target, path, query, body)
        except ConnectionDropped as dropped:
            status = "dropped (%s)" % dropped
        except (BrokenPipeError, ConnectionResetError) as error:
            self.close_connection = True
            status = "client disconnected (%s)" % error.__class__.__name__
        finally:
            self._log_request_line(path, status, self.route_name, started)

    def _log_request_line(self, path, status, route_name, started):
        if self.server.quiet and not (isinstance(status, int) and status >= 500):
            return
        elapsed_ms = (time.monotonic() - started) * 1000
        server_error = isinstance(status, int) and status >= 500
        LOG.log(
            logging.WARNING if server_error else logging.INFO,
            "%s %s %s route=%s %.1fms request_id=%s",
            self.command,
            path,
            status,
            route_name,
            elapsed_ms,
            self.request_id,
        )

    def dispatch_control(self, path, query, body):
        if not _is_loopback(self.client_address[0]):
            response = huawei_error(403, "APIG.0302", "control endpoints accept loopback clients only", self.request_id)
        else:
            response = control.handle(self.server.state, self.command, path, body, self.request_id)
        if response.status >= 400:
            LOG.warning("%s %s rejected: %s", self.command, path, response.body.decode("utf-8", "replace"))
        return self.send_complete(response)

    def dispatch_service(self, target, path, query, body):
        """Respond to one service request and return the status for the log."""
        state = self.server.state
        self.counted_generation = state.count_service_connection(self.counted_generation)

        route = routes.match_route(path)
        route_name = route.name if route else ROUTE_UNKNOWN
        self.route_name = route_name
        headers = signing.HeaderList(self.headers.items())
        state.count_request(
            route_name,
            expect_100=self.headers.get("Expect") is not None,
            chunked=self.headers.get("Transfer-Encoding") is not None,
        )
        request = routes.ServiceRequest(self.command, target, path, query, headers, body, state, self.request_id)

        script = state.next_script(route_name)
        if script is not None and script.stall_ms:
            time.sleep(script.stall_ms / 1000)
        if script is not None and script.kind != "modify":
            return self.send_scripted(script)

        try:
            if route is None:
                response = routes.unknown_route_response(request)
            elif self.command not in route.methods:
                response = routes.method_not_allowed_response(request, route)
            else:
                request.path_params = route.path_params
                response = route.handler(request)
        except HttpError as error:
            LOG.info("%s %s: %s (request_id=%s)", self.command, path, error.log_detail, self.request_id)
            response = error.response

        if isinstance(response, StreamResponse):
            return self.send_stream(response, script)
        return self.send_complete(response, script)

    # Response writing

    def _start_response(self, status, headers, content_type):
        self.send_response(status)
        names = {name.lower() for name, _ in headers}
        if content_type is not None and "content-type" not in names:
            self.send_header("Content-Type", content_type)
        if "x-request-id" not in names:
            self.send_header("X-Request-Id", self.request_id)
        for name, value in headers:
            self.send_header(name, value)

    def send_complete(self, response, script=None):
        """Write a Response with Content-Length, honouring a scripted mid-body reset."""
        body = response.body if self.command != "HEAD" else b""
        self._start_response(response.status, response.headers, response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        cut = script.cut_body_after if script is not None else None
        if cut is not None:
            self.wfile.write(body[:cut])
            self.drop_connection(script.rst)
            raise ConnectionDropped("reset after %d body bytes" % min(cut, len(body)))
        self.wfile.write(body)
        return response.status

    def send_stream(self, stream, script=None):
        """Write a StreamResponse as server-sent events, one ``data:`` event per write."""
        state = self.server.state
        delay_ms = state.config.stream_delay_ms
        cut_events = None
        error_after = None
        cut_bytes = None
        if script is not None:
            if script.stream_delay_ms is not None:
                delay_ms = script.stream_delay_ms
            cut_events = script.stream_cut_after
            error_after = script.stream_error_after
            cut_bytes = script.cut_body_after

        self.close_connection = True
        self._start_response(200, stream.headers, "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()

        events = list(stream.events)
        ending = None
        if error_after is not None and error_after < len(events):
            events = events[:error_after] + [stream.error_event]
            ending = "error event after %d events" % error_after
        elif cut_events is not None:
            # A cut stream never carries [DONE], even when K covers every event.
            events = [event for event in events if event != "[DONE]"][:cut_events]
            ending = "cut after %d events" % len(events)

        sent_bytes = 0
        for index, event in enumerate(events):
            if index > 0 and delay_ms:
                time.sleep(delay_ms / 1000)
            data = b"data: " + event.encode("utf-8") + b"\n\n"
            if cut_bytes is not None and sent_bytes + len(data) >= cut_bytes:
                self.wfile.write(data[: cut_bytes - sent_bytes])
                self.drop_connection(script.rst)
                raise ConnectionDropped("reset after %d stream bytes" % cut_bytes)
            self.wfile.write(data)
            sent_bytes += len(data)
        if script is not None and script.rst and ending is not None:
            self.drop_connection(True)
        if ending is not None:
            return "200 (stream %s)" % ending
        return 200

    def send_scripted(self, script):
        """Send a scripted replacement response: a verbatim status response, raw bytes, or a reset."""
        if script.kind == "reset_before_response":
            self.drop_connection(script.rst)
            raise ConnectionDropped("reset before response")

        if script.kind == "raw":
            for data, pause_ms in script.chunks:
                self.wfile.write(data)
                if pause_ms:
                    time.sleep(pause_ms / 1000)
            if script.close:
                self.drop_connection(script.rst)
                raise ConnectionDropped("raw response of %d chunks, then close" % len(script.chunks))
            return "raw"

        if script.close:
            self.close_connection = True
        status = self.send_complete(Response(script.status, script.body, content_type="application/json",
                                             headers=script.headers))
        if script.close and script.rst:
            self.drop_connection(True)
        return "%d (scripted)" % status

    def drop_connection(self, rst):
        """Close the connection now: with a TCP RST when rst is true, else with a FIN."""
        self.close_connection = True
        if not rst:
            return
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # The socket only really closes once the file objects made from it
            # are closed. Empty stand-ins keep http.server's final flush and
            # close calls working.
            self.wfile.close()
            self.rfile.close()
            self.connection.close()
            self.wfile = io.BytesIO()
            self.rfile = io.BytesIO()
        except OSError as error:
            LOG.warning("could not reset connection: %s", error)
