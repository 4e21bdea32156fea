"""Scripted responses and fault injection, queued through POST /_emulator/script.

Each script entry is validated when it is queued, so a typo fails the
control request instead of silently changing nothing. Entries come in three
groups:

* replacements of the response: ``status`` (a verbatim response), ``raw``
  (exact bytes on the socket) and ``reset: before_response`` (close without
  responding);
* modifiers of the normal response: ``stall_ms``, ``stream_delay_ms``,
  ``stream_cut_after``, ``stream_error_after`` and ``reset: mid_body``;
* ``rst: true`` with any entry that closes the connection sends a TCP RST
  (SO_LINGER 0) in place of the normal FIN.
"""

import base64
import binascii

from state import SCRIPT_ROUTES

_COMMON_KEYS = {"stall_ms", "rst"}
_STATUS_KEYS = _COMMON_KEYS | {"status", "headers", "body", "body_b64", "close"}
_RAW_KEYS = _COMMON_KEYS | {"raw", "close"}
_RAW_CHUNK_KEYS = {"data_b64", "data", "pause_ms"}
_MODIFIER_KEYS = _COMMON_KEYS | {
    "reset",
    "after_bytes",
    "stream_delay_ms",
    "stream_cut_after",
    "stream_error_after",
}

# Headers that the emulator computes itself for a scripted status response.
_COMPUTED_HEADERS = {"content-length", "transfer-encoding"}


class ScriptError(ValueError):
    """An invalid script entry; str() names the invalid field."""


class ScriptedResponse:
    """A validated script entry."""

    def __init__(self, kind):
        # "status", "raw", "reset_before_response" or "modify".
        self.kind = kind
        self.stall_ms = 0
        self.rst = False
        self.close = False
        # kind "status"
        self.status = None
        self.headers = []
        self.body = b""
        # kind "raw": list of (bytes, pause in ms before the next chunk)
        self.chunks = []
        # kind "modify"
        self.cut_body_after = None
        self.stream_delay_ms = None
        self.stream_cut_after = None
        self.stream_error_after = None


def _non_negative_int(entry, key, where):
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ScriptError("%s: '%s' must be an integer >= 0, got %r" % (where, key, value))
    return value


def _boolean(entry, key, where, default):
    value = entry.get(key, default)
    if not isinstance(value, bool):
        raise ScriptError("%s: '%s' must be true or false, got %r" % (where, key, value))
    return value


def _check_keys(entry, allowed, where):
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ScriptError("%s: unknown or conflicting field(s) %s" % (where, ", ".join(unknown)))


def _decode_b64(text, where):
    if not isinstance(text, str):
        raise ScriptError("%s must be a base64 string" % where)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ScriptError("%s is not valid base64" % where) from None


def _parse_headers(value, where):
    if value is None:
        return []
    if not isinstance(value, dict):
        raise ScriptError("%s: 'headers' must be an object of name -> value or list of values" % where)
    headers = []
    for name, header_value in value.items():
        values = header_value if isinstance(header_value, list) else [header_value]
        for item in values:
            if not isinstance(item, str):
                raise ScriptError("%s: header %s values must be strings" % (where, name))
            if any(character in item or character in name for character in "\r\n"):
                raise ScriptError("%s: header %s contains a line break; use 'raw' for that" % (where, name))
            headers.append((name, item))
    return headers


def _parse_status(entry, where):
    _check_keys(entry, _STATUS_KEYS, where)
    status = entry["status"]
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise ScriptError("%s: 'status' must be an integer from 200 to 599 (use 'raw' for 1xx)" % where)
    scripted = ScriptedResponse("status")
    scripted.status = status
    scripted.headers = [
        (name, value) for name, value in _parse_headers(entry.get("headers"), where)
        if name.lower() not in _COMPUTED_HEADERS
    ]
    if "body" in entry and "body_b64" in entry:
        raise ScriptError("%s: give 'body' or 'body_b64', not both" % where)
    if "body_b64" in entry:
        scripted.body = _decode_b64(entry["body_b64"], where + ".body_b64")
    elif isinstance(entry.get("body"), str):
        scripted.body = entry["body"].encode("utf-8")
    elif "body" in entry:
        raise ScriptError("%s: 'body' must be a string (sent verbatim)" % where)
    scripted.close = _boolean(entry, "close", where, False)
    return scripted


