"""Server-side verification of Huawei Cloud AK/SK request signatures.

Implements the gateway view of the signing schemes used by the official
Huawei Cloud SDK signer (huaweicloud-sdk-core, signer/signer.py):

* SDK-HMAC-SHA256: HMAC-SHA256 keyed with the secret key.
* SDK-HMAC-SM3: the same steps with SM3 for both the hash and the HMAC.
  It needs an OpenSSL build that provides SM3 to hashlib.
* V11-HMAC-SHA256: HMAC-SHA256 keyed with a key derived from AK, SK and a
  credential scope ``YYYYMMDD/region/service``.

The canonical request is rebuilt from what arrived on the wire: the raw
request target, the headers named in SignedHeaders and the body bytes.
Everything is handled as bytes, because header values arrive as ISO-8859-1
text from http.server and the client signs their UTF-8 bytes.
"""

import calendar
import hashlib
import hmac
import re
import time
import urllib.parse

ALGORITHM_SHA256 = "SDK-HMAC-SHA256"
ALGORITHM_SM3 = "SDK-HMAC-SM3"
ALGORITHM_V11 = "V11-HMAC-SHA256"
SUPPORTED_ALGORITHMS = (ALGORITHM_SHA256, ALGORITHM_SM3, ALGORITHM_V11)

# Maximum distance between X-Sdk-Date and the server clock, in seconds.
MAX_CLOCK_SKEW_S = 15 * 60

SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_SDK_DATE_PATTERN = re.compile(r"^\d{8}T\d{6}Z$")

MESSAGE_PREFIX = "Incorrect IAM authentication information: "
SIGNATURE_MISMATCH_MESSAGE = MESSAGE_PREFIX + "verify aksk signature fail"


def sm3_available():
    """Return True when hashlib can compute SM3 on this Python build."""
    try:
        hashlib.new("sm3")
    except ValueError:
        return False
    return True


class SignatureError(Exception):
    """A request whose signature cannot be accepted; str() is the client-facing message.

    ``detail`` is a server-side explanation for the log (for example that the
    access key is unknown, which the client-facing message does not reveal).
    After a signature mismatch, ``canonical_request`` and ``string_to_sign``
    hold what the server computed, so a client author can diff them.
    """

    def __init__(self, message, detail=None, canonical_request=None, string_to_sign=None):
        super().__init__(message)
        self.detail = detail
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign


def _quote_unreserved(data):
    """Percent-encode bytes, keeping only the RFC 3986 unreserved set literal.

    urllib.parse.quote always keeps ``A-Z a-z 0-9 _ . - ~`` and writes
    uppercase hex, which is exactly the rule the Huawei signer applies.
    """
    return urllib.parse.quote(data, safe="")


def canonical_uri(raw_path):
    """Build the canonical URI from the path as it appeared on the wire.

    The path is percent-decoded completely (so ``%2F`` becomes a separator),
    split on ``/``, each segment re-encoded, and a trailing ``/`` appended.
    """
    decoded = urllib.parse.unquote_to_bytes(raw_path)
    segments = [_quote_unreserved(segment) for segment in decoded.split(b"/")]
    uri = "/".join(segments)
    if not uri.endswith("/"):
        uri += "/"
    return uri


def parse_query_pairs(raw_query):
    """Split a raw query string into decoded (key, value) byte pairs.

    Pieces are split on ``&`` and on the first ``=``. A piece without ``=``
    gets an empty value, empty pieces are skipped, and ``+`` stays a literal
    plus sign (it is not read as a space).
    """
    pairs = []
    for piece in raw_query.split("&"):
        if piece == "":
            continue
        key, _, value = piece.partition("=")
        pairs.append((urllib.parse.unquote_to_bytes(key), urllib.parse.unquote_to_bytes(value)))
    return pairs


