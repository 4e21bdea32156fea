#!/usr/bin/env python3
"""Tests of the emulator's AK/SK signature verifier against the official signing vectors.

tests/data/sign-vectors.jsonl contains requests signed by the official Huawei
Cloud Python signer together with its canonical request, string to sign and
signature. The verifier must rebuild all three from what a server sees, and
reject the request after any one-byte change.
"""

import base64
import json
import os
import sys
import unittest
import urllib.parse

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO_ROOT, "tools", "emulator"))

import signing  # noqa: E402

VECTORS_PATH = os.path.join(REPO_ROOT, "tests", "data", "sign-vectors.jsonl")


def load_vectors():
    with open(VECTORS_PATH, encoding="utf-8") as vectors_file:
        return [json.loads(line) for line in vectors_file if line.strip()]


VECTORS = load_vectors()
SM3_AVAILABLE = signing.sm3_available()


def algorithm_of(vector):
    return vector.get("algorithm") or signing.ALGORITHM_SHA256


def target_of(vector):
    """Return the request target that the server receives for a vector's URL: path plus raw query."""
    parts = urllib.parse.urlsplit(vector["url"])
    return parts.path + ("?" + parts.query if parts.query else "")


def body_of(vector):
    if "body_b64" in vector:
        return base64.b64decode(vector["body_b64"])
    return (vector.get("body") or "").encode("utf-8")


def headers_of(vector, replacements=None):
    pairs = []
    for name, value in vector["headers_after_signing"].items():
        if replacements and name in replacements:
            value = replacements[name]
        pairs.append((name, value))
    return signing.HeaderList(pairs)


def signed_at(vector):
    return signing.parse_sdk_date(vector["sdk_date"])


def flip_byte(text, index=-1):
    """Return text with the character at index changed to a different printable one."""
    characters = list(text)
    original = characters[index]
    characters[index] = "a" if original != "a" else "b"
    return "".join(characters)


def verify(vector, method=None, target=None, headers=None, body=None, secret_key=None, now=None):
    return signing.verify_request(
        method or vector["method"],
        target if target is not None else target_of(vector),
        headers if headers is not None else headers_of(vector),
        body if body is not None else body_of(vector),
        {vector["ak"]: secret_key or vector["sk"]},
        now=now if now is not None else signed_at(vector),
    )


def selected_vectors(algorithms):
    return [v for v in VECTORS if v.get("error") is None and algorithm_of(v) in algorithms]


