"""Response objects that route handlers return and the HTTP handler writes."""

import json


def encode_json(value):
    """Encode JSON compactly as UTF-8, keeping non-ASCII text readable."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Response:
    """A complete response sent with Content-Length."""

    def __init__(self, status, body=b"", content_type="application/json", headers=None):
        self.status = status
        self.body = body
        self.content_type = content_type
        # List of (name, value) pairs; a name may repeat.
        self.headers = list(headers or [])


class StreamResponse:
    """A server-sent-events response: each event is the text after ``data: ``."""

    def __init__(self, events, headers=None, error_event=None):
        self.status = 200
        self.events = events
        self.headers = list(headers or [])
        # JSON text sent as the last event when a script requests an error mid-stream.
        self.error_event = error_event


def json_response(status, value, headers=None):
    return Response(status, encode_json(value), headers=headers)


def huawei_error(status, error_code, error_msg, request_id, headers=None):
    """Return the API gateway error shape ``{"error_code", "error_msg", "request_id"}``."""
    body = {"error_code": error_code, "error_msg": error_msg, "request_id": request_id}
    return json_response(status, body, headers)


def model_error(status, code, error_type, message):
    """Return the chat-service error shape ``{"error": {"code", "type", "message"}}``."""
    return json_response(status, {"error": {"code": code, "type": error_type, "message": message}})


def iam_error(status, title, message):
    """Return the IAM (OpenStack Keystone) error shape ``{"error": {"code", "message", "title"}}``."""
    return json_response(status, {"error": {"code": status, "message": message, "title": title}})


class HttpError(Exception):
    """An error raised inside a handler that carries the response to send."""

    def __init__(self, response, log_detail=None):
        super().__init__(log_detail or "HTTP %d" % response.status)
        self.response = response
        self.log_detail = log_detail
