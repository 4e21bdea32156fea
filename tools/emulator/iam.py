"""IAM endpoints: user token issue (POST /v3/auth/tokens) and project lookup (GET /v3/projects).

Error bodies follow the IAM (OpenStack Keystone) shape
``{"error": {"code", "message", "title"}}``.
"""

import hashlib
import hmac
import json
import time

import auth
import signing
from responses import HttpError, iam_error, json_response

WRONG_PASSWORD_MESSAGE = "The username or password is wrong."


def _stable_id(kind, name):
    """Return a 32-hex-digit id derived from a name, so ids stay the same across runs."""
    return hashlib.sha256(("%s:%s" % (kind, name)).encode("utf-8")).hexdigest()[:32]


def format_iam_time(epoch_seconds):
    """Format epoch seconds as IAM does: ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC."""
    whole = int(epoch_seconds)
    micros = int(round((epoch_seconds - whole) * 1_000_000))
    if micros == 1_000_000:
        whole += 1
        micros = 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%06dZ" % micros


def _bad_request(message):
    return HttpError(iam_error(400, "Bad Request", message), log_detail="invalid token request: " + message)


def _unauthorized(message, detail):
    return HttpError(iam_error(401, "Unauthorized", message), log_detail=detail)


def _get_object(container, key, where):
    value = container.get(key)
    if not isinstance(value, dict):
        raise _bad_request("'%s.%s' must be an object" % (where, key))
    return value


def _domain_of(config):
    return {"id": _stable_id("domain", config.iam_domain), "name": config.iam_domain}


def _check_password_identity(config, identity):
    password_identity = _get_object(identity, "password", "auth.identity")
    user = _get_object(password_identity, "user", "auth.identity.password")
    name = user.get("name")
    password = user.get("password")
    if not isinstance(name, str) or not isinstance(password, str):
        raise _bad_request("'auth.identity.password.user' needs string 'name' and 'password'")
    domain = _get_object(user, "domain", "auth.identity.password.user")
    domain_name = domain.get("name")
    domain_id = domain.get("id")
    domain_matches = domain_name == config.iam_domain or domain_id == _domain_of(config)["id"]
    name_matches = hmac.compare_digest(name.encode("utf-8"), config.iam_user.encode("utf-8"))
    password_matches = hmac.compare_digest(password.encode("utf-8"), config.iam_password.encode("utf-8"))
    if not (domain_matches and name_matches and password_matches):
        raise _unauthorized(WRONG_PASSWORD_MESSAGE, "wrong IAM user name, password or domain")


def _check_token_identity(state, identity):
    token_identity = _get_object(identity, "token", "auth.identity")
    value = token_identity.get("id")
    if not isinstance(value, str):
        raise _bad_request("'auth.identity.token.id' must be a string")
    token = state.find_token(value)
    if token is None or token.expires_at <= state.now():
        raise _unauthorized("The token is invalid or has expired.", "token-based token request with a bad token")


def _resolve_scope(config, auth_body):
    """Return (project, domain) dicts for the requested scope; an absent scope gives (None, domain)."""
    domain = _domain_of(config)
    scope = auth_body.get("scope")
    if scope is None:
        return None, domain
    if not isinstance(scope, dict):
        raise _bad_request("'auth.scope' must be an object")
    if "project" in scope:
        project = _get_object(scope, "project", "auth.scope")
        if isinstance(project.get("id"), str):
            for project_id, name in config.all_projects():
                if project_id == project["id"]:
                    return {"id": project_id, "name": name, "domain": domain}, domain
            raise _bad_request("project id %s not found" % project["id"])
        if isinstance(project.get("name"), str):
            matches = [p for p in config.projects_for_region(project["name"]) if p[1] == project["name"]]
            if not matches:
                raise _bad_request("project name %s not found" % project["name"])
            project_id, name = matches[0]
            return {"id": project_id, "name": name, "domain": domain}, domain
        raise _bad_request("'auth.scope.project' needs 'id' or 'name'")
    if "domain" in scope:
        return None, domain
    raise _bad_request("'auth.scope' needs 'project' or 'domain'")


def handle_issue_token(request):
    """Issue an IAM user token for a password (or token) identity; the token is in X-Subject-Token."""
    config = request.state.config
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _bad_request("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _bad_request("request body must be a JSON object")
    auth_body = _get_object(body, "auth", "body")
    identity = _get_object(auth_body, "identity", "auth")
    methods = identity.get("methods")
    if methods == ["password"]:
        _check_password_identity(config, identity)
    elif methods == ["token"]:
        _check_token_identity(request.state, identity)
    else:
        raise _bad_request("'auth.identity.methods' must be [\"password\"] or [\"token\"]")

    project, domain = _resolve_scope(config, auth_body)
    user = {
        "id": _stable_id("user", config.iam_user),
        "name": config.iam_user,
        "domain": domain,
        "password_expires_at": "",
    }
    token = request.state.issue_token(user, project, domain)
    token_body = {
        "expires_at": format_iam_time(token.expires_at),
        "issued_at": format_iam_time(token.issued_at),
        "methods": methods,
        "user": user,
        "roles": [{"id": _stable_id("role", "te_admin"), "name": "te_admin"}],
        "catalog": [],
    }
    if project is not None:
        token_body["project"] = project
    else:
        token_body["domain"] = domain
    response = json_response(201, {"token": token_body})
    response.headers.append(("X-Subject-Token", token.value))
    return response


def handle_list_projects(request):
    """List projects, filtered by ``name`` (a region id) when the query has it."""
    auth.authenticate(request, auth.AuthPolicy())
    config = request.state.config
    names = [
        value.decode("utf-8", "replace")
        for key, value in signing.parse_query_pairs(request.query)
        if key == b"name"
    ]
    if names:
        entries = config.projects_for_region(names[0])
    else:
        entries = config.all_projects()
    domain_id = _domain_of(config)["id"]
    projects = [
        {
            "id": project_id,
            "name": name,
            "domain_id": domain_id,
            "parent_id": domain_id,
            "enabled": True,
            "is_domain": False,
            "description": "",
            "links": {"self": "/v3/projects/" + project_id},
        }
        for project_id, name in entries
    ]
    return json_response(200, {"projects": projects, "links": {"self": "/v3/projects"}})
