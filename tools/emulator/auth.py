"""Authentication of service requests: AK/SK signatures, IAM tokens and API keys.

Failures raise HttpError with a 401 (or 403) body in the API gateway shape
``{"error_code", "error_msg"}``. APIG.0301 (bad AK/SK authentication) and
APIG.0307 (token must be updated) are the codes the real gateway returns for
those cases. APIG.0302 for a token scoped to another project is this
emulator's choice.
"""

import hmac

import signing
from responses import HttpError, huawei_error

SIGNATURE_ERROR_CODE = "APIG.0301"
TOKEN_EXPIRED_CODE = "APIG.0307"
TOKEN_EXPIRED_MESSAGE = "The token must be updated."
TOKEN_SCOPE_CODE = "APIG.0302"


class Credential:
    """The credential a request was accepted with."""

    def __init__(self, kind, access_key=None, token=None):
        # One of "aksk", "token" or "api_key".
        self.kind = kind
        self.access_key = access_key
        self.token = token


class AuthPolicy:
    """Credential kinds that one route accepts."""

    def __init__(self, signature=True, token=True, api_key=None):
        self.signature = signature
        self.token = token
        # The API key accepted as ``Authorization: Bearer <key>``, or None.
        self.api_key = api_key


def _reject(request, message, detail, code=SIGNATURE_ERROR_CODE, status=401, signature_error=None):
    record = {
        "request_id": request.request_id,
        "method": request.method,
        "target": request.target,
        "error_code": code,
        "error_msg": message,
        "detail": detail,
    }
    if signature_error is not None and signature_error.canonical_request is not None:
        record["canonical_request"] = signature_error.canonical_request
        record["string_to_sign"] = signature_error.string_to_sign
    request.state.count_auth_failure(record)
    response = huawei_error(status, code, message, request.request_id)
    raise HttpError(response, log_detail="authentication failed: %s" % detail)


def _check_security_token(request, verified):
    value = request.headers.get("X-Security-Token")
    if value is None:
        return
    if "x-security-token" not in verified.signed_headers:
        _reject(
            request,
            signing.MESSAGE_PREFIX + "X-Security-Token is present but not listed in SignedHeaders",
            "unsigned security token",
        )
    expected = request.state.config.security_token
    if not hmac.compare_digest(value.strip().encode("utf-8"), expected.encode("utf-8")):
        _reject(
            request,
            signing.MESSAGE_PREFIX + "invalid X-Security-Token for this access key",
            "security token mismatch",
        )


def _authenticate_signature(request, authorization):
    try:
        verified = signing.verify_request(
            request.method,
            request.target,
            request.headers,
            request.body,
            request.state.config.secret_keys(),
            now=request.state.now(),
        )
    except signing.SignatureError as error:
        _reject(request, str(error), error.detail or str(error), signature_error=error)
    _check_security_token(request, verified)
    return Credential("aksk", access_key=verified.access_key)


def _authenticate_api_key(request, policy, authorization):
    if policy.api_key is None:
        _reject(
            request,
            "Incorrect authentication information: this API does not accept API keys; "
            "sign the request with AK/SK or send X-Auth-Token",
            "API key sent to a route without API key authentication",
        )
    presented = authorization.strip()[len("bearer"):].strip()
    if not hmac.compare_digest(presented.encode("utf-8"), policy.api_key.encode("utf-8")):
        _reject(request, "Incorrect authentication information: invalid API key", "wrong API key")
    return Credential("api_key")


def _authenticate_token(request, token_value):
    token = request.state.find_token(token_value.strip())
    if token is None:
        _reject(request, TOKEN_EXPIRED_MESSAGE, "unknown IAM token", code=TOKEN_EXPIRED_CODE)
    if token.expires_at <= request.state.now():
        _reject(request, TOKEN_EXPIRED_MESSAGE, "expired IAM token", code=TOKEN_EXPIRED_CODE)
    return Credential("token", token=token)


def authenticate(request, policy):
    """Check the credentials of a request against a route's policy and return a Credential.

    An AK/SK signature in Authorization is checked first, then a Bearer API
    key, then X-Auth-Token. X-Security-Token is valid only on a signed
    request whose SignedHeaders include it.
    """
    authorization = request.headers.get("Authorization")
    if authorization is not None and signing.is_signature_authorization(authorization):
        if not policy.signature:
            _reject(
                request,
                "Incorrect authentication information: this API does not accept AK/SK signatures",
                "AK/SK signature sent to a route without signature authentication",
            )
        return _authenticate_signature(request, authorization)

    if request.headers.get("X-Security-Token") is not None:
        _reject(
            request,
            signing.MESSAGE_PREFIX + "X-Security-Token is only accepted on AK/SK-signed requests",
            "security token without a signature",
        )

    if authorization is not None:
        if authorization.strip().lower().startswith("bearer"):
            return _authenticate_api_key(request, policy, authorization)
        scheme = authorization.strip().split(" ", 1)[0]
        _reject(
            request,
            "Incorrect authentication information: unsupported Authorization scheme '%s'" % scheme,
            "unsupported Authorization scheme",
        )

    token_value = request.headers.get("X-Auth-Token")
    if token_value is not None and policy.token:
        return _authenticate_token(request, token_value)

    _reject(
        request,
        "Incorrect authentication information: the request has no AK/SK signature, "
        "X-Auth-Token or API key",
        "no credentials",
    )


def check_token_project(request, credential, project_id):
    """Reject a token scoped to another project than the one in the path (HTTP 403)."""
    if credential.kind != "token" or credential.token.project is None:
        return
    token_project_id = credential.token.project["id"]
    if token_project_id != project_id:
        _reject(
            request,
            "The token is scoped to project %s, not to project %s in the request path"
            % (token_project_id, project_id),
            "token scoped to another project",
            code=TOKEN_SCOPE_CODE,
            status=403,
        )