class VectorTestMixin:
    algorithms = ()

    def vectors(self):
        chosen = selected_vectors(self.algorithms)
        self.assertTrue(chosen, "no vectors for %s in %s" % (self.algorithms, VECTORS_PATH))
        return chosen

    def test_canonical_request_matches(self):
        for vector in self.vectors():
            with self.subTest(vector=vector["name"]):
                authorization = signing.parse_authorization(vector["headers_after_signing"]["Authorization"])
                canonical = signing.build_canonical_request(
                    algorithm_of(vector),
                    vector["method"],
                    target_of(vector),
                    headers_of(vector),
                    authorization.signed_headers,
                    body_of(vector),
                )
                self.assertEqual(canonical.decode("utf-8"), vector["canonical_request"])

    def test_wire_target_gives_same_canonical_request(self):
        # The SDK sends request_uri (canonical query order), not the URL as typed.
        for vector in self.vectors():
            with self.subTest(vector=vector["name"]):
                authorization = signing.parse_authorization(vector["headers_after_signing"]["Authorization"])
                canonical = signing.build_canonical_request(
                    algorithm_of(vector),
                    vector["method"],
                    vector["request_uri"],
                    headers_of(vector),
                    authorization.signed_headers,
                    body_of(vector),
                )
                self.assertEqual(canonical.decode("utf-8"), vector["canonical_request"])

    def test_string_to_sign_and_signature_match(self):
        for vector in self.vectors():
            with self.subTest(vector=vector["name"]):
                authorization = signing.parse_authorization(vector["headers_after_signing"]["Authorization"])
                string_to_sign = signing.build_string_to_sign(
                    algorithm_of(vector),
                    vector["sdk_date"],
                    vector["canonical_request"].encode("utf-8"),
                    authorization.credential_scope,
                )
                self.assertEqual(string_to_sign, vector["string_to_sign"])
                signature = signing.compute_signature(
                    algorithm_of(vector),
                    vector["sk"],
                    string_to_sign,
                    access_key=vector["ak"],
                    credential_scope=authorization.credential_scope,
                )
                self.assertEqual(signature, vector["signature"])

    def test_unchanged_request_verifies(self):
        for vector in self.vectors():
            with self.subTest(vector=vector["name"]):
                verified = verify(vector)
                self.assertEqual(verified.access_key, vector["ak"])
                self.assertEqual(verified.algorithm, algorithm_of(vector))

    def test_changed_signature_fails(self):
        for vector in self.vectors():
            authorization = vector["headers_after_signing"]["Authorization"]
            for index in (-1, len(authorization) - 64):
                with self.subTest(vector=vector["name"], index=index):
                    headers = headers_of(vector, {"Authorization": flip_byte(authorization, index)})
                    with self.assertRaises(signing.SignatureError) as caught:
                        verify(vector, headers=headers)
                    self.assertIn("signature", str(caught.exception))

    def test_changed_body_fails_unless_unsigned_payload(self):
        for vector in self.vectors():
            body = body_of(vector)
            if body:
                middle = len(body) // 2
                changed = body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1:]
            else:
                changed = b"x"
            unsigned = (
                headers_of(vector).get("X-Sdk-Content-Sha256") == "UNSIGNED-PAYLOAD" and body
            )
            with self.subTest(vector=vector["name"], unsigned_payload=bool(unsigned)):
                if unsigned:
                    # UNSIGNED-PAYLOAD replaces the body hash, so the body is not covered.
                    verify(vector, body=changed)
                else:
                    with self.assertRaises(signing.SignatureError):
                        verify(vector, body=changed)

    def test_changed_signed_header_fails(self):
        for vector in self.vectors():
            signed = vector["signed_headers"].split(";")
            for name, value in vector["headers_after_signing"].items():
                if name.lower() not in signed:
                    continue
                if name.lower() == "x-sdk-date":
                    # One second later keeps the date valid, so only the signature can catch it.
                    changed = value[:-2] + str((int(value[-2]) + 1) % 10) + "Z"
                else:
                    changed = flip_byte(value) if value else "x"
                with self.subTest(vector=vector["name"], header=name):
                    with self.assertRaises(signing.SignatureError) as caught:
                        verify(vector, headers=headers_of(vector, {name: changed}))
                    self.assertEqual(str(caught.exception), signing.SIGNATURE_MISMATCH_MESSAGE)

    def test_changed_target_fails(self):
        for vector in self.vectors():
            target = target_of(vector)
            path, _, query = target.partition("?")
            changed_path = path + "x" + ("?" + query if query else "")
            with self.subTest(vector=vector["name"], part="path"):
                with self.assertRaises(signing.SignatureError):
                    verify(vector, target=changed_path)
            with self.subTest(vector=vector["name"], part="query"):
                with self.assertRaises(signing.SignatureError):
                    verify(vector, target=target + ("&" if query else "?") + "extra=1")

    def test_changed_method_fails(self):
        for vector in self.vectors():
            other = "POST" if vector["method"] != "POST" else "PUT"
            with self.subTest(vector=vector["name"]):
                with self.assertRaises(signing.SignatureError):
                    verify(vector, method=other)

    def test_wrong_secret_key_fails(self):
        for vector in self.vectors():
            with self.subTest(vector=vector["name"]):
                with self.assertRaises(signing.SignatureError) as caught:
                    verify(vector, secret_key=flip_byte(vector["sk"]))
                self.assertEqual(str(caught.exception), signing.SIGNATURE_MISMATCH_MESSAGE)

    def test_header_value_whitespace_ignored(self):
        for vector in self.vectors():
            with self.subTest(vector=vector["name"]):
                padded = headers_of(vector, {"Host": "  " + vector["headers_after_signing"]["Host"] + "\t"})
                verify(vector, headers=padded)


