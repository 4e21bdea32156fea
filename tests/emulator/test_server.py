#!/usr/bin/env python3
"""End-to-end tests of the emulator: a subprocess on a free loopback port, real HTTP requests."""

import base64
import json
import os
import re
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from emulator_process import (  # noqa: E402
    AK,
    API_KEY,
    EMULATOR,
    IAM_DOMAIN,
    IAM_PASSWORD,
    IAM_USER,
    PROJECT_ID,
    SECURITY_TOKEN,
    SK,
    EmulatorProcess,
    sdk_date,
    sign_request,
)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "tools", "emulator"))
import signing  # noqa: E402

PANGU_V1 = "/v1/%s/deployments/dep-1/chat/completions" % PROJECT_ID
PANGU_V2 = "/v2/%s/pools/pool-1/deployments/dep-1/chat/completions" % PROJECT_ID
SENTIMENT = "/v1/%s/nlu/sentiment" % PROJECT_ID
CHAT_ZH = {"messages": [{"role": "user", "content": "你好，请介绍一下你自己"}]}
CHAT_EN = {"messages": [{"role": "user", "content": "What is the capital of France?"}]}
BEARER = {"Authorization": "Bearer " + API_KEY, "Content-Type": "application/json"}
EXPIRES_AT_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def password_body(password=IAM_PASSWORD, scope=None):
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": IAM_USER, "password": password, "domain": {"name": IAM_DOMAIN}}},
            },
            "scope": scope or {"project": {"id": PROJECT_ID}},
        }
    }


