"""Routing of service requests and the chat and sentiment handlers.

One server handles every emulated service, and the route is chosen from the
percent-decoded path. IAM handlers live in iam.py.
"""

import json
import urllib.parse

import auth
import chat
import iam
import signing
from responses import HttpError, StreamResponse, encode_json, huawei_error, json_response, model_error
from state import ROUTE_CHAT, ROUTE_ECHO, ROUTE_IAM_PROJECTS, ROUTE_IAM_TOKEN, ROUTE_SENTIMENT

PANGU_VALIDATION_CODE = "PANGU.3001"
OPENAI_VALIDATION_CODE = "invalid_request_error"
NLP_VALIDATION_CODE = "NLP.0301"
PROJECT_NOT_FOUND_CODE = "APIG.0101"
BAD_PROJECT_CODE = "APIG.0201"


class ServiceRequest:
    """A parsed service request as the route handlers see it."""

    def __init__(self, method, target, path, query, headers, body, state, request_id):
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.state = state
        self.request_id = request_id
        self.path_params = {}


class Route:
    """A matched route: stats name, allowed methods and handler."""

    def __init__(self, name, methods, handler, path_params=None):
        self.name = name
        self.methods = methods
        self.handler = handler
        self.path_params = path_params or {}


def match_route(path):
    """Return the Route for a raw request path, or None when no service has that path."""
    segments = urllib.parse.unquote(path).split("/")
    if len(segments) > 2 and segments[-1] == "":
        segments = segments[:-1]
    joined = "/".join(segments)

    if len(segments) == 7 and segments[1] == "v1" and segments[3] == "deployments" and segments[5:] == [
        "chat",
        "completions",
    ]:
        params = {"project_id": segments[2], "deployment_id": segments[4], "api": "pangu-v1"}
        return Route(ROUTE_CHAT, ("POST",), handle_pangu_chat, params)

    if (
        len(segments) == 9
        and segments[1] == "v2"
        and segments[3] == "pools"
        and segments[5] == "deployments"
        and segments[7:] == ["chat", "completions"]
    ):
        params = {
            "project_id": segments[2],
            "pool_id": segments[4],
            "deployment_id": segments[6],
            "api": "pangu-v2",
        }
        return Route(ROUTE_CHAT, ("POST",), handle_pangu_chat, params)

    if joined.endswith("/v1/chat/completions"):
        return Route(ROUTE_CHAT, ("POST",), handle_openai_chat, {"api": "openai"})

    if len(segments) in (5, 6) and segments[1] == "v1" and segments[3:5] == ["nlu", "sentiment"]:
        if len(segments) == 5 or segments[5] == "domain":
            return Route(ROUTE_SENTIMENT, ("POST",), handle_sentiment, {"project_id": segments[2]})

    if len(segments) >= 4 and segments[1] == "v1" and segments[3] == "hwai-echo":
        return Route(ROUTE_ECHO, ("GET", "POST", "PUT", "DELETE"), handle_echo, {"project_id": segments[2]})

    if joined == "/v3/auth/tokens":
        return Route(ROUTE_IAM_TOKEN, ("POST",), iam.handle_issue_token)

    if joined == "/v3/projects":
        return Route(ROUTE_IAM_PROJECTS, ("GET",), iam.handle_list_projects)

    return None


def unknown_route_response(request):
    return huawei_error(
        404,
        PROJECT_NOT_FOUND_CODE,
        "The API does not exist or has not been published in the environment: %s %s"
        % (request.method, request.path),
        request.request_id,
    )


def method_not_allowed_response(request, route):
    return huawei_error(
        405,
        "APIG.0202",
        "Method %s is not allowed on %s; use %s" % (request.method, request.path, ", ".join(route.methods)),
        request.request_id,
        headers=[("Allow", ", ".join(route.methods))],
    )


def check_project_id_syntax(request, project_id):
    """Reject an empty or unfilled ``{project_id}`` path segment with HTTP 400."""
    if project_id == "" or "{" in project_id or "}" in project_id:
        displayed_id = project_id if project_id else "(empty)"
        raise HttpError(
            huawei_error(
                400,
                BAD_PROJECT_CODE,
                "Invalid project id in the request path: %s; set the project id of your region" % displayed_id,
                request.request_id,
            ),
            log_detail="invalid project id segment %r" % project_id,
        )


def check_project_known(request, project_id):
    """Reject a project id that this emulator does not serve with HTTP 404."""
    if project_id not in request.state.config.known_project_ids():
        raise HttpError(
            huawei_error(
                404,
                PROJECT_NOT_FOUND_CODE,
                "Project %s not found: the emulator serves project %s"
                % (project_id, request.state.config.project_id),
                request.request_id,
            ),
            log_detail="unknown project id %s" % project_id,
        )


def parse_json_object(request, make_error):
    """Decode the body as a JSON object, raising the route's 400 error otherwise."""
    try:
        value = json.loads(request.body.decode("utf-8"))
    except UnicodeDecodeError:
        raise HttpError(make_error("request body is not valid UTF-8")) from None
    except ValueError as error:
        raise HttpError(make_error("request body is not valid JSON: %s" % error)) from None
    if not isinstance(value, dict):
        raise HttpError(make_error("request body must be a JSON object"))
    return value


# Chat