class Sha256VectorTest(VectorTestMixin, unittest.TestCase):
    algorithms = (signing.ALGORITHM_SHA256,)

    def test_every_vector_is_covered(self):
        covered = {v["name"] for v in selected_vectors(signing.SUPPORTED_ALGORITHMS)}
        errors = {v["name"] for v in VECTORS if v.get("error") is not None}
        self.assertEqual(covered | errors, {v["name"] for v in VECTORS})


class V11VectorTest(VectorTestMixin, unittest.TestCase):
    algorithms = (signing.ALGORITHM_V11,)

    def test_derived_signing_key_matches(self):
        for vector in self.vectors():
            with self.subTest(vector=vector["name"]):
                authorization = signing.parse_authorization(vector["headers_after_signing"]["Authorization"])
                key = signing.derive_v11_signing_key(vector["ak"], vector["sk"], authorization.credential_scope)
                self.assertEqual(key, vector["derived_signing_key"])

    def test_credential_date_must_match_sdk_date(self):
        vector = self.vectors()[0]
        authorization = vector["headers_after_signing"]["Authorization"]
        scope_date = vector["sdk_date"][:8]
        changed = authorization.replace("/" + scope_date + "/", "/20000101/")
        with self.assertRaises(signing.SignatureError) as caught:
            verify(vector, headers=headers_of(vector, {"Authorization": changed}))
        self.assertIn("credential date", str(caught.exception))


@unittest.skipUnless(SM3_AVAILABLE, "hashlib on this Python has no SM3, so SDK-HMAC-SM3 vectors are skipped")
class Sm3VectorTest(VectorTestMixin, unittest.TestCase):
    algorithms = (signing.ALGORITHM_SM3,)


class CanonicalFormTest(unittest.TestCase):
    """Canonicalisation rules that no vector happens to exercise."""

    def test_sub_delims_in_segment_escaped(self):
        self.assertEqual(
            signing.canonical_uri("/v1/a:b@c!$'()*+,;="),
            "/v1/a%3Ab%40c%21%24%27%28%29%2A%2B%2C%3B%3D/",
        )

    def test_encoded_slash_becomes_separator(self):
        self.assertEqual(signing.canonical_uri("/v1/a%2Fb"), "/v1/a/b/")

    def test_query_sorted_by_decoded_key(self):
        # Sorting the encoded text would put "a%3D" before "a-" and "%E4..." before "z".
        self.assertEqual(signing.canonical_query("a%3D=1&a-=2"), "a-=2&a%3D=1")
        self.assertEqual(signing.canonical_query("%E4%B8%AD=1&z=2"), "z=2&%E4%B8%AD=1")

    def test_query_plus_is_literal(self):
        self.assertEqual(signing.canonical_query("q=a+b"), "q=a%2Bb")

    def test_query_values_of_repeated_key_sorted(self):
        self.assertEqual(signing.canonical_query("k=b&k=a&k="), "k=&k=a&k=b")

    def test_empty_query_pieces_skipped(self):
        self.assertEqual(signing.canonical_query("a=1&&b=2&"), "a=1&b=2")

    def test_absolute_form_target(self):
        self.assertEqual(signing.split_target("http://host:80/v1/x?a=1"), ("/v1/x", "a=1"))

    def test_utf8_header_value(self):
        # http.server hands header values over as ISO-8859-1 text of the UTF-8 bytes.
        wire_value = "中文".encode("utf-8").decode("iso-8859-1")
        block = signing.canonical_headers(signing.HeaderList([("X-Name", wire_value)]), ["x-name"])
        self.assertEqual(block, "x-name:中文\n".encode("utf-8"))