def _parse_raw(entry, where):
    _check_keys(entry, _RAW_KEYS, where)
    chunks = entry["raw"]
    if not isinstance(chunks, list) or not chunks:
        raise ScriptError("%s: 'raw' must be a non-empty array of chunks" % where)
    scripted = ScriptedResponse("raw")
    for index, chunk in enumerate(chunks):
        chunk_where = "%s.raw[%d]" % (where, index)
        if not isinstance(chunk, dict):
            raise ScriptError("%s must be an object" % chunk_where)
        _check_keys(chunk, _RAW_CHUNK_KEYS, chunk_where)
        if ("data_b64" in chunk) == ("data" in chunk):
            raise ScriptError("%s needs exactly one of 'data_b64' or 'data'" % chunk_where)
        if "data_b64" in chunk:
            data = _decode_b64(chunk["data_b64"], chunk_where + ".data_b64")
        elif isinstance(chunk["data"], str):
            data = chunk["data"].encode("utf-8")
        else:
            raise ScriptError("%s.data must be a string" % chunk_where)
        pause_ms = _non_negative_int(chunk, "pause_ms", chunk_where) if "pause_ms" in chunk else 0
        scripted.chunks.append((data, pause_ms))
    scripted.close = _boolean(entry, "close", where, True)
    return scripted


def _parse_modifier(entry, where):
    _check_keys(entry, _MODIFIER_KEYS, where)
    reset = entry.get("reset")
    if reset == "before_response":
        if set(entry) - _COMMON_KEYS - {"reset"}:
            raise ScriptError("%s: 'reset: before_response' takes only 'stall_ms' and 'rst'" % where)
        scripted = ScriptedResponse("reset_before_response")
        scripted.close = True
        return scripted
    scripted = ScriptedResponse("modify")
    if reset == "mid_body":
        if "after_bytes" not in entry:
            raise ScriptError("%s: 'reset: mid_body' needs 'after_bytes'" % where)
        scripted.cut_body_after = _non_negative_int(entry, "after_bytes", where)
    elif reset is not None:
        raise ScriptError("%s: 'reset' must be 'before_response' or 'mid_body', got %r" % (where, reset))
    elif "after_bytes" in entry:
        raise ScriptError("%s: 'after_bytes' needs 'reset: mid_body'" % where)
    for key in ("stream_delay_ms", "stream_cut_after", "stream_error_after"):
        if key in entry:
            setattr(scripted, key, _non_negative_int(entry, key, where))
    if len(entry) == 0:
        raise ScriptError("%s: empty entry; see tools/emulator/README.md for the entry kinds" % where)
    return scripted


def parse_entry(entry, where):
    """Validate one script entry and return a ScriptedResponse."""
    if not isinstance(entry, dict):
        raise ScriptError("%s must be an object" % where)
    if "status" in entry:
        scripted = _parse_status(entry, where)
    elif "raw" in entry:
        scripted = _parse_raw(entry, where)
    else:
        scripted = _parse_modifier(entry, where)
    if "stall_ms" in entry:
        scripted.stall_ms = _non_negative_int(entry, "stall_ms", where)
    scripted.rst = _boolean(entry, "rst", where, False)
    return scripted


def parse_script(value):
    """Validate a POST /_emulator/script body and return (route, [ScriptedResponse, ...])."""
    if not isinstance(value, dict):
        raise ScriptError("script body must be a JSON object with 'route' and 'responses'")
    _check_keys(value, {"route", "responses"}, "script")
    route = value.get("route")
    if route not in SCRIPT_ROUTES:
        raise ScriptError("'route' must be one of %s, got %r" % (", ".join(SCRIPT_ROUTES), route))
    responses = value.get("responses")
    if not isinstance(responses, list) or not responses:
        raise ScriptError("'responses' must be a non-empty array")
    scripted_responses = [parse_entry(entry, "responses[%d]" % index) for index, entry in enumerate(responses)]
    return route, scripted_responses