def canonical_query(raw_query):
    """Build the canonical query string from the raw query of the request target.

    Pairs are sorted by their decoded bytes (the same order as sorting the
    decoded text by code point), then each half is re-encoded.
    """
    pairs = sorted(parse_query_pairs(raw_query))
    return "&".join(_quote_unreserved(key) + "=" + _quote_unreserved(value) for key, value in pairs)


def split_target(target):
    """Split a raw request target into (path, query); an absolute-form URL keeps only its path."""
    if target.startswith(("http://", "https://")):
        parts = urllib.parse.urlsplit(target)
        path = parts.path or "/"
        return path, parts.query
    path, _, query = target.partition("?")
    return path, query


class HeaderList:
    """Request headers as received: an ordered list of (name, value) pairs, looked up case-insensitively."""

    def __init__(self, pairs):
        self.pairs = [(str(name), str(value)) for name, value in pairs]

    def get_all(self, name):
        lowered_name = name.lower()
        return [value for key, value in self.pairs if key.lower() == lowered_name]

    def get(self, name, default=None):
        values = self.get_all(name)
        return values[0] if values else default


def _header_value_bytes(value):
    """Return the bytes the client sent for a header value.

    http.server decodes header lines as ISO-8859-1, so encoding back with
    the same codec restores the original bytes (UTF-8 in practice).
    """
    try:
        return value.encode("iso-8859-1")
    except UnicodeEncodeError:
        # Values built in tests may already hold non-Latin-1 text.
        return value.encode("utf-8")


def canonical_headers(headers, signed_header_names):
    """Build the canonical header block for the names in SignedHeaders.

    Raises SignatureError when a signed header is missing or appears more
    than once, because the signer and the gateway could not agree on a
    single value for it.
    """
    lines = []
    for name in signed_header_names:
        values = headers.get_all(name)
        if not values:
            raise SignatureError(
                MESSAGE_PREFIX + "header '%s' is listed in SignedHeaders but missing from the request" % name
            )
        if len(values) > 1:
            raise SignatureError(
                MESSAGE_PREFIX + "signed header '%s' appears %d times; send it once" % (name, len(values))
            )
        lines.append(name.lower().encode("ascii") + b":" + _header_value_bytes(values[0]).strip() + b"\n")
    return b"".join(lines)


class Algorithm:
    """Hash function and payload header of one signing scheme."""

    def __init__(self, name, hash_name, content_header):
        self.name = name
        self.hash_name = hash_name
        self.content_header = content_header

    def hexdigest(self, data):
        return hashlib.new(self.hash_name, data).hexdigest()

    def hmac_hexdigest(self, key, message):
        return hmac.new(key, message, self.hash_name).hexdigest()


_ALGORITHMS = {
    ALGORITHM_SHA256: Algorithm(ALGORITHM_SHA256, "sha256", "x-sdk-content-sha256"),
    ALGORITHM_V11: Algorithm(ALGORITHM_V11, "sha256", "x-sdk-content-sha256"),
    ALGORITHM_SM3: Algorithm(ALGORITHM_SM3, "sm3", "x-sdk-content-sm3"),
}


def payload_hash(algorithm, headers, body):
    """Return the payload hash line of the canonical request.

    An empty body always hashes to the digest of the empty string. For a
    non-empty body a non-empty content header (X-Sdk-Content-Sha256 or
    X-Sdk-Content-Sm3, normally ``UNSIGNED-PAYLOAD``) replaces the digest.
    """
    if not body:
        return algorithm.hexdigest(b"")
    declared = headers.get(algorithm.content_header)
    if declared is not None and declared.strip():
        return _header_value_bytes(declared).strip().decode("utf-8", "replace")
    return algorithm.hexdigest(body)


def build_canonical_request(algorithm_name, method, target, headers, signed_header_names, body):
    """Return the canonical request as bytes for a request seen by the server."""
    algorithm = _ALGORITHMS[algorithm_name]
    path, query = split_target(target)
    parts = [
        method.encode("ascii"),
        canonical_uri(path).encode("ascii"),
        canonical_query(query).encode("ascii"),
        canonical_headers(headers, signed_header_names),
        ";".join(signed_header_names).encode("ascii"),
        payload_hash(algorithm, headers, body).encode("utf-8"),
    ]
    return b"\n".join(parts)