class VerifierRejectionTest(unittest.TestCase):
    """Rejections that do not depend on the signature value."""

    def setUp(self):
        self.vector = next(v for v in VECTORS if v["name"] == "x_project_id")

    def assert_rejected(self, message_part, **changes):
        with self.assertRaises(signing.SignatureError) as caught:
            verify(self.vector, **changes)
        self.assertIn(message_part, str(caught.exception))

    def with_authorization(self, authorization):
        return headers_of(self.vector, {"Authorization": authorization})

    def test_signed_headers_without_host(self):
        authorization = self.vector["authorization"].replace("host;", "")
        self.assert_rejected("'host'", headers=self.with_authorization(authorization))

    def test_signed_headers_without_sdk_date(self):
        authorization = self.vector["authorization"].replace(";x-sdk-date", "")
        self.assert_rejected("'x-sdk-date'", headers=self.with_authorization(authorization))

    def test_date_more_than_15_minutes_old(self):
        self.assert_rejected("request expired", now=signed_at(self.vector) + 15 * 60 + 1)

    def test_date_more_than_15_minutes_ahead(self):
        self.assert_rejected("request expired", now=signed_at(self.vector) - 15 * 60 - 1)

    def test_date_exactly_15_minutes_old(self):
        verify(self.vector, now=signed_at(self.vector) + 15 * 60)

    def test_malformed_date(self):
        for value in ("2024-03-15T08:15:30Z", "20240315T081530", "20241315T081530Z", ""):
            with self.subTest(value=value):
                self.assert_rejected("X-Sdk-Date", headers=headers_of(self.vector, {"X-Sdk-Date": value}))

    def test_unknown_access_key(self):
        authorization = self.vector["authorization"].replace(self.vector["ak"], "UNKNOWNAK")
        with self.assertRaises(signing.SignatureError) as caught:
            verify(self.vector, headers=self.with_authorization(authorization))
        self.assertEqual(str(caught.exception), signing.SIGNATURE_MISMATCH_MESSAGE)
        self.assertIn("unknown access key", caught.exception.detail)

    def test_duplicate_signed_header(self):
        pairs = list(self.vector["headers_after_signing"].items()) + [("x-project-id", "other")]
        self.assert_rejected("appears 2 times", headers=signing.HeaderList(pairs))

    def test_signed_header_missing_from_request(self):
        pairs = [(k, v) for k, v in self.vector["headers_after_signing"].items() if k != "X-Project-Id"]
        self.assert_rejected("missing from the request", headers=signing.HeaderList(pairs))

    def test_unsupported_algorithm(self):
        authorization = self.vector["authorization"].replace("SDK-HMAC-SHA256", "SDK-ECDSA-P256-SHA256")
        self.assert_rejected("unsupported signing algorithm", headers=self.with_authorization(authorization))

    def test_missing_signature_field(self):
        authorization = self.vector["authorization"].split(", Signature=")[0]
        self.assert_rejected("Signature", headers=self.with_authorization(authorization))

    def test_mismatch_exposes_canonical_request(self):
        with self.assertRaises(signing.SignatureError) as caught:
            verify(self.vector, secret_key="wrong")
        self.assertEqual(caught.exception.canonical_request, self.vector["canonical_request"])
        self.assertEqual(caught.exception.string_to_sign, self.vector["string_to_sign"])

    def test_sm3_unsupported_message(self):
        vector = next(v for v in VECTORS if algorithm_of(v) == signing.ALGORITHM_SM3)
        original = signing.sm3_available
        signing.sm3_available = lambda: False
        try:
            with self.assertRaises(signing.SignatureError) as caught:
                verify(vector)
        finally:
            signing.sm3_available = original
        self.assertIn("SM3 is unsupported", str(caught.exception))


if __name__ == "__main__":
    if not SM3_AVAILABLE:
        print("note: hashlib has no SM3 on this Python, SDK-HMAC-SM3 vectors will be skipped", file=sys.stderr)
    unittest.main()
