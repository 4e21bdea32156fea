"""Helpers for the emulator tests: run the emulator as a subprocess and sign requests.

The signer here is written for the tests only, from the published signing
rules, so that the server's verifier is checked against a second
implementation as well as against the official vectors.
"""

import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMULATOR = os.path.join(REPO_ROOT, "tools", "emulator", "hwai_emulator.py")

AK = "HWAIEMULATORAK000001"
SK = "hwai-emulator-sk-0123456789abcdef"
PROJECT_ID = "0123456789abcdef0123456789abcdef"
API_KEY = "hwai-emulator-api-key"
SECURITY_TOKEN = "hwai-emulator-security-token"
IAM_USER = "hwai-user"
IAM_PASSWORD = "hwai-password"
IAM_DOMAIN = "hwai-domain"

LISTENING_LINE = re.compile(r"^listening on http://127\.0\.0\.1:(\d+)$")


class EmulatorProcess:
    """An emulator subprocess on a free loopback port; stderr goes to a temporary file."""

    def __init__(self, *extra_args):
        self.log_file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, EMULATOR, "--port", "0", *extra_args],
            stdout=subprocess.PIPE,
            stderr=self.log_file,
            text=True,
        )
        self.first_line = self.process.stdout.readline().rstrip("\n")
        match = LISTENING_LINE.match(self.first_line)
        if not match:
            self.process.kill()
            raise RuntimeError("emulator did not start; first stdout line %r, log:\n%s" % (self.first_line, self.log()))
        self.port = int(match.group(1))
        self.host_header = "127.0.0.1:%d" % self.port

        self.final_log = None

    def log(self):
        if self.final_log is not None:
            return self.final_log
        self.log_file.seek(0)
        return self.log_file.read()

    def stop(self, timeout=10):
        """Send SIGTERM and return the exit code; log() keeps working afterwards."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self.process.stdout.close()
            self.final_log = self.log()
            self.log_file.close()

    def connection(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, target, body=b"", headers=None, connection=None):
        """Send one request and return (status, headers message, body bytes)."""
        own = connection is None
        connection = connection or self.connection()
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body, ensure_ascii=False).encode("utf-8")
            elif isinstance(body, str):
                body = body.encode("utf-8")
            connection.request(method, target, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read()
            return response.status, response.headers, data
        finally:
            if own:
                connection.close()

    def control(self, method, endpoint, value=None):
        status, _, data = self.request(method, "/_emulator/" + endpoint, value if value is not None else b"")
        return status, json.loads(data)

    def signed(self, method, target, body=b"", headers=None, connection=None, **sign_options):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        all_headers = {"Host": self.host_header, "Content-Type": "application/json"}
        all_headers.update(headers or {})
        signed_headers = sign_request(method, target, all_headers, body, **sign_options)
        return self.request(method, target, body, signed_headers, connection)


def sdk_date(offset_s=0):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() + offset_s))


def _quote(text):
    return urllib.parse.quote(text, safe="")


def sign_request(method, target, headers, body, ak=AK, sk=SK, algorithm="SDK-HMAC-SHA256", date=None,
                 region="cn-southwest-2", service="pangu", unsigned=()):
    """Return headers plus X-Sdk-Date and Authorization for a request; names in unsigned are left out."""
    headers = dict(headers)
    headers["X-Sdk-Date"] = date or sdk_date()
    hash_name = "sm3" if algorithm == "SDK-HMAC-SM3" else "sha256"

    path, _, query = target.partition("?")
    uri = "/".join(_quote(urllib.parse.unquote(segment)) for segment in path.split("/"))
    uri += "" if uri.endswith("/") else "/"
    pairs = sorted(
        (urllib.parse.unquote(key), urllib.parse.unquote(value))
        for key, _, value in (piece.partition("=") for piece in query.split("&") if piece)
    )
    canonical_query = "&".join(_quote(key) + "=" + _quote(value) for key, value in pairs)
    names = sorted((name for name in headers if name.lower() not in unsigned), key=str.lower)
    canonical_headers = "".join("%s:%s\n" % (name.lower(), headers[name].strip()) for name in names)
    signed_list = ";".join(name.lower() for name in names)
    payload = hashlib.new(hash_name, body).hexdigest()
    canonical = "\n".join([method, uri, canonical_query, canonical_headers, signed_list, payload])
    digest = hashlib.new(hash_name, canonical.encode("utf-8")).hexdigest()

    if algorithm == "V11-HMAC-SHA256":
        scope = "%s/%s/%s" % (headers["X-Sdk-Date"][:8], region, service)
        prk = hmac.new(ak.encode(), sk.encode(), hashlib.sha256).digest()
        key = hmac.new(prk, scope.encode() + b"\x01", hashlib.sha256).hexdigest().encode()
        string_to_sign = "\n".join([algorithm, headers["X-Sdk-Date"], scope, digest])
        credential = "Credential=%s/%s" % (ak, scope)
    else:
        key = sk.encode()
        string_to_sign = "\n".join([algorithm, headers["X-Sdk-Date"], digest])
        credential = "Access=%s" % ak
    signature = hmac.new(key, string_to_sign.encode(), hash_name).hexdigest()
    headers["Authorization"] = "%s %s, SignedHeaders=%s, Signature=%s" % (
        algorithm, credential, signed_list, signature)
    return headers