def _is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _validate_chat_body(body, fail):
    """Check the chat request fields the emulator uses; ``fail(message)`` raises."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        fail("'messages' must be a non-empty array")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            fail("messages[%d] must be an object" % index)
        if not isinstance(message.get("role"), str):
            fail("messages[%d].role must be a string" % index)
        if not isinstance(message.get("content"), (str, list)):
            fail("messages[%d].content must be a string or an array of parts" % index)

    max_tokens = body.get("max_tokens")
    if max_tokens is not None and (not _is_integer(max_tokens) or max_tokens < 1):
        fail("'max_tokens' must be an integer >= 1")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        fail("'stream' must be a boolean")
    n = body.get("n", 1)
    if not _is_integer(n) or n < 1 or n > 2:
        fail("'n' must be 1 or 2")
    if stream and n != 1:
        fail("'n' must be 1 when 'stream' is true")
    stream_options = body.get("stream_options")
    if stream_options is not None and not isinstance(stream_options, dict):
        fail("'stream_options' must be an object")
    for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            fail("'%s' must be a number" % name)


def _question_of(messages):
    for message in reversed(messages):
        if message.get("role") == "user":
            return chat.message_text(message.get("content"))
    return chat.message_text(messages[-1].get("content"))


def _chat_response(request, body, model):
    """Build the chat.completion response, or a StreamResponse when ``stream`` is true."""
    messages = body["messages"]
    reply, finish_reason = chat.truncate_to_tokens(chat.build_reply(_question_of(messages)), body.get("max_tokens"))
    prompt_tokens = sum(chat.count_tokens(chat.message_text(m.get("content"))) for m in messages)
    completion_tokens = chat.count_tokens(reply)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    completion_id = "chatcmpl-" + request.request_id
    created = int(request.state.now())

    if body.get("stream", False):
        return _chat_stream(completion_id, created, model, reply, finish_reason, usage, body)

    choices = [
        {"index": index, "message": {"role": "assistant", "content": reply}, "finish_reason": finish_reason}
        for index in range(body.get("n", 1))
    ]
    return json_response(
        200,
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": choices,
            "usage": usage,
        },
    )


def _chat_stream(completion_id, created, model, reply, finish_reason, usage, body):
    def chunk(choices, extra=None):
        value = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
        }
        if extra:
            value.update(extra)
        return encode_json(value).decode("utf-8")

    events = [chunk([{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}])]
    for piece in chat.stream_pieces(reply):
        events.append(chunk([{"index": 0, "delta": {"content": piece}, "finish_reason": None}]))
    events.append(chunk([{"index": 0, "delta": {}, "finish_reason": finish_reason}]))
    stream_options = body.get("stream_options") or {}
    if stream_options.get("include_usage") is True:
        events.append(chunk([], {"usage": usage}))
    events.append("[DONE]")

    error_event = encode_json(
        {"error": {"code": "PANGU.5000", "type": "server_error", "message": "The model service failed mid-stream"}}
    ).decode("utf-8")
    return StreamResponse(events, error_event=error_event)


def handle_pangu_chat(request):
    """Respond to a Pangu v1 or v2 chat completion (AK/SK, X-Auth-Token, optional API key)."""
    project_id = request.path_params["project_id"]
    check_project_id_syntax(request, project_id)
    config = request.state.config
    credential = auth.authenticate(request, auth.AuthPolicy(api_key=config.pangu_api_key))
    check_project_known(request, project_id)
    auth.check_token_project(request, credential, project_id)

    def fail(message):
        raise HttpError(model_error(400, PANGU_VALIDATION_CODE, "invalid_request_error", message))

    body = parse_json_object(request, fail)
    _validate_chat_body(body, fail)
    model = body.get("model") if isinstance(body.get("model"), str) else request.path_params["deployment_id"]
    return _chat_response(request, body, model)


def handle_openai_chat(request):
    """Respond to an OpenAI-compatible chat completion (Bearer API key or AK/SK)."""
    auth.authenticate(request, auth.AuthPolicy(token=False, api_key=request.state.config.api_key))

    def fail(message):
        raise HttpError(model_error(400, OPENAI_VALIDATION_CODE, "invalid_request_error", message))

    body = parse_json_object(request, fail)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        fail("'model' is required and must be a non-empty string")
    _validate_chat_body(body, fail)
    return _chat_response(request, body, model)


# NLP


def handle_echo(request):
    """Echo an authenticated request back; an emulator-only route for SDK tests.

    It checks authorization like every service route, then returns what it
    received, so a test can send any path, query and method through the SDK and
    see that the gateway would accept the signature.
    """
    project_id = request.path_params["project_id"]
    check_project_id_syntax(request, project_id)
    auth.authenticate(request, auth.AuthPolicy())
    check_project_known(request, project_id)
    return json_response(
        200,
        {
            "method": request.method,
            "path": urllib.parse.unquote(request.path),
            "query": [
                [key.decode("utf-8", "replace"), value.decode("utf-8", "replace")]
                for key, value in signing.parse_query_pairs(request.query)
            ],
            "body_length": len(request.body),
        },
    )


def handle_sentiment(request):
    """Respond to an NLP sentiment analysis request."""
    project_id = request.path_params["project_id"]
    check_project_id_syntax(request, project_id)
    credential = auth.authenticate(request, auth.AuthPolicy())
    check_project_known(request, project_id)
    auth.check_token_project(request, credential, project_id)

    def fail(message):
        raise HttpError(huawei_error(400, NLP_VALIDATION_CODE, "Invalid parameter: " + message, request.request_id))

    body = parse_json_object(request, fail)
    content = body.get("content")
    if not isinstance(content, str) or not content.strip():
        fail("'content' is required and must be a non-empty string")
    lang = body.get("lang", "zh")
    if lang not in ("zh", "en"):
        fail("'lang' must be 'zh' or 'en', got %s" % json.dumps(lang, ensure_ascii=False))
    label, confidence = chat.classify_sentiment(content)
    return json_response(200, {"result": {"content": content, "label": label, "confidence": confidence}})