def build_string_to_sign(algorithm_name, sdk_date, canonical_request, credential_scope=None):
    """Return the string to sign: 3 lines, or 4 with the V11 credential scope."""
    algorithm = _ALGORITHMS[algorithm_name]
    lines = [algorithm_name, sdk_date]
    if algorithm_name == ALGORITHM_V11:
        lines.append(credential_scope)
    lines.append(algorithm.hexdigest(canonical_request))
    return "\n".join(lines)


def derive_v11_signing_key(access_key, secret_key, credential_scope):
    """Derive the V11 signing key: a one-block HKDF-SHA256 with AK as salt and SK as input.

    PRK = HMAC-SHA256(key=AK, msg=SK), OKM = HMAC-SHA256(key=PRK, msg=scope || 0x01).
    The key used for signing is the lowercase hex text of OKM, not its raw bytes.
    """
    prk = hmac.new(access_key.encode("utf-8"), secret_key.encode("utf-8"), hashlib.sha256).digest()
    okm = hmac.new(prk, credential_scope.encode("utf-8") + b"\x01", hashlib.sha256).digest()
    return okm.hex()


def compute_signature(algorithm_name, secret_key, string_to_sign, access_key=None, credential_scope=None):
    """Return the lowercase hex signature of a string to sign."""
    algorithm = _ALGORITHMS[algorithm_name]
    if algorithm_name == ALGORITHM_V11:
        key = derive_v11_signing_key(access_key, secret_key, credential_scope).encode("ascii")
    else:
        key = secret_key.encode("utf-8")
    return algorithm.hmac_hexdigest(key, string_to_sign.encode("utf-8"))


class ParsedAuthorization:
    """Fields of an AK/SK Authorization header."""

    def __init__(self, algorithm, access_key, signed_headers, signature, credential_scope=None):
        self.algorithm = algorithm
        self.access_key = access_key
        self.signed_headers = signed_headers
        self.signature = signature
        self.credential_scope = credential_scope


def is_signature_authorization(value):
    """Return True when an Authorization value names one of the AK/SK signing schemes."""
    scheme = value.strip().split(" ", 1)[0]
    return scheme in SUPPORTED_ALGORITHMS or scheme.startswith(("SDK-", "V11-"))


def parse_authorization(value):
    """Parse ``ALG Access=AK, SignedHeaders=a;b, Signature=hex`` (V11 uses Credential=AK/scope).

    Raises SignatureError naming the missing or malformed part.
    """
    scheme, _, rest = value.strip().partition(" ")
    if scheme not in SUPPORTED_ALGORITHMS:
        raise SignatureError(MESSAGE_PREFIX + "unsupported signing algorithm '%s'" % scheme)
    fields = {}
    for item in rest.split(","):
        key, separator, field_value = item.strip().partition("=")
        if separator:
            fields[key.strip()] = field_value.strip()

    for required in ("SignedHeaders", "Signature"):
        if not fields.get(required):
            raise SignatureError(MESSAGE_PREFIX + "Authorization header has no %s field" % required)
    signed_headers = fields["SignedHeaders"].split(";")

    if scheme == ALGORITHM_V11:
        credential = fields.get("Credential", "")
        access_key, _, scope = credential.partition("/")
        if not access_key or scope.count("/") != 2:
            raise SignatureError(
                MESSAGE_PREFIX + "V11 Credential must be AK/YYYYMMDD/region/service, got '%s'" % credential
            )
        return ParsedAuthorization(scheme, access_key, signed_headers, fields["Signature"], scope)

    access_key = fields.get("Access", "")
    if not access_key:
        raise SignatureError(MESSAGE_PREFIX + "Authorization header has no Access field")
    return ParsedAuthorization(scheme, access_key, signed_headers, fields["Signature"])


