"""Control endpoints under /_emulator/: statistics, reset, fault scripts, token revocation, clock.

They need no authentication. The server serves them to loopback clients only.
"""

import json

import faults
from responses import huawei_error, json_response

CONTROL_ERROR_CODE = "EMULATOR.0400"


def _parse_json(body):
    if not body.strip():
        return {}
    return json.loads(body.decode("utf-8"))


def _bad_request(message, request_id):
    return huawei_error(400, CONTROL_ERROR_CODE, message, request_id)


def handle(state, method, path, body, request_id):
    """Handle one control request and return its Response."""
    endpoint = path[len("/_emulator/"):].rstrip("/")
    expected_method = {
        "health": "GET",
        "stats": "GET",
        "last_auth_failure": "GET",
        "reset": "POST",
        "script": "POST",
        "revoke_tokens": "POST",
        "clock": "POST",
    }.get(endpoint)
    if expected_method is None:
        return huawei_error(404, "EMULATOR.0404", "unknown control endpoint %s" % path, request_id)
    if method != expected_method:
        return huawei_error(
            405,
            "EMULATOR.0405",
            "use %s for %s" % (expected_method, path),
            request_id,
            headers=[("Allow", expected_method)],
        )

    try:
        value = _parse_json(body)
    except (UnicodeDecodeError, ValueError) as error:
        return _bad_request("control request body is not valid JSON: %s" % error, request_id)

    if endpoint == "health":
        return json_response(200, {"status": "ok"})
    if endpoint == "stats":
        return json_response(200, state.stats())
    if endpoint == "last_auth_failure":
        return json_response(200, {"last_auth_failure": state.last_auth_failure})
    if endpoint == "reset":
        state.reset()
        return json_response(200, {"reset": True})
    if endpoint == "revoke_tokens":
        return json_response(200, {"revoked": state.revoke_tokens()})
    if endpoint == "clock":
        offset = value.get("offset_s") if isinstance(value, dict) else None
        if isinstance(offset, bool) or not isinstance(offset, (int, float)):
            return _bad_request("'offset_s' must be a number of seconds", request_id)
        state.clock_offset_s = float(offset)
        return json_response(200, {"offset_s": state.clock_offset_s})

    try:
        route, scripted_responses = faults.parse_script(value)
    except faults.ScriptError as error:
        return _bad_request("invalid script: %s" % error, request_id)
    pending = state.queue_script(route, scripted_responses)
    return json_response(200, {"route": route, "queued": len(scripted_responses), "pending": pending})