def raw_exchange(port, request_bytes, timeout=5):
    """Send raw bytes and read until the server closes; return (bytes read, error or None)."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request_bytes)
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return received, None
                received += data
        except OSError as error:
            return received, error


def raw_post(port, path, body, extra_headers=""):
    body_bytes = json.dumps(body).encode("utf-8")
    return (
        "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
        "Authorization: Bearer %s\r\n%sContent-Length: %d\r\n\r\n"
        % (path, port, API_KEY, extra_headers, len(body_bytes))
    ).encode("ascii") + body_bytes


def parse_sse(data):
    """Return the data payloads of an SSE body, in order."""
    events = []
    for block in data.decode("utf-8").split("\n\n"):
        if block.startswith("data: "):
            events.append(block[len("data: "):])
    return events


class EmulatorTestCase(unittest.TestCase):
    emulator_args = ()

    @classmethod
    def setUpClass(cls):
        cls.emulator = EmulatorProcess(*cls.emulator_args)

    @classmethod
    def tearDownClass(cls):
        exit_code = cls.emulator.stop()
        log = cls.emulator.log()
        if exit_code != 0:
            raise AssertionError("emulator exited with %r; log:\n%s" % (exit_code, log))
        # "MIIhwai" starts every token the emulator issues.
        for secret in (SK, IAM_PASSWORD, SECURITY_TOKEN, API_KEY, "MIIhwai"):
            if secret in log:
                raise AssertionError("emulator log contains a secret: %r" % secret)

    def setUp(self):
        status, _ = self.emulator.control("POST", "reset")
        self.assertEqual(status, 200)

    def assert_error(self, status, headers, data, expected_status):
        self.assertEqual(status, expected_status, data)
        self.assertTrue(headers["X-Request-Id"])
        self.assertEqual(headers["Content-Type"], "application/json")
        return json.loads(data)

    def stats(self):
        return self.emulator.control("GET", "stats")[1]

    def script(self, route, *responses):
        status, value = self.emulator.control("POST", "script", {"route": route, "responses": list(responses)})
        self.assertEqual(status, 200, value)


class StartupTest(EmulatorTestCase):
    def test_first_line_names_port(self):
        self.assertEqual(self.emulator.first_line, "listening on http://127.0.0.1:%d" % self.emulator.port)

    def test_health_endpoint(self):
        self.assertEqual(self.emulator.control("GET", "health"), (200, {"status": "ok"}))

    def test_request_logged_to_stderr(self):
        self.emulator.request("GET", "/no/such/path")
        time.sleep(0.1)
        self.assertIn("GET /no/such/path 404", self.emulator.log())


class QuietTest(EmulatorTestCase):
    emulator_args = ("--quiet",)

    def test_successful_request_not_logged(self):
        self.emulator.signed("POST", PANGU_V1, CHAT_EN)
        self.emulator.request("GET", "/no/such/path")
        time.sleep(0.1)
        log = self.emulator.log()
        self.assertNotIn(PANGU_V1, log)
        self.assertNotIn("/no/such/path", log)


class ChatTest(EmulatorTestCase):
    def test_pangu_v1_signed(self):
        status, headers, data = self.emulator.signed("POST", PANGU_V1, CHAT_ZH)
        self.assertEqual(status, 200, data)
        answer = json.loads(data)
        self.assertEqual(answer["object"], "chat.completion")
        self.assertEqual(answer["choices"][0]["message"]["role"], "assistant")
        self.assertTrue(answer["choices"][0]["message"]["content"].startswith("你好！这是盘古大模型本地模拟器的回答："))
        self.assertIn("你好，请介绍一下你自己", answer["choices"][0]["message"]["content"])
        self.assertEqual(answer["choices"][0]["finish_reason"], "stop")
        usage = answer["usage"]
        self.assertEqual(usage["total_tokens"], usage["prompt_tokens"] + usage["completion_tokens"])
        self.assertTrue(headers["X-Request-Id"])

    def test_pangu_v2_signed(self):
        status, _, data = self.emulator.signed("POST", PANGU_V2, CHAT_EN)
        self.assertEqual(status, 200, data)
        content = json.loads(data)["choices"][0]["message"]["content"]
        self.assertTrue(content.startswith("Hello!"))
        self.assertIn("What is the capital of France?", content)

    def test_request_ids_unique(self):
        ids = {self.emulator.signed("POST", PANGU_V1, CHAT_EN)[1]["X-Request-Id"] for _ in range(3)}
        self.assertEqual(len(ids), 3)

    def test_answer_deterministic(self):
        first = json.loads(self.emulator.signed("POST", PANGU_V1, CHAT_ZH)[2])
        second = json.loads(self.emulator.signed("POST", PANGU_V1, CHAT_ZH)[2])
        self.assertEqual(first["choices"], second["choices"])

    def test_max_tokens_cuts_reply(self):
        body = dict(CHAT_EN, max_tokens=3)
        answer = json.loads(self.emulator.signed("POST", PANGU_V1, body)[2])
        self.assertEqual(answer["choices"][0]["finish_reason"], "length")
        self.assertEqual(answer["usage"]["completion_tokens"], 3)
        self.assertEqual(answer["choices"][0]["message"]["content"], "Hello!")

    def test_wrong_project_id_404(self):
        path = PANGU_V1.replace(PROJECT_ID, "ffffffffffffffffffffffffffffffff")
        error = self.assert_error(*self.emulator.signed("POST", path, CHAT_EN), 404)
        self.assertIn("ffffffffffffffffffffffffffffffff", error["error_msg"])

    def test_placeholder_project_id_400(self):
        for segment in ("{project_id}", "%7Bproject_id%7D", ""):
            with self.subTest(segment=segment):
                path = PANGU_V1.replace(PROJECT_ID, segment)
                error = self.assert_error(*self.emulator.signed("POST", path, CHAT_EN), 400)
                self.assertIn("project id", error["error_msg"])

    def test_invalid_messages_400(self):
        error = self.assert_error(*self.emulator.signed("POST", PANGU_V1, {"messages": []}), 400)
        self.assertIn("messages", error["error"]["message"])

    def test_openai_bearer(self):
        for path in ("/v1/chat/completions", "/maas/v1/chat/completions"):
            with self.subTest(path=path):
                status, _, data = self.emulator.request("POST", path, dict(CHAT_EN, model="m1"), BEARER)
                self.assertEqual(status, 200, data)
                self.assertEqual(json.loads(data)["model"], "m1")

    def test_openai_signed(self):
        status, _, data = self.emulator.signed("POST", "/v1/chat/completions", dict(CHAT_EN, model="m1"))
        self.assertEqual(status, 200, data)

    def test_openai_wrong_key_401(self):
        headers = {"Authorization": "Bearer wrong-key", "Content-Type": "application/json"}
        response = self.emulator.request("POST", "/v1/chat/completions", dict(CHAT_EN, model="m1"), headers)
        self.assertIn("API key", self.assert_error(*response, 401)["error_msg"])

    def test_openai_requires_model(self):
        response = self.emulator.request("POST", "/v1/chat/completions", CHAT_EN, BEARER)
        self.assertIn("model", self.assert_error(*response, 400)["error"]["message"])

    def test_pangu_rejects_api_key_by_default(self):
        self.assert_error(*self.emulator.request("POST", PANGU_V1, CHAT_EN, BEARER), 401)

    def test_unknown_path_404(self):
        self.assert_error(*self.emulator.request("GET", "/v9/nothing"), 404)

    def test_wrong_method_405(self):
        self.assert_error(*self.emulator.signed("GET", PANGU_V1), 405)


class PanguApiKeyTest(EmulatorTestCase):
    emulator_args = ("--pangu-api-key", "pangu-key", "--api-key", "openai-key")

    def test_pangu_accepts_its_key(self):
        headers = {"Authorization": "Bearer pangu-key"}
        status, _, data = self.emulator.request("POST", PANGU_V1, CHAT_EN, headers)
        self.assertEqual(status, 200, data)

    def test_openai_key_rejected_on_pangu(self):
        headers = {"Authorization": "Bearer openai-key"}
        self.assert_error(*self.emulator.request("POST", PANGU_V1, CHAT_EN, headers), 401)


class SignatureTest(EmulatorTestCase):
    def test_wrong_secret_key_401(self):
        response = self.emulator.signed("POST", PANGU_V1, CHAT_EN, sk="wrong-secret")
        error = self.assert_error(*response, 401)
        self.assertEqual(error["error_code"], "APIG.0301")
        self.assertEqual(error["error_msg"], "Incorrect IAM authentication information: verify aksk signature fail")
        self.assertEqual(self.stats()["auth_failures"], 1)

    def test_unknown_access_key_401(self):
        error = self.assert_error(*self.emulator.signed("POST", PANGU_V1, CHAT_EN, ak="OTHERAK"), 401)
        self.assertIn("signature", error["error_msg"])

    def test_last_auth_failure_has_canonical_request(self):
        self.emulator.signed("POST", PANGU_V1, CHAT_EN, sk="wrong-secret")
        failure = self.emulator.control("GET", "last_auth_failure")[1]["last_auth_failure"]
        self.assertTrue(failure["canonical_request"].startswith("POST\n%s/\n" % PANGU_V1))

    def test_stale_date_401(self):
        response = self.emulator.signed("POST", PANGU_V1, CHAT_EN, date=sdk_date(-16 * 60))
        self.assertIn("request expired", self.assert_error(*response, 401)["error_msg"])

    def test_future_date_401(self):
        response = self.emulator.signed("POST", PANGU_V1, CHAT_EN, date=sdk_date(16 * 60))
        self.assertIn("request expired", self.assert_error(*response, 401)["error_msg"])

    def test_malformed_date_401(self):
        response = self.emulator.signed("POST", PANGU_V1, CHAT_EN, date="2024-03-15T08:15:30Z")
        self.assertIn("X-Sdk-Date", self.assert_error(*response, 401)["error_msg"])

    def test_host_not_signed_401(self):
        response = self.emulator.signed("POST", PANGU_V1, CHAT_EN, unsigned=("host",))
        self.assertIn("'host'", self.assert_error(*response, 401)["error_msg"])

    def test_changed_body_401(self):
        headers = sign_request("POST", PANGU_V1, {"Host": self.emulator.host_header}, b'{"a":1}')
        response = self.emulator.request("POST", PANGU_V1, b'{"a":2}', headers)
        self.assert_error(*response, 401)

    def test_query_and_encoded_path_verified(self):
        target = "/v3/projects?name=cn-north-4&b=%E4%B8%AD+x&a="
        status, _, data = self.emulator.signed("GET", target)
        self.assertEqual(status, 200, data)

    def test_v11_signature(self):
        status, _, data = self.emulator.signed("POST", PANGU_V1, CHAT_EN, algorithm="V11-HMAC-SHA256")
        self.assertEqual(status, 200, data)

    def test_v11_wrong_secret_401(self):
        response = self.emulator.signed("POST", PANGU_V1, CHAT_EN, algorithm="V11-HMAC-SHA256", sk="x")
        self.assert_error(*response, 401)

    @unittest.skipUnless(signing.sm3_available(), "hashlib on this Python has no SM3")
    def test_sm3_signature(self):
        status, _, data = self.emulator.signed("POST", PANGU_V1, CHAT_EN, algorithm="SDK-HMAC-SM3")
        self.assertEqual(status, 200, data)

    def test_security_token_signed_and_correct(self):
        headers = {"X-Security-Token": SECURITY_TOKEN}
        status, _, data = self.emulator.signed("POST", PANGU_V1, CHAT_EN, headers=headers)
        self.assertEqual(status, 200, data)

    def test_security_token_wrong_401(self):
        response = self.emulator.signed("POST", PANGU_V1, CHAT_EN, headers={"X-Security-Token": "other"})
        self.assertIn("X-Security-Token", self.assert_error(*response, 401)["error_msg"])

    def test_security_token_unsigned_401(self):
        response = self.emulator.signed(
            "POST", PANGU_V1, CHAT_EN, headers={"X-Security-Token": SECURITY_TOKEN}, unsigned=("x-security-token",)
        )
        self.assertIn("SignedHeaders", self.assert_error(*response, 401)["error_msg"])

    def test_no_credentials_401(self):
        self.assert_error(*self.emulator.request("POST", PANGU_V1, CHAT_EN), 401)

    def test_chunked_request_body_verified(self):
        body = json.dumps(CHAT_EN).encode("utf-8")
        headers = sign_request("POST", PANGU_V1, {"Host": self.emulator.host_header}, body)
        head = "".join("%s: %s\r\n" % item for item in headers.items())
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        request = ("POST %s HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                   % (PANGU_V1, head)).encode("utf-8") + chunked
        received, _ = raw_exchange(self.emulator.port, request)
        self.assertTrue(received.startswith(b"HTTP/1.1 200 "), received[:200])
        self.assertEqual(self.stats()["chunked_requests"], 1)


class SentimentTest(EmulatorTestCase):
    def sentiment(self, content, lang="zh"):
        status, _, data = self.emulator.signed("POST", SENTIMENT, {"content": content, "lang": lang})
        self.assertEqual(status, 200, data)
        return json.loads(data)["result"]

    def test_positive_chinese(self):
        result = self.sentiment("这个产品很好，我很喜欢")
        self.assertEqual(result["label"], 1)
        self.assertEqual(result["content"], "这个产品很好，我很喜欢")

    def test_negative_chinese(self):
        self.assertEqual(self.sentiment("服务太差了，非常失望")["label"], 0)

    def test_english_labels(self):
        self.assertEqual(self.sentiment("I love this, it is great", "en")["label"], 1)
        self.assertEqual(self.sentiment("terrible, I hate it", "en")["label"], 0)

    def test_confidence_deterministic_four_decimals(self):
        first = self.sentiment("今天天气真好")["confidence"]
        self.assertEqual(first, self.sentiment("今天天气真好")["confidence"])
        self.assertTrue(0 < first < 1)
        self.assertEqual(first, round(first, 4))

    def test_missing_content_400(self):
        error = self.assert_error(*self.emulator.signed("POST", SENTIMENT, {"lang": "zh"}), 400)
        self.assertEqual(error["error_code"], "NLP.0301")
        self.assertIn("content", error["error_msg"])

    def test_invalid_lang_400(self):
        self.assert_error(*self.emulator.signed("POST", SENTIMENT, {"content": "x", "lang": "fr"}), 400)

    def test_counted_by_route(self):
        self.sentiment("好")
        self.assertEqual(self.stats()["by_route"]["sentiment"], 1)


class StreamTest(EmulatorTestCase):
    def stream(self, body, path=PANGU_V1):
        status, headers, data = self.emulator.signed("POST", path, dict(body, stream=True))
        self.assertEqual(status, 200, data)
        self.assertTrue(headers["Content-Type"].startswith("text/event-stream"))
        return parse_sse(data)

    def test_stream_matches_plain_answer(self):
        events = self.stream(CHAT_ZH)
        self.assertEqual(events[-1], "[DONE]")
        chunks = [json.loads(event) for event in events[:-1]]
        self.assertEqual(chunks[0]["choices"][0]["delta"], {"role": "assistant"})
        self.assertEqual(chunks[-1]["choices"][0]["finish_reason"], "stop")
        pieces = [chunk["choices"][0]["delta"].get("content", "") for chunk in chunks]
        self.assertTrue(all(len(piece) <= 8 for piece in pieces))
        self.assertGreater(len([piece for piece in pieces if piece]), 5)
        plain = json.loads(self.emulator.signed("POST", PANGU_V1, CHAT_ZH)[2])
        self.assertEqual("".join(pieces), plain["choices"][0]["message"]["content"])
        for chunk in chunks:
            self.assertEqual(chunk["object"], "chat.completion.chunk")

    def test_usage_chunk_when_requested(self):
        events = self.stream(dict(CHAT_EN, model="m", stream_options={"include_usage": True}),
                             path="/v1/chat/completions")
        usage_chunk = json.loads(events[-2])
        self.assertEqual(usage_chunk["choices"], [])
        self.assertGreater(usage_chunk["usage"]["total_tokens"], 0)

    def test_no_usage_chunk_by_default(self):
        events = self.stream(CHAT_EN)
        self.assertNotIn("usage", json.loads(events[-2]))

    def test_stream_max_tokens_length(self):
        events = self.stream(dict(CHAT_EN, max_tokens=2))
        self.assertEqual(json.loads(events[-2])["choices"][0]["finish_reason"], "length")


class StatsTest(EmulatorTestCase):
    def test_keep_alive_counts_one_connection(self):
        connection = self.emulator.connection()
        try:
            for _ in range(10):
                status, _, _ = self.emulator.signed("POST", PANGU_V1, CHAT_EN, connection=connection)
                self.assertEqual(status, 200)
        finally:
            connection.close()
        stats = self.stats()
        self.assertEqual(stats["connections"], 1)
        self.assertEqual(stats["requests"], 10)
        self.assertEqual(stats["by_route"]["chat"], 10)

    def test_connection_open_across_reset_counted_again(self):
        connection = self.emulator.connection()
        try:
            self.emulator.signed("POST", PANGU_V1, CHAT_EN, connection=connection)
            self.emulator.control("POST", "reset")
            for _ in range(3):
                self.emulator.signed("POST", PANGU_V1, CHAT_EN, connection=connection)
        finally:
            connection.close()
        self.assertEqual(self.stats()["connections"], 1)

    def test_control_connections_not_counted(self):
        self.stats()
        stats = self.stats()
        self.assertEqual(stats["connections"], 0)
        self.assertGreaterEqual(stats["tcp_accepted"], 2)

    def test_separate_connections_counted(self):
        for _ in range(3):
            self.emulator.signed("POST", PANGU_V1, CHAT_EN)
        self.assertEqual(self.stats()["connections"], 3)

    def test_reset_zeroes_counters(self):
        self.emulator.signed("POST", PANGU_V1, CHAT_EN, sk="bad")
        self.emulator.control("POST", "reset")
        stats = self.stats()
        self.assertEqual((stats["requests"], stats["auth_failures"], stats["connections"]), (0, 0, 0))

    def test_shape(self):
        stats = self.stats()
        for key in ("connections", "requests", "by_route", "auth_failures"):
            self.assertIn(key, stats)
        for route in ("chat", "sentiment", "iam_token", "iam_projects"):
            self.assertEqual(stats["by_route"][route], 0)


class ScriptTest(EmulatorTestCase):
    def test_status_answer_verbatim(self):
        self.script("chat", {"status": 429, "headers": {"Retry-After": "1"}, "body": "slow down"})
        status, headers, data = self.emulator.signed("POST", PANGU_V1, CHAT_EN)
        self.assertEqual((status, headers["Retry-After"], data), (429, "1", b"slow down"))
        self.assertTrue(headers["X-Request-Id"])
        status, _, _ = self.emulator.signed("POST", PANGU_V1, CHAT_EN)
        self.assertEqual(status, 200)
        self.assertEqual(self.stats()["by_route"]["chat"], 2)

    def test_scripts_consumed_in_order(self):
        self.script("sentiment", {"status": 503, "body": "{}"}, {"status": 502, "body": "{}"})
        body = {"content": "好"}
        statuses = [self.emulator.signed("POST", SENTIMENT, body)[0] for _ in range(3)]
        self.assertEqual(statuses, [503, 502, 200])

    def test_repeated_header_values(self):
        self.script("chat", {"status": 401, "headers": {"X-Request-Id": ["req-final", "req-dup"]}, "body": "{}"})
        _, headers, _ = self.emulator.signed("POST", PANGU_V1, CHAT_EN)
        self.assertEqual(headers.get_all("X-Request-Id"), ["req-final", "req-dup"])

    def test_any_route(self):
        self.script("any", {"status": 500, "body": "{}"})
        self.assertEqual(self.emulator.signed("POST", SENTIMENT, {"content": "好"})[0], 500)

    def test_raw_bytes_sent_exactly(self):
        raw = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
               b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
               b"X-Request-Id: req-final\r\nX-Request-Id:req-dup\r\nContent-Length: 60\r\n\r\n"
               b"{\"error_code\":\"APIGW.0301\",\"error_msg\":\"Incorrect IAM auth\"}")
        self.script("chat", {"raw": [{"data_b64": base64.b64encode(raw[:30]).decode(), "pause_ms": 50},
                                     {"data_b64": base64.b64encode(raw[30:]).decode()}]})
        started = time.monotonic()
        received, error = raw_exchange(self.emulator.port, raw_post(self.emulator.port, "/v1/chat/completions",
                                                                     dict(CHAT_EN, model="m")))
        self.assertIsNone(error)
        self.assertEqual(received, raw)
        self.assertGreaterEqual(time.monotonic() - started, 0.045)
        self.assertEqual(self.stats()["by_route"]["chat"], 1)

    def test_reset_before_response(self):
        self.script("chat", {"reset": "before_response"})
        received, error = raw_exchange(self.emulator.port, raw_post(self.emulator.port, "/v1/chat/completions",
                                                                     dict(CHAT_EN, model="m")))
        self.assertEqual(received, b"")
        self.assertIsNone(error)

    def test_reset_before_response_rst(self):
        self.script("chat", {"reset": "before_response", "rst": True})
        received, error = raw_exchange(self.emulator.port, raw_post(self.emulator.port, "/v1/chat/completions",
                                                                     dict(CHAT_EN, model="m")))
        self.assertEqual(received, b"")
        self.assertIsInstance(error, ConnectionResetError)

    def test_reset_mid_body(self):
        self.script("chat", {"reset": "mid_body", "after_bytes": 10})
        received, _ = raw_exchange(self.emulator.port, raw_post(self.emulator.port, "/v1/chat/completions",
                                                                 dict(CHAT_EN, model="m")))
        head, _, body = received.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "))
        declared = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        self.assertEqual(len(body), 10)
        self.assertGreater(declared, 10)

    def test_stall(self):
        self.script("chat", {"stall_ms": 300})
        started = time.monotonic()
        status, _, _ = self.emulator.signed("POST", PANGU_V1, CHAT_EN)
        self.assertEqual(status, 200)
        self.assertGreaterEqual(time.monotonic() - started, 0.29)

    def test_stream_cut_after(self):
        self.script("chat", {"stream_cut_after": 3})
        status, _, data = self.emulator.signed("POST", PANGU_V1, dict(CHAT_EN, stream=True))
        self.assertEqual(status, 200)
        events = parse_sse(data)
        self.assertEqual(len(events), 3)
        self.assertNotIn("[DONE]", events)

    def test_stream_delay(self):
        self.script("chat", {"stream_delay_ms": 20})
        started = time.monotonic()
        _, _, data = self.emulator.signed("POST", PANGU_V1, dict(CHAT_EN, stream=True))
        events = parse_sse(data)
        self.assertGreaterEqual(time.monotonic() - started, 0.02 * (len(events) - 1) * 0.9)

    def test_stream_error_after(self):
        self.script("chat", {"stream_error_after": 2})
        _, _, data = self.emulator.signed("POST", PANGU_V1, dict(CHAT_EN, stream=True))
        events = parse_sse(data)
        self.assertEqual(len(events), 3)
        self.assertIn("error", json.loads(events[-1]))

    def test_invalid_script_400(self):
        for script in ({"route": "nope", "responses": [{"status": 500}]},
                       {"route": "chat", "responses": [{"status": 500, "bogus": 1}]},
                       {"route": "chat", "responses": [{"reset": "mid_body"}]},
                       {"route": "chat", "responses": []}):
            with self.subTest(script=script):
                status, value = self.emulator.control("POST", "script", script)
                self.assertEqual(status, 400)
                self.assertIn("invalid script", value["error_msg"])

    def test_reset_drops_scripts(self):
        self.script("chat", {"status": 500, "body": "{}"})
        self.emulator.control("POST", "reset")
        self.assertEqual(self.emulator.signed("POST", PANGU_V1, CHAT_EN)[0], 200)


class IamTest(EmulatorTestCase):
    def issue_token(self, body=None):
        return self.emulator.request("POST", "/v3/auth/tokens", body or password_body(),
                                     {"Content-Type": "application/json"})

    def test_issue_token(self):
        status, headers, data = self.issue_token()
        self.assertEqual(status, 201, data)
        self.assertTrue(headers["X-Subject-Token"])
        token = json.loads(data)["token"]
        self.assertRegex(token["expires_at"], EXPIRES_AT_PATTERN)
        self.assertRegex(token["issued_at"], EXPIRES_AT_PATTERN)
        self.assertEqual(token["methods"], ["password"])
        self.assertEqual(token["project"]["id"], PROJECT_ID)
        self.assertEqual(token["user"]["name"], IAM_USER)
        self.assertEqual(self.stats()["by_route"]["iam_token"], 1)

    def test_token_lifetime(self):
        token = json.loads(self.issue_token()[2])["token"]
        parse = lambda text: time.mktime(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))  # noqa: E731
        self.assertEqual(parse(token["expires_at"]) - parse(token["issued_at"]), 3600)

    def test_wrong_password_401(self):
        status, headers, data = self.issue_token(password_body(password="wrong"))
        self.assertEqual(status, 401)
        self.assertEqual(json.loads(data), {
            "error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}})
        self.assertTrue(headers["X-Request-Id"])

    def test_token_accepted_on_chat(self):
        token = self.issue_token()[1]["X-Subject-Token"]
        status, _, data = self.emulator.request("POST", PANGU_V1, CHAT_EN, {"X-Auth-Token": token})
        self.assertEqual(status, 200, data)
        status, _, data = self.emulator.request("POST", SENTIMENT, {"content": "好"}, {"X-Auth-Token": token})
        self.assertEqual(status, 200, data)

    def test_token_scoped_by_name(self):
        status, _, data = self.issue_token(password_body(scope={"project": {"name": "cn-southwest-2"}}))
        self.assertEqual(status, 201, data)
        self.assertEqual(json.loads(data)["token"]["project"]["id"], PROJECT_ID)

    def test_expired_token_401(self):
        token = self.issue_token()[1]["X-Subject-Token"]
        self.assertEqual(self.emulator.control("POST", "clock", {"offset_s": 3601})[0], 200)
        response = self.emulator.request("POST", PANGU_V1, CHAT_EN, {"X-Auth-Token": token})
        error = self.assert_error(*response, 401)
        self.assertEqual(error["error_code"], "APIG.0307")
        self.assertEqual(error["error_msg"], "The token must be updated.")

    def test_unknown_token_401(self):
        error = self.assert_error(*self.emulator.request("POST", PANGU_V1, CHAT_EN, {"X-Auth-Token": "MIIx"}), 401)
        self.assertEqual(error["error_code"], "APIG.0307")

    def test_revoked_token_401(self):
        token = self.issue_token()[1]["X-Subject-Token"]
        self.emulator.control("POST", "revoke_tokens")
        self.assert_error(*self.emulator.request("POST", PANGU_V1, CHAT_EN, {"X-Auth-Token": token}), 401)

    def test_token_not_accepted_on_openai_route(self):
        token = self.issue_token()[1]["X-Subject-Token"]
        response = self.emulator.request("POST", "/v1/chat/completions", dict(CHAT_EN, model="m"),
                                         {"X-Auth-Token": token})
        self.assert_error(*response, 401)

    def test_token_from_token(self):
        token = self.issue_token()[1]["X-Subject-Token"]
        body = {"auth": {"identity": {"methods": ["token"], "token": {"id": token}},
                         "scope": {"project": {"id": PROJECT_ID}}}}
        status, headers, _ = self.issue_token(body)
        self.assertEqual(status, 201)
        self.assertNotEqual(headers["X-Subject-Token"], token)

    def test_project_lookup_default(self):
        status, _, data = self.emulator.signed("GET", "/v3/projects?name=cn-north-4")
        self.assertEqual(status, 200, data)
        projects = json.loads(data)["projects"]
        self.assertEqual([(p["id"], p["name"]) for p in projects], [(PROJECT_ID, "cn-north-4")])
        self.assertEqual(self.stats()["by_route"]["iam_projects"], 1)

    def test_project_lookup_needs_auth(self):
        self.assert_error(*self.emulator.request("GET", "/v3/projects?name=cn-north-4"), 401)


class ProjectMappingTest(EmulatorTestCase):
    emulator_args = (
        "--project", "cn-north-4=",
        "--project", "cn-north-9=11111111111111111111111111111111,22222222222222222222222222222222:cn-north-9_dev",
        "--token-lifetime-s", "5",
    )

    def lookup(self, region):
        status, _, data = self.emulator.signed("GET", "/v3/projects?name=" + region)
        self.assertEqual(status, 200, data)
        return [(p["id"], p["name"]) for p in json.loads(data)["projects"]]

    def test_zero_projects(self):
        self.assertEqual(self.lookup("cn-north-4"), [])

    def test_two_projects(self):
        self.assertEqual(self.lookup("cn-north-9"), [
            ("11111111111111111111111111111111", "cn-north-9"),
            ("22222222222222222222222222222222", "cn-north-9_dev"),
        ])

    def test_unlisted_region_uses_default(self):
        self.assertEqual(self.lookup("cn-east-3"), [(PROJECT_ID, "cn-east-3")])

    def test_mapped_project_accepted_in_path(self):
        path = PANGU_V1.replace(PROJECT_ID, "11111111111111111111111111111111")
        self.assertEqual(self.emulator.signed("POST", path, CHAT_EN)[0], 200)

    def test_token_lifetime_flag(self):
        status, _, data = self.emulator.request("POST", "/v3/auth/tokens", password_body())
        token = json.loads(data)["token"]
        issued = time.mktime(time.strptime(token["issued_at"][:19], "%Y-%m-%dT%H:%M:%S"))
        expires = time.mktime(time.strptime(token["expires_at"][:19], "%Y-%m-%dT%H:%M:%S"))
        self.assertEqual(expires - issued, 5)

    def test_token_scoped_to_other_project_403(self):
        status, headers, _ = self.emulator.request(
            "POST", "/v3/auth/tokens", password_body(scope={"project": {"id": "11111111111111111111111111111111"}}))
        self.assertEqual(status, 201)
        response = self.emulator.request("POST", PANGU_V1, CHAT_EN, {"X-Auth-Token": headers["X-Subject-Token"]})
        self.assert_error(*response, 403)


class ExpectContinueTest(unittest.TestCase):
    def exchange(self, emulator):
        body = json.dumps(dict(CHAT_EN, model="m")).encode("utf-8")
        head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                "Content-Length: %d\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n" % (API_KEY, len(body)))
        with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as sock:
            sock.sendall(head.encode("ascii"))
            sock.settimeout(0.3)
            try:
                interim = sock.recv(100)
            except socket.timeout:
                interim = b""
            sock.settimeout(5)
            sock.sendall(body)
            rest = b""
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                rest += data
        return interim, rest

    def test_100_continue_sent_by_default(self):
        emulator = EmulatorProcess()
        try:
            interim, rest = self.exchange(emulator)
        finally:
            self.assertEqual(emulator.stop(), 0)
        self.assertTrue(interim.startswith(b"HTTP/1.1 100 Continue"))
        self.assertIn(b"HTTP/1.1 200 ", interim + rest)

    def test_no_100_continue_flag(self):
        emulator = EmulatorProcess("--no-100-continue")
        try:
            interim, rest = self.exchange(emulator)
        finally:
            self.assertEqual(emulator.stop(), 0)
        self.assertEqual(interim, b"")
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 "))


class CommandLineTest(unittest.TestCase):
    def test_rejects_non_loopback_host(self):
        result = subprocess.run([sys.executable, EMULATOR, "--host", "0.0.0.0", "--port", "0"],
                                capture_output=True, text=True, timeout=10)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("loopback", result.stderr)

    def test_help_lists_defaults(self):
        environment = dict(os.environ, COLUMNS="300")
        result = subprocess.run([sys.executable, EMULATOR, "--help"], capture_output=True, text=True, timeout=10,
                                env=environment)
        self.assertEqual(result.returncode, 0)
        for default in (AK, SK, PROJECT_ID, API_KEY, IAM_USER, IAM_PASSWORD, IAM_DOMAIN, "3600"):
            self.assertIn(default, result.stdout)


if __name__ == "__main__":
    unittest.main()