def parse_sdk_date(value):
    """Return the epoch seconds of an X-Sdk-Date value, or raise SignatureError if malformed."""
    if not _SDK_DATE_PATTERN.match(value):
        raise SignatureError(
            MESSAGE_PREFIX + "invalid X-Sdk-Date '%s': expected UTC time as YYYYMMDDTHHMMSSZ" % value
        )
    try:
        parsed = time.strptime(value, SDK_DATE_FORMAT)
    except ValueError:
        raise SignatureError(MESSAGE_PREFIX + "invalid X-Sdk-Date '%s': not a real date" % value) from None
    return calendar.timegm(parsed)


class VerifiedRequest:
    """Outcome of a successful signature check."""

    def __init__(self, access_key, algorithm, signed_headers):
        self.access_key = access_key
        self.algorithm = algorithm
        self.signed_headers = signed_headers


def verify_request(method, target, headers, body, secret_keys, now=None):
    """Verify the AK/SK signature of a request and return a VerifiedRequest.

    ``secret_keys`` maps access keys to secret keys. ``headers`` is a
    HeaderList and must include Authorization. ``now`` is the server clock
    in epoch seconds. Raises SignatureError with the client-facing message.
    """
    authorization = parse_authorization(headers.get("Authorization", ""))

    signed = [name.lower() for name in authorization.signed_headers]
    for required in ("host", "x-sdk-date"):
        if required not in signed:
            raise SignatureError(MESSAGE_PREFIX + "SignedHeaders must include '%s'" % required)

    sdk_date = headers.get("X-Sdk-Date")
    if sdk_date is None:
        raise SignatureError(MESSAGE_PREFIX + "X-Sdk-Date header is missing")
    sdk_date = sdk_date.strip()
    signed_at = parse_sdk_date(sdk_date)
    if now is None:
        now = time.time()
    if abs(now - signed_at) > MAX_CLOCK_SKEW_S:
        raise SignatureError(
            MESSAGE_PREFIX
            + "request expired: X-Sdk-Date %s is more than 15 minutes from the server time %s"
            % (sdk_date, time.strftime(SDK_DATE_FORMAT, time.gmtime(now)))
        )

    if authorization.algorithm == ALGORITHM_SM3 and not sm3_available():
        raise SignatureError(
            MESSAGE_PREFIX + "SDK-HMAC-SM3 is unsupported: this Python's hashlib has no SM3"
        )
    if authorization.algorithm == ALGORITHM_V11:
        scope_date = authorization.credential_scope.split("/", 1)[0]
        if scope_date != sdk_date[:8]:
            raise SignatureError(
                MESSAGE_PREFIX
                + "V11 credential date %s does not match X-Sdk-Date %s" % (scope_date, sdk_date)
            )

    secret_key = secret_keys.get(authorization.access_key)
    if secret_key is None:
        raise SignatureError(
            SIGNATURE_MISMATCH_MESSAGE, detail="unknown access key %s" % authorization.access_key
        )

    canonical = build_canonical_request(
        authorization.algorithm, method, target, headers, authorization.signed_headers, body
    )
    string_to_sign = build_string_to_sign(
        authorization.algorithm, sdk_date, canonical, authorization.credential_scope
    )
    expected = compute_signature(
        authorization.algorithm,
        secret_key,
        string_to_sign,
        access_key=authorization.access_key,
        credential_scope=authorization.credential_scope,
    )
    if not hmac.compare_digest(expected, authorization.signature):
        raise SignatureError(
            SIGNATURE_MISMATCH_MESSAGE,
            detail="signature mismatch for access key %s" % authorization.access_key,
            canonical_request=canonical.decode("utf-8", "replace"),
            string_to_sign=string_to_sign,
        )
    return VerifiedRequest(authorization.access_key, authorization.algorithm, signed)
