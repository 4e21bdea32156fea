"""Integration tests of the hwai command line tool against the local emulator.

Environment, as set by tests/cli/meson.build:
  HWAI_CLI            path of the built hwai executable
  HWAI_PYTHON         Python interpreter that runs the emulator
  HWAI_EMULATOR       path of tools/emulator/hwai_emulator.py
  HWAI_TEST_DATA_DIR  directory of sign-vectors.jsonl

Secrets are passed through the environment and never appear in assertion
messages, so a failing test cannot print them. Every run gets an empty HOME,
so that a profile file of the user running the tests is never read.
"""

import base64
import calendar
import http.server
import json
import os
import pty
import re
import select
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

CLI = os.environ.get("HWAI_CLI", "")
PYTHON = os.environ.get("HWAI_PYTHON", "python3")
EMULATOR = os.environ.get("HWAI_EMULATOR", "")
DATA_DIR = os.environ.get("HWAI_TEST_DATA_DIR", "")

EMULATOR_AK = "HWAIEMULATORAK000001"
EMULATOR_SK = "hwai-emulator-sk-0123456789abcdef"
EMULATOR_PROJECT_ID = "0123456789abcdef0123456789abcdef"
EMULATOR_API_KEY = "hwai-emulator-api-key"
EMULATOR_SECURITY_TOKEN = "hwai-emulator-security-token"
EMULATOR_IAM_USER = "hwai-user"
EMULATOR_IAM_PASSWORD = "hwai-password"
EMULATOR_IAM_DOMAIN = "hwai-domain"
PROXY_PASSWORD = "proxy-password-for-cli-test"

# Start of the emulator's reply to a question containing Chinese characters.
CHINESE_REPLY_PREFIX = "你好！这是盘古大模型本地模拟器的回答："

STARTUP_TIMEOUT_S = 15
CLI_TIMEOUT_S = 30

# Variables that would change how the CLI authenticates or routes requests.
# Variables starting with HUAWEICLOUD_SDK_REGION_ (per-region endpoints) are
# cleared too.
CLEARED_VARIABLES = (
    "HUAWEICLOUD_SDK_AK",
    "HUAWEICLOUD_SDK_SK",
    "HUAWEICLOUD_SDK_SECURITY_TOKEN",
    "HUAWEICLOUD_SDK_PROJECT_ID",
    "HUAWEICLOUD_SDK_DOMAIN_ID",
    "HUAWEICLOUD_SDK_CREDENTIALS_FILE",
    "HUAWEICLOUD_SDK_IAM_ENDPOINT",
    "HWAI_API_KEY",
    "HWAI_IAM_PASSWORD",
    "HWAI_PROXY_PASSWORD",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
)

AKSK_ENV = {
    "HUAWEICLOUD_SDK_AK": EMULATOR_AK,
    "HUAWEICLOUD_SDK_SK": EMULATOR_SK,
    "HUAWEICLOUD_SDK_PROJECT_ID": EMULATOR_PROJECT_ID,
}

IAM_ARGS = ["--iam-user", EMULATOR_IAM_USER, "--iam-domain", EMULATOR_IAM_DOMAIN]
IAM_ENV = {"HWAI_IAM_PASSWORD": EMULATOR_IAM_PASSWORD}


# Start of a hand-made server-sent event response. Connection: close ends the
# body, as in the emulator's own streams.
SSE_HEADERS = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/event-stream\r\n"
    b"X-Request-Id: stream-request-1\r\n"
    b"Connection: close\r\n"
    b"\r\n"
)
SSE_DONE = b"data: [DONE]\n\n"

# Exit status of a command stopped by Ctrl-C.
EXIT_INTERRUPTED = 130

# Runs a command with the default action for SIGINT, which a test runner
# started as a background job may have set to "ignore" for its children.
SIGINT_DEFAULT_WRAPPER = (
    "import os, signal, sys; "
    "signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def sse_event(payload):
    """Encode a dict as one `data:` event of compact JSON."""
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n\n"


def content_event(text):
    choice = {"index": 0, "delta": {"content": text}, "finish_reason": None}
    return sse_event({"object": "chat.completion.chunk", "choices": [choice]})


def finish_event(reason="stop"):
    choice = {"index": 0, "delta": {}, "finish_reason": reason}
    return sse_event({"object": "chat.completion.chunk", "choices": [choice]})


def load_sign_vectors():
    path = os.path.join(DATA_DIR, "sign-vectors.jsonl")
    with open(path, encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def vector_body(vector):
    if "body_b64" in vector:
        return base64.b64decode(vector["body_b64"])
    return (vector.get("body") or "").encode("utf-8")


def parse_signed_output(stdout):
    """Split `hwai sign` output into the request line and a list of (name, value)."""
    lines = stdout.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name, value.strip()))
    return (lines[0] if lines else ""), headers


class Emulator:
    """The emulator as a child process on a free loopback port."""

    def __init__(self):
        self.stderr_file = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [PYTHON, EMULATOR, "--port", "0", "--quiet"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr_file,
        )
        self.base_url = self._read_base_url()
        # Drain later output so that the emulator never blocks on a full pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _read_base_url(self):
        lines = []
        reader = threading.Thread(target=lambda: lines.append(self.process.stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(STARTUP_TIMEOUT_S)
        first_line = lines[0].decode("utf-8", "replace") if lines else ""
        match = re.match(r"listening on (http://127\.0\.0\.1:\d+)", first_line)
        if match is None:
            self.stop()
            raise RuntimeError("emulator did not start; first line: %r" % first_line)
        return match.group(1)

    def control(self, method, name, payload=None):
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(self.base_url + "/_emulator/" + name, data, method=method)
        request.add_header("Content-Type", "application/json")
        with self.opener.open(request, timeout=10) as response:
            return json.loads(response.read().decode("utf-8"))

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stderr_file.close()


class CliTestCase(unittest.TestCase):
    """Runs the CLI with a clean environment and checks every output for secrets."""

    # Values that no output may contain. The security token and the API key are
    # allowed where `hwai sign` prints the signed request.
    secrets = (
        EMULATOR_SK,
        "hwTestSecretKey0123456789abcdefghijKLMNOP",
        EMULATOR_IAM_PASSWORD,
        PROXY_PASSWORD,
    )

    @classmethod
    def setUpClass(cls):
        if not CLI or not os.path.exists(CLI):
            raise unittest.SkipTest("HWAI_CLI does not name the built hwai executable")
        cls.empty_home = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.empty_home.cleanup()
        super().tearDownClass()

    def cli_environment(self, env):
        environment = {
            key: value
            for key, value in os.environ.items()
            if key not in CLEARED_VARIABLES and not key.startswith("HUAWEICLOUD_SDK_REGION_")
        }
        environment["HOME"] = self.empty_home.name
        environment.update(env or {})
        return environment

    def run_cli(self, args, env=None, stdin=b"", extra_secrets=()):
        result = subprocess.run(
            [CLI] + list(args),
            input=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.cli_environment(env),
            timeout=CLI_TIMEOUT_S,
        )
        self.assert_no_secrets(result.stdout, result.stderr, extra_secrets)
        return result

    def assert_no_secrets(self, stdout, stderr, extra_secrets=()):
        # assertFalse keeps the secret itself out of the failure message.
        for secret in self.secrets + tuple(extra_secrets):
            self.assertFalse(secret.encode("utf-8") in stdout, "stdout contains a secret")
            self.assertFalse(secret.encode("utf-8") in stderr, "stderr contains a secret")

    def stderr_lines(self, result):
        return result.stderr.decode("utf-8", "replace").splitlines()

    def assert_one_line_failure(self, result, prefix):
        lines = self.stderr_lines(result)
        self.assertEqual(result.returncode, 1, lines)
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith(prefix), lines)
        return lines[0]

    def assert_usage_error(self, result, *expected_parts):
        lines = self.stderr_lines(result)
        self.assertEqual(result.returncode, 2, lines)
        self.assertEqual(result.stdout, b"")
        self.assertGreaterEqual(len(lines), 1)
        self.assertTrue(lines[0].startswith("hwai: "), lines)
        for part in expected_parts:
            self.assertIn(part, lines[0])


class EmulatorTestCase(CliTestCase):
    """Starts one emulator for the class and resets it before every test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not EMULATOR or not os.path.exists(EMULATOR):
            raise unittest.SkipTest("HWAI_EMULATOR does not name the emulator script")
        cls.emulator = Emulator()

    @classmethod
    def tearDownClass(cls):
        cls.emulator.stop()
        super().tearDownClass()

    def route_requests(self, route):
        return self.emulator.control("GET", "stats")["by_route"][route]

    def wait_for_requests(self, route, count, timeout_s):
        """Wait until the emulator has received `count` requests on `route`."""
        deadline = time.monotonic() + timeout_s
        while self.route_requests(route) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertGreaterEqual(self.route_requests(route), count)

    def start_service(self, args, env=None):
        """Start a service command against the emulator with stdout and stderr on
        pipes and the default action for SIGINT, and return the process."""
        process = subprocess.Popen(
            [PYTHON, "-c", SIGINT_DEFAULT_WRAPPER, CLI, "--endpoint", self.emulator.base_url]
            + list(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.cli_environment(env),
        )
        self.addCleanup(self.stop_process, process)
        return process

    @staticmethod
    def stop_process(process):
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()

    def finish_process(self, process):
        """Wait for the process and return (rest of stdout, stderr)."""
        stdout, stderr = process.communicate(timeout=CLI_TIMEOUT_S)
        self.assert_no_secrets(stdout, stderr)
        return stdout, stderr

    def setUp(self):
        self.emulator.control("POST", "reset")

    def run_service(self, args, env=None, stdin=b"", extra_secrets=()):
        """Run a service command (global options first) against the emulator."""
        return self.run_cli(
            ["--endpoint", self.emulator.base_url] + list(args),
            env=env,
            stdin=stdin,
            extra_secrets=extra_secrets,
        )


class ChatTest(EmulatorTestCase):
    def test_pangu_path_prints_chinese_reply(self):
        result = self.run_service(["chat", "--deployment", "dep-1", "你好，介绍一下你自己"], AKSK_ENV)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        reply = result.stdout.decode("utf-8")
        self.assertTrue(reply.startswith(CHINESE_REPLY_PREFIX), reply)
        self.assertIn("你好，介绍一下你自己", reply)
        self.assertTrue(reply.endswith("。\n"), reply)
        self.assertEqual(result.stderr, b"")

    def test_pangu_v2_pool_path(self):
        result = self.run_service(
            ["chat", "--deployment", "dep-1", "--pool", "pool-1", "--model", "pangu-n1", "你好"],
            AKSK_ENV,
        )
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertTrue(result.stdout.decode("utf-8").startswith(CHINESE_REPLY_PREFIX))

    def test_openai_path_with_api_key_option(self):
        result = self.run_service(
            ["--api-key", EMULATOR_API_KEY, "chat", "--model", "qwen", "hello there"],
            {"HUAWEICLOUD_SDK_PROJECT_ID": EMULATOR_PROJECT_ID},
        )
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        reply = result.stdout.decode("utf-8")
        self.assertIn('you asked "hello there"', reply)
        self.assertTrue(reply.endswith("SDK.\n"), reply)

    def test_openai_path_with_api_key_env(self):
        result = self.run_service(
            ["chat", "--model", "qwen", "hello from env"], {"HWAI_API_KEY": EMULATOR_API_KEY}
        )
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertIn('you asked "hello from env"', result.stdout.decode("utf-8"))

    def test_api_key_wins_over_aksk(self):
        env = dict(AKSK_ENV, HUAWEICLOUD_SDK_SK="not-the-secret-key")
        env["HWAI_API_KEY"] = EMULATOR_API_KEY
        result = self.run_service(["chat", "--model", "qwen", "hi"], env)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))

    def test_output_json_is_raw_answer(self):
        result = self.run_service(
            ["--output", "json", "chat", "--deployment", "dep-1", "你好"], AKSK_ENV
        )
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        text = result.stdout.decode("utf-8")
        self.assertTrue(text.endswith("\n"))
        self.assertEqual(text.count("\n"), 1, text)
        response = json.loads(text)
        self.assertEqual(response["choices"][0]["message"]["role"], "assistant")
        content = response["choices"][0]["message"]["content"]
        self.assertTrue(content.startswith(CHINESE_REPLY_PREFIX), content)

    def test_message_from_stdin(self):
        result = self.run_service(
            ["chat", "--deployment", "dep-1", "-"], AKSK_ENV, stdin="来自标准输入的问题".encode("utf-8")
        )
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertIn("来自标准输入的问题", result.stdout.decode("utf-8"))

    def test_reply_with_nul_byte_is_written_whole(self):
        # The emulator quotes the question, so a NUL byte in it comes back in the reply.
        result = self.run_service(
            ["chat", "--deployment", "dep-1", "-"], AKSK_ENV, stdin=b"before\x00after"
        )
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertIn(b'"before\x00after"', result.stdout)
        self.assertTrue(result.stdout.endswith(b"SDK.\n"), result.stdout)

    def test_sampling_options_are_sent(self):
        result = self.run_service(
            [
                "--output",
                "json",
                "chat",
                "--deployment",
                "dep-1",
                "--system",
                "You are terse.",
                "--max-tokens",
                "5",
                "--temperature",
                "0.5",
                "--top-p",
                "0.9",
                "tell me a long story",
            ],
            AKSK_ENV,
        )
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        response = json.loads(result.stdout)
        self.assertEqual(response["choices"][0]["finish_reason"], "length")
        self.assertEqual(response["usage"]["completion_tokens"], 5)

    def test_wrong_sk_reports_apig_0301(self):
        env = dict(AKSK_ENV, HUAWEICLOUD_SDK_SK="wrong-secret-key-0123456789")
        result = self.run_service(["chat", "--deployment", "dep-1", "你好"], env)
        line = self.assert_one_line_failure(result, "hwai: chat failed: ")
        self.assertIn("HTTP 401", line)
        self.assertIn("APIG.0301", line)
        self.assertRegex(line, r"request id [0-9a-f]+\)$")
        self.assertEqual(result.stdout, b"")

    def test_wrong_api_key_reports_http_401(self):
        result = self.run_service(
            ["--api-key", "wrong-api-key", "chat", "--model", "qwen", "hi"],
            extra_secrets=("wrong-api-key",),
        )
        line = self.assert_one_line_failure(result, "hwai: chat failed: ")
        self.assertIn("HTTP 401", line)

    def test_malformed_answer_exits_1(self):
        self.emulator.control(
            "POST",
            "script",
            {
                "route": "chat",
                "responses": [
                    {
                        "status": 200,
                        "headers": {"Content-Type": "application/json"},
                        "body": "{not json",
                    }
                ],
            },
        )
        result = self.run_service(["chat", "--deployment", "dep-1", "你好"], AKSK_ENV)
        line = self.assert_one_line_failure(result, "hwai: chat failed: ")
        self.assertIn("JSON", line)
        self.assertEqual(result.stdout, b"")

    def test_missing_project_id_is_usage_error(self):
        env = dict(AKSK_ENV)
        del env["HUAWEICLOUD_SDK_PROJECT_ID"]
        result = self.run_service(["chat", "--deployment", "dep-1", "你好"], env)
        self.assertEqual(result.returncode, 2, self.stderr_lines(result))
        self.assertEqual(len(self.stderr_lines(result)), 1)

    def test_project_id_option_overrides_env(self):
        env = dict(AKSK_ENV, HUAWEICLOUD_SDK_PROJECT_ID="ffffffffffffffffffffffffffffffff")
        result = self.run_service(
            ["--project-id", EMULATOR_PROJECT_ID, "chat", "--deployment", "dep-1", "你好"], env
        )
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))

    def test_verbose_logs_without_secrets(self):
        env = dict(AKSK_ENV, HUAWEICLOUD_SDK_SECURITY_TOKEN=EMULATOR_SECURITY_TOKEN)
        result = self.run_service(
            ["-v", "chat", "--deployment", "dep-1", "你好"],
            env,
            extra_secrets=(EMULATOR_SECURITY_TOKEN,),
        )
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertGreater(len(self.stderr_lines(result)), 0)
        self.assertTrue(result.stdout.decode("utf-8").startswith(CHINESE_REPLY_PREFIX))

    def test_timeout_options_are_accepted(self):
        result = self.run_service(
            ["--timeout-ms", "20000", "--connect-timeout-ms", "5000"]
            + ["chat", "--model", "m", "hi"],
            {"HWAI_API_KEY": EMULATOR_API_KEY},
        )
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))


class ChatStreamTest(EmulatorTestCase):
    STREAM_ARGS = ["chat", "--stream", "--deployment", "dep-1"]
    # One complete event, then an event cut inside its JSON, and one cut
    # between the two bytes of a three-byte character.
    COMPLETE_EVENT = content_event("第一")
    SECOND_EVENT = content_event("第二")
    CUT_INSIDE_JSON = SECOND_EVENT[:20]
    CUT_INSIDE_CHARACTER = SECOND_EVENT[: SECOND_EVENT.index("二".encode()) + 2]

    def script_raw(self, *chunks):
        """Queue a raw response for the next chat request, from (bytes, pause_ms) pairs."""
        raw = [
            {"data_b64": base64.b64encode(data).decode("ascii"), "pause_ms": pause_ms}
            for data, pause_ms in chunks
        ]
        self.emulator.control("POST", "script", {"route": "chat", "responses": [{"raw": raw}]})

    def script_stream_fault(self, entry):
        """Queue a fault entry, such as stream_cut_after, for the next chat stream."""
        self.emulator.control("POST", "script", {"route": "chat", "responses": [entry]})

    def run_stream(self, message="你好", global_args=()):
        return self.run_service(list(global_args) + self.STREAM_ARGS + [message], AKSK_ENV)

    def full_reply(self, message):
        """Return the reply text of a plain (not streamed) chat."""
        result = self.run_service(["chat", "--deployment", "dep-1", message], AKSK_ENV)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        return result.stdout

    def start_stream(self, message):
        """Start a streamed chat with stdout on a pipe, and return the process."""
        return self.start_service(self.STREAM_ARGS + [message], AKSK_ENV)

    def read_until(self, process, expected, timeout_s):
        """Read stdout until it contains `expected`, it ends, or timeout_s seconds pass."""
        received = b""
        deadline = time.monotonic() + timeout_s
        fd = process.stdout.fileno()
        while expected not in received:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                break
            data = os.read(fd, 4096)
            if not data:
                break
            received += data
        return received

    def test_chinese_answer_matches_pieces(self):
        message = "你好，介绍一下你自己"
        json_result = self.run_stream(message, ["--output", "json"])
        text_result = self.run_stream(message)
        self.assertEqual(json_result.returncode, 0, self.stderr_lines(json_result))
        self.assertEqual(text_result.returncode, 0, self.stderr_lines(text_result))
        chunks = [json.loads(line) for line in json_result.stdout.decode("utf-8").splitlines()]
        pieces = [
            chunk["choices"][0]["delta"].get("content") or ""
            for chunk in chunks
            if chunk["choices"]
        ]
        self.assertGreater(len([piece for piece in pieces if piece]), 5)
        reply = text_result.stdout.decode("utf-8")
        self.assertEqual(reply, "".join(pieces) + "\n")
        self.assertTrue(reply.startswith(CHINESE_REPLY_PREFIX), reply)
        self.assertEqual(text_result.stdout, self.full_reply(message))
        self.assertEqual(text_result.stderr, b"")

    def test_json_output_is_one_chunk_per_line(self):
        result = self.run_service(
            ["--output", "json", "chat", "--stream", "--model", "qwen", "hello"],
            {"HWAI_API_KEY": EMULATOR_API_KEY},
        )
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        text = result.stdout.decode("utf-8")
        self.assertTrue(text.endswith("}\n"), text)
        chunks = [json.loads(line) for line in text.splitlines()]
        self.assertGreater(len(chunks), 5)
        for chunk in chunks:
            self.assertIn("choices", chunk)
            self.assertEqual(chunk["object"], "chat.completion.chunk")
        finish_reasons = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
        self.assertEqual(finish_reasons[-1], "stop")
        self.assertIn("usage", chunks[-1])

    def test_first_piece_reaches_pipe_before_pause(self):
        self.script_raw(
            (SSE_HEADERS + self.COMPLETE_EVENT, 3000),
            (content_event("第二") + finish_event() + SSE_DONE, 0),
        )
        started = time.monotonic()
        process = self.start_stream("你好")
        received = self.read_until(process, "第一".encode(), 1.5)
        arrival_s = time.monotonic() - started
        self.assertEqual(received, "第一".encode())
        self.assertLess(arrival_s, 1.5)
        rest, stderr = self.finish_process(process)
        self.assertEqual(process.returncode, 0, stderr)
        self.assertEqual(received + rest, "第一第二\n".encode())
        self.assertEqual(stderr, b"")

    def test_error_event_after_http_200(self):
        shapes = (
            ({"error": {"code": "PANGU.5001", "message": "model overloaded"}}, "PANGU.5001"),
            ({"error_code": "ModelArts.8001", "error_msg": "quota exceeded"}, "ModelArts.8001"),
        )
        for payload, code in shapes:
            message = payload["error"]["message"] if "error" in payload else payload["error_msg"]
            for done_follows in (False, True):
                with self.subTest(code=code, done_follows=done_follows):
                    tail = sse_event(payload) + (SSE_DONE if done_follows else b"")
                    self.script_raw((SSE_HEADERS + content_event("已收到") + tail, 0))
                    result = self.run_stream()
                    line = self.assert_one_line_failure(result, "hwai: chat stream failed: ")
                    self.assertIn(code, line)
                    self.assertIn(message, line)
                    self.assertIn("HTTP 200", line)
                    self.assertIn("request id stream-request-1", line)
                    self.assertEqual(result.stdout, "已收到\n".encode())

    def test_json_output_keeps_lines_on_error(self):
        error = {"error": {"code": "PANGU.5001", "message": "model overloaded"}}
        self.script_raw((SSE_HEADERS + content_event("已收到") + sse_event(error), 0))
        result = self.run_stream(global_args=["--output", "json"])
        line = self.assert_one_line_failure(result, "hwai: chat stream failed: ")
        self.assertIn("PANGU.5001", line)
        lines = result.stdout.decode("utf-8").splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertEqual(json.loads(lines[0])["choices"][0]["delta"]["content"], "已收到")

    @unittest.skipUnless(os.path.exists("/dev/full"), "needs /dev/full")
    def test_write_error_stops_stream(self):
        with open("/dev/full", "wb") as full:
            result = subprocess.run(
                [CLI, "--endpoint", self.emulator.base_url] + self.STREAM_ARGS + ["你好"],
                stdin=subprocess.DEVNULL,
                stdout=full,
                stderr=subprocess.PIPE,
                env=self.cli_environment(AKSK_ENV),
                timeout=CLI_TIMEOUT_S,
            )
        self.assert_no_secrets(b"", result.stderr)
        self.assert_one_line_failure(result, "hwai: writing to standard output failed: ")

    def test_emulator_error_event_keeps_text(self):
        reply = self.full_reply("你好")
        self.script_stream_fault({"stream_error_after": 4})
        result = self.run_stream("你好")
        line = self.assert_one_line_failure(result, "hwai: chat stream failed: ")
        self.assertIn("PANGU.5000", line)
        self.assertGreater(len(result.stdout), 1)
        self.assertTrue(result.stdout.endswith(b"\n"))
        self.assertTrue(reply.startswith(result.stdout[:-1]), result.stdout)

    def test_cut_stream_reports_truncation(self):
        reply = self.full_reply("你好")
        self.script_stream_fault({"stream_cut_after": 4})
        result = self.run_stream("你好")
        line = self.assert_one_line_failure(result, "hwai: chat stream failed: ")
        self.assertIn("truncated", line)
        self.assertGreater(len(result.stdout), 1)
        self.assertTrue(result.stdout.endswith(b"\n"))
        self.assertTrue(reply.startswith(result.stdout[:-1]), result.stdout)

    def test_cut_inside_event_keeps_complete_events(self):
        for name, cut_event in (
            ("inside JSON", self.CUT_INSIDE_JSON),
            ("inside a character", self.CUT_INSIDE_CHARACTER),
        ):
            with self.subTest(cut=name):
                self.script_raw((SSE_HEADERS + self.COMPLETE_EVENT + cut_event, 0))
                result = self.run_stream()
                self.assert_one_line_failure(result, "hwai: chat stream failed: ")
                self.assertEqual(result.stdout, "第一\n".encode())

    def test_cut_inside_json_reports_truncation(self):
        self.script_raw((SSE_HEADERS + self.COMPLETE_EVENT + self.CUT_INSIDE_JSON, 0))
        line = self.assert_one_line_failure(self.run_stream(), "hwai: chat stream failed: ")
        self.assertIn("truncated", line)

    def test_cut_inside_character_reports_truncation(self):
        self.script_raw((SSE_HEADERS + self.COMPLETE_EVENT + self.CUT_INSIDE_CHARACTER, 0))
        line = self.assert_one_line_failure(self.run_stream(), "hwai: chat stream failed: ")
        self.assertIn("truncated", line)

    def test_nul_byte_in_content_is_written(self):
        self.script_raw((SSE_HEADERS + content_event("a\u0000b") + finish_event() + SSE_DONE, 0))
        result = self.run_stream()
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertEqual(result.stdout, b"a\x00b\n")

    def test_sigint_during_pause_exits_130(self):
        self.script_raw(
            (SSE_HEADERS + self.COMPLETE_EVENT, 5000),
            (content_event("第二") + finish_event() + SSE_DONE, 0),
        )
        process = self.start_stream("你好")
        received = self.read_until(process, "第一".encode(), 5)
        self.assertEqual(received, "第一".encode())
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        rest, stderr = self.finish_process(process)
        exit_s = time.monotonic() - interrupted
        self.assertLess(exit_s, 1.0)
        self.assertEqual(process.returncode, EXIT_INTERRUPTED, stderr)
        self.assertEqual(received + rest, "第一\n".encode())
        lines = stderr.decode("utf-8").splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("cancelled", lines[0])

    def test_sigint_before_headers_exits_130(self):
        self.emulator.control("POST", "script", {"route": "chat", "responses": [{"stall_ms": 5000}]})
        process = self.start_stream("你好")
        self.wait_for_requests("chat", 1, 5)
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        stdout, stderr = self.finish_process(process)
        exit_s = time.monotonic() - interrupted
        self.assertLess(exit_s, 1.0)
        self.assertEqual(process.returncode, EXIT_INTERRUPTED, stderr)
        self.assertEqual(stdout, b"")
        lines = stderr.decode("utf-8").splitlines()
        self.assertEqual(lines, ["hwai: chat stream cancelled by Ctrl-C"])

    def test_idle_timeout_ends_silent_stream(self):
        self.script_raw(
            (SSE_HEADERS + self.COMPLETE_EVENT, 3000),
            (content_event("第二") + finish_event() + SSE_DONE, 0),
        )
        started = time.monotonic()
        result = self.run_stream(global_args=["--idle-timeout-ms", "500"])
        elapsed_s = time.monotonic() - started
        self.assertLess(elapsed_s, 2.0)
        line = self.assert_one_line_failure(result, "hwai: chat stream failed: ")
        self.assertIn("no data received for 500 ms", line)
        self.assertIn("timed out", line)
        self.assertEqual(result.stdout, "第一\n".encode())

    def test_verbose_prints_summary(self):
        result = self.run_service(
            ["-v", "chat", "--stream", "--model", "qwen", "hello"],
            {"HWAI_API_KEY": EMULATOR_API_KEY},
            extra_secrets=(EMULATOR_API_KEY,),
        )
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        summary = [line for line in self.stderr_lines(result) if "chat stream:" in line]
        self.assertEqual(len(summary), 1, self.stderr_lines(result))
        self.assertRegex(
            summary[0],
            r"^hwai: chat stream: first text after \d+ ms, \d+ chunks, finish reason stop, "
            r"tokens \d+ prompt \+ \d+ completion = \d+ total, request id [0-9a-f]+$",
        )

    def test_http_error_before_stream(self):
        env = dict(AKSK_ENV, HUAWEICLOUD_SDK_SK="wrong-secret-key-0123456789")
        result = self.run_service(self.STREAM_ARGS + ["你好"], env)
        line = self.assert_one_line_failure(result, "hwai: chat stream failed: ")
        self.assertIn("HTTP 401", line)
        self.assertIn("APIG.0301", line)
        self.assertEqual(result.stdout, b"")


class SentimentTest(EmulatorTestCase):
    def test_text_output(self):
        result = self.run_service(["nlp", "sentiment", "这家酒店很好，我很满意"], AKSK_ENV)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        lines = result.stdout.decode("utf-8").split("\n")
        self.assertEqual(lines[0], "label: 1 (positive)")
        self.assertRegex(lines[1], r"^confidence: 0\.\d{1,4}$")
        self.assertEqual(lines[2:], [""])

    def test_negative_label_in_english(self):
        result = self.run_service(
            ["nlp", "sentiment", "--lang", "en", "terrible and awful service"], AKSK_ENV
        )
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertTrue(result.stdout.decode("utf-8").startswith("label: 0 (negative)\n"))

    def test_confidence_is_printed_as_sent(self):
        text = "the room was good and the staff were great"
        json_result = self.run_service(["--output", "json", "nlp", "sentiment", text], AKSK_ENV)
        text_result = self.run_service(["nlp", "sentiment", text], AKSK_ENV)
        self.assertEqual(json_result.returncode, 0, self.stderr_lines(json_result))
        self.assertEqual(text_result.returncode, 0, self.stderr_lines(text_result))
        raw = json_result.stdout.decode("utf-8")
        sent = re.search(r'"confidence"\s*:\s*([0-9.eE+-]+)', raw).group(1)
        self.assertIn("confidence: %s\n" % sent, text_result.stdout.decode("utf-8"))

    def test_json_output(self):
        result = self.run_service(["--output", "json", "nlp", "sentiment", "今天很开心"], AKSK_ENV)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertEqual(result.stdout.count(b"\n"), 1)
        response = json.loads(result.stdout)
        self.assertEqual(response["result"]["label"], 1)

    def test_wrong_sk_reports_apig_0301(self):
        env = dict(AKSK_ENV, HUAWEICLOUD_SDK_SK="wrong-secret-key-0123456789")
        result = self.run_service(["nlp", "sentiment", "很好"], env)
        line = self.assert_one_line_failure(result, "hwai: sentiment analysis failed: ")
        self.assertIn("HTTP 401", line)
        self.assertIn("APIG.0301", line)


THROTTLED_RESPONSE = {
    "status": 429,
    "headers": {"Retry-After": "0"},
    "body": json.dumps(
        {"error_code": "APIG.0308", "error_msg": "The throttling threshold has been reached"}
    ),
}


class RetryTest(EmulatorTestCase):
    SENTIMENT_ARGS = ["nlp", "sentiment", "很好"]

    def script_sentiment(self, *responses):
        self.emulator.control(
            "POST", "script", {"route": "sentiment", "responses": list(responses)}
        )

    def test_retries_succeed_after_429s(self):
        self.script_sentiment(THROTTLED_RESPONSE, THROTTLED_RESPONSE)
        result = self.run_service(["--retries", "2"] + self.SENTIMENT_ARGS, AKSK_ENV)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertTrue(result.stdout.startswith(b"label: 1 (positive)\n"), result.stdout)
        self.assertEqual(result.stderr, b"")
        self.assertEqual(self.route_requests("sentiment"), 3)

    def test_zero_retries_fails_at_once(self):
        self.script_sentiment(THROTTLED_RESPONSE)
        result = self.run_service(["--retries", "0"] + self.SENTIMENT_ARGS, AKSK_ENV)
        line = self.assert_one_line_failure(result, "hwai: sentiment analysis failed: ")
        self.assertIn("HTTP 429", line)
        self.assertIn("APIG.0308", line)
        self.assertNotIn("attempts", line)
        self.assertEqual(self.route_requests("sentiment"), 1)

    def test_last_failure_names_attempt_count(self):
        self.script_sentiment(THROTTLED_RESPONSE, THROTTLED_RESPONSE)
        result = self.run_service(["--retries", "1"] + self.SENTIMENT_ARGS, AKSK_ENV)
        line = self.assert_one_line_failure(result, "hwai: sentiment analysis failed: ")
        self.assertRegex(line, r"\(HTTP 429, APIG\.0308, request id [0-9a-f]+, after 2 attempts\)$")
        self.assertEqual(self.route_requests("sentiment"), 2)

    def test_verbose_shows_retry_lines(self):
        self.script_sentiment(THROTTLED_RESPONSE, THROTTLED_RESPONSE)
        result = self.run_service(["-v", "--retries", "2"] + self.SENTIMENT_ARGS, AKSK_ENV)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        retry_lines = [line for line in self.stderr_lines(result) if "retrying in" in line]
        self.assertEqual(len(retry_lines), 2, self.stderr_lines(result))
        self.assertRegex(retry_lines[0], r"attempt 1 failed \(.*APIG\.0308\), retrying in \d+ ms$")
        self.assertRegex(retry_lines[1], r"attempt 2 failed \(.*APIG\.0308\), retrying in \d+ ms$")

    def test_deadline_ends_stalled_call(self):
        self.script_sentiment({"stall_ms": 3000})
        started = time.monotonic()
        result = self.run_service(["--timeout-ms", "500"] + self.SENTIMENT_ARGS, AKSK_ENV)
        elapsed_s = time.monotonic() - started
        line = self.assert_one_line_failure(result, "hwai: sentiment analysis failed: ")
        self.assertIn("timed out", line)
        self.assertLess(elapsed_s, 1.5)
        self.assertEqual(result.stdout, b"")

    def test_http_timeout_ends_one_exchange(self):
        self.script_sentiment({"stall_ms": 3000})
        started = time.monotonic()
        args = ["--retries", "0", "--http-timeout-ms", "500"] + self.SENTIMENT_ARGS
        result = self.run_service(args, AKSK_ENV)
        elapsed_s = time.monotonic() - started
        line = self.assert_one_line_failure(result, "hwai: sentiment analysis failed: ")
        self.assertIn("timed out", line)
        self.assertLess(elapsed_s, 1.5)

    def test_sigint_cancels_stalled_call(self):
        self.script_sentiment({"stall_ms": 5000})
        process = self.start_service(self.SENTIMENT_ARGS, AKSK_ENV)
        self.wait_for_requests("sentiment", 1, 5)
        process.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        stdout, stderr = self.finish_process(process)
        exit_s = time.monotonic() - interrupted
        self.assertLess(exit_s, 1.0)
        self.assertEqual(process.returncode, EXIT_INTERRUPTED, stderr)
        self.assertEqual(stdout, b"")
        lines = stderr.decode("utf-8").splitlines()
        self.assertEqual(lines, ["hwai: sentiment analysis cancelled by Ctrl-C"])

    def test_sigint_cancels_plain_chat(self):
        self.emulator.control("POST", "script", {"route": "chat", "responses": [{"stall_ms": 5000}]})
        process = self.start_service(["chat", "--deployment", "dep-1", "你好"], AKSK_ENV)
        self.wait_for_requests("chat", 1, 5)
        process.send_signal(signal.SIGINT)
        stdout, stderr = self.finish_process(process)
        self.assertEqual(process.returncode, EXIT_INTERRUPTED, stderr)
        self.assertEqual(stdout, b"")
        self.assertEqual(stderr.decode("utf-8").splitlines(), ["hwai: chat cancelled by Ctrl-C"])


def parse_whoami(stdout):
    """Split `hwai auth whoami` text output into a dict of label to value."""
    fields = {}
    for line in stdout.decode("utf-8").splitlines():
        label, _, value = line.partition(": ")
        fields[label] = value
    return fields


def write_profile(home, sk, path=None):
    """Write a profile file with the emulator's AK and project id, by default
    HOME/.huaweicloud/credentials, and return its path."""
    if path is None:
        directory = os.path.join(home, ".huaweicloud")
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "credentials")
    with open(path, "w", encoding="utf-8") as file:
        file.write(
            "[basic]\nak = %s\nsk = %s\nproject_id = %s\n" % (EMULATOR_AK, sk, EMULATOR_PROJECT_ID)
        )
    return path


class CredentialsTest(EmulatorTestCase):
    SENTIMENT_ARGS = ["nlp", "sentiment", "很好"]

    def setUp(self):
        super().setUp()
        self.home = tempfile.TemporaryDirectory()
        self.addCleanup(self.home.cleanup)

    def write_profile(self, sk, path=None):
        return write_profile(self.home.name, sk, path)

    def test_profile_file_in_home(self):
        self.write_profile(EMULATOR_SK)
        result = self.run_service(self.SENTIMENT_ARGS, {"HOME": self.home.name})
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertTrue(result.stdout.startswith(b"label: 1 (positive)\n"), result.stdout)

    def test_credentials_file_variable(self):
        path = self.write_profile(EMULATOR_SK, os.path.join(self.home.name, "other-file"))
        env = {"HUAWEICLOUD_SDK_CREDENTIALS_FILE": path}
        result = self.run_service(["chat", "--deployment", "dep-1", "你好"], env)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))

    def test_environment_wins_over_profile_file(self):
        self.write_profile("wrong-secret-key-in-profile-file")
        from_file = self.run_service(self.SENTIMENT_ARGS, {"HOME": self.home.name})
        line = self.assert_one_line_failure(from_file, "hwai: sentiment analysis failed: ")
        self.assertIn("APIG.0301", line)
        result = self.run_service(self.SENTIMENT_ARGS, dict(AKSK_ENV, HOME=self.home.name))
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))

    def test_missing_credentials_is_usage_error(self):
        result = self.run_service(self.SENTIMENT_ARGS)
        self.assert_usage_error(result, "HUAWEICLOUD_SDK_AK", "--no-auth")
        profile_path = os.path.join(self.empty_home.name, ".huaweicloud", "credentials")
        self.assertIn(profile_path, self.stderr_lines(result)[0])
        self.assertEqual(self.route_requests("sentiment"), 0)

    def test_malformed_profile_file_is_usage_error(self):
        path = os.path.join(self.home.name, "credentials")
        with open(path, "w", encoding="utf-8") as file:
            file.write("[basic]\nak = %s\n" % EMULATOR_AK)
        result = self.run_service(self.SENTIMENT_ARGS, {"HUAWEICLOUD_SDK_CREDENTIALS_FILE": path})
        self.assert_usage_error(result, path)

    def test_iam_user_for_chat_and_sentiment(self):
        project = ["--project-id", EMULATOR_PROJECT_ID]
        chat = self.run_service(IAM_ARGS + project + ["chat", "--deployment", "dep-1", "你好"], IAM_ENV)
        self.assertEqual(chat.returncode, 0, self.stderr_lines(chat))
        self.assertTrue(chat.stdout.decode("utf-8").startswith(CHINESE_REPLY_PREFIX))
        sentiment = self.run_service(IAM_ARGS + project + self.SENTIMENT_ARGS, IAM_ENV)
        self.assertEqual(sentiment.returncode, 0, self.stderr_lines(sentiment))
        self.assertTrue(sentiment.stdout.startswith(b"label: 1 (positive)\n"))
        self.assertEqual(self.route_requests("iam_token"), 2)

    def test_iam_wrong_password_exits_1(self):
        wrong_password = "wrong-iam-password-0123"
        result = self.run_service(
            IAM_ARGS + ["--project-id", EMULATOR_PROJECT_ID] + self.SENTIMENT_ARGS,
            {"HWAI_IAM_PASSWORD": wrong_password},
            extra_secrets=(wrong_password,),
        )
        line = self.assert_one_line_failure(result, "hwai: sentiment analysis failed: ")
        self.assertIn("The username or password is wrong.", line)
        self.assertIn("HTTP 401", line)
        self.assertEqual(self.route_requests("sentiment"), 0)

    def test_iam_password_prompt_on_terminal(self):
        args = [CLI, "--endpoint", self.emulator.base_url] + IAM_ARGS
        args += ["--project-id", EMULATOR_PROJECT_ID] + self.SENTIMENT_ARGS
        environment = self.cli_environment(None)
        pid, fd = pty.fork()
        if pid == 0:
            # The child has the pseudo-terminal as its controlling terminal.
            try:
                os.execve(CLI, args, environment)
            finally:
                os._exit(127)
        output = b""
        try:
            output = self.read_terminal(fd, b": ")
            self.assertEqual(output, b"IAM password for hwai-user: ")
            os.write(fd, EMULATOR_IAM_PASSWORD.encode("utf-8") + b"\n")
            output += self.read_terminal(fd, None)
        finally:
            exit_code = self.wait_child(pid)
            os.close(fd)
        self.assert_no_secrets(output, b"")
        self.assertEqual(exit_code, 0, output)
        self.assertIn(b"label: 1 (positive)", output)
        # With echo off, the terminal shows only the line break after the password.
        self.assertTrue(output.startswith(b"IAM password for hwai-user: \r\n"), output)

    @staticmethod
    def wait_child(pid):
        """Wait up to CLI_TIMEOUT_S for a child, kill it after that, and return its exit code."""
        deadline = time.monotonic() + CLI_TIMEOUT_S
        while time.monotonic() < deadline:
            finished, wait_status = os.waitpid(pid, os.WNOHANG)
            if finished:
                return os.waitstatus_to_exitcode(wait_status)
            time.sleep(0.02)
        os.kill(pid, signal.SIGKILL)
        _, wait_status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(wait_status)

    @staticmethod
    def read_terminal(fd, until):
        """Read from a pseudo-terminal until `until` arrives, or to the end for None."""
        received = b""
        deadline = time.monotonic() + CLI_TIMEOUT_S
        while until is None or not received.endswith(until):
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(remaining, 0))
            if not ready:
                break
            try:
                data = os.read(fd, 4096)
            except OSError:
                # Linux reports the closed far end of a pseudo-terminal as EIO.
                break
            if not data:
                break
            received += data
        return received

    def test_iam_password_without_terminal_is_usage_error(self):
        result = subprocess.run(
            [CLI, "--endpoint", self.emulator.base_url] + IAM_ARGS + self.SENTIMENT_ARGS,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.cli_environment(None),
            timeout=CLI_TIMEOUT_S,
            start_new_session=True,
        )
        self.assert_usage_error(result, "HWAI_IAM_PASSWORD")
        self.assertEqual(self.route_requests("iam_token"), 0)

    def test_no_auth_gets_401(self):
        args = ["--no-auth", "--project-id", EMULATOR_PROJECT_ID] + self.SENTIMENT_ARGS
        result = self.run_service(args)
        line = self.assert_one_line_failure(result, "hwai: sentiment analysis failed: ")
        self.assertIn("HTTP 401", line)

    def test_iam_token_never_printed(self):
        # The proxy records the tokens that IAM issues, so the test can look for them.
        proxy = LoopbackProxy()
        self.addCleanup(proxy.stop)
        args = ["--proxy", proxy.url, "-v"] + IAM_ARGS + ["--project-id", EMULATOR_PROJECT_ID]
        outputs = []
        for command in (self.SENTIMENT_ARGS, ["auth", "whoami"]):
            result = self.run_service(args + command, IAM_ENV)
            self.assertEqual(result.returncode, 0, self.stderr_lines(result))
            outputs.append(result)
        tokens = [
            response_headers["x-subject-token"]
            for target, _, response_headers in proxy.requests
            if target.endswith("/v3/auth/tokens") or "/v3/auth/tokens?" in target
        ]
        self.assertEqual(len(tokens), 2)
        for result in outputs:
            self.assert_no_secrets(result.stdout, result.stderr, tokens)

    def test_api_key_wins_over_iam_user(self):
        args = ["--api-key", EMULATOR_API_KEY] + IAM_ARGS + ["chat", "--model", "qwen", "hi"]
        result = self.run_service(args, extra_secrets=(EMULATOR_API_KEY,))
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertEqual(self.route_requests("iam_token"), 0)


class WhoamiTest(EmulatorTestCase):
    def test_aksk_from_environment(self):
        result = self.run_service(["auth", "whoami"], AKSK_ENV)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertEqual(
            parse_whoami(result.stdout),
            {
                "source": "environment",
                "kind": "aksk",
                "access key": EMULATOR_AK,
                "region": "none",
                "project id": EMULATOR_PROJECT_ID,
                "signing": "SDK-HMAC-SHA256",
            },
        )
        self.assertEqual(result.stderr, b"")

    def test_profile_file(self):
        with tempfile.TemporaryDirectory() as home:
            path = write_profile(home, EMULATOR_SK)
            result = self.run_service(["auth", "whoami"], {"HOME": home})
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        fields = parse_whoami(result.stdout)
        self.assertEqual(fields["source"], "profile file " + path)
        self.assertEqual(fields["kind"], "aksk")
        self.assertEqual(fields["access key"], EMULATOR_AK)
        self.assertEqual(fields["project id"], EMULATOR_PROJECT_ID)

    def test_iam_user_shows_token_expiry(self):
        args = IAM_ARGS + ["--project-id", EMULATOR_PROJECT_ID, "auth", "whoami"]
        result = self.run_service(args, IAM_ENV)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        fields = parse_whoami(result.stdout)
        self.assertEqual(fields["kind"], "iam-password")
        self.assertEqual(fields["access key"], "none")
        self.assertEqual(fields["project id"], EMULATOR_PROJECT_ID)
        self.assertEqual(fields["signing"], "none")
        expires = calendar.timegm(time.strptime(fields["token expires"], "%Y-%m-%dT%H:%M:%SZ"))
        # The emulator issues tokens for one hour.
        self.assertAlmostEqual(expires - time.time(), 3600, delta=120)
        self.assertEqual(self.route_requests("iam_token"), 1)

    def test_json_output(self):
        args = ["--output", "json", "--region", "cn-north-4", "auth", "whoami"]
        result = self.run_service(args, AKSK_ENV)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertEqual(result.stdout.count(b"\n"), 1)
        self.assertEqual(
            json.loads(result.stdout),
            {
                "source": "environment",
                "kind": "aksk",
                "access_key": EMULATOR_AK,
                "region": "cn-north-4",
                "project_id": EMULATOR_PROJECT_ID,
                "signing": "SDK-HMAC-SHA256",
                "token_expires": None,
            },
        )

    def test_api_key(self):
        result = self.run_service(
            ["--api-key", EMULATOR_API_KEY, "auth", "whoami", "--service", "maas"],
            extra_secrets=(EMULATOR_API_KEY,),
        )
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        fields = parse_whoami(result.stdout)
        self.assertEqual(fields["kind"], "api-key")
        self.assertEqual(fields["access key"], "none")

    def test_unknown_service_is_usage_error(self):
        result = self.run_service(["auth", "whoami", "--service", "translate"], AKSK_ENV)
        self.assert_usage_error(result, "translate", "modelarts")


class LoopbackProxy:
    """A forward HTTP proxy on a free loopback port. It records each request as
    (target, request headers, response headers), with lower-case header names."""

    def __init__(self):
        self.requests = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, headers, data = proxy.forward(self, body)
                request_headers = {name.lower(): value for name, value in self.headers.items()}
                response_headers = {name.lower(): value for name, value in headers}
                proxy.requests.append((self.path, request_headers, response_headers))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def forward(handler, body):
        """Send the request to its absolute URL and return (status, headers, body)."""
        skipped = {"proxy-authorization", "proxy-connection", "connection", "content-length"}
        request = urllib.request.Request(handler.path, body, method=handler.command)
        for name, value in handler.headers.items():
            if name.lower() not in skipped:
                request.add_header(name, value)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as response:
                answer = response
                data = response.read()
        except urllib.error.HTTPError as error:
            answer = error
            data = error.read()
        kept = [
            (name, value)
            for name, value in answer.headers.items()
            if name.lower() in ("content-type", "x-request-id", "x-subject-token")
        ]
        return answer.status, kept, data

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class RegionTest(EmulatorTestCase):
    """Per-service endpoints and regions, project ids per region, signing
    algorithms and the proxy. Most tests use --service-endpoint instead of
    --endpoint, so that the region settings decide."""

    SENTIMENT_ARGS = ["nlp", "sentiment", "很好"]
    AKSK_WITHOUT_PROJECT = {"HUAWEICLOUD_SDK_AK": EMULATOR_AK, "HUAWEICLOUD_SDK_SK": EMULATOR_SK}

    def nlp_args(self):
        return ["--region", "cn-north-4", "--service-endpoint", "nlp=" + self.emulator.base_url]

    def test_project_id_looked_up_through_iam(self):
        args = self.nlp_args() + ["--iam-endpoint", self.emulator.base_url] + self.SENTIMENT_ARGS
        result = self.run_cli(args, self.AKSK_WITHOUT_PROJECT)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertTrue(result.stdout.startswith(b"label: 1 (positive)\n"), result.stdout)
        self.assertEqual(self.route_requests("iam_projects"), 1)
        self.assertEqual(self.route_requests("sentiment"), 1)

    def test_region_project_skips_lookup(self):
        args = self.nlp_args() + ["--region-project", "cn-north-4=" + EMULATOR_PROJECT_ID]
        result = self.run_cli(args + self.SENTIMENT_ARGS, self.AKSK_WITHOUT_PROJECT)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertEqual(self.route_requests("iam_projects"), 0)

    def test_region_project_id_is_sent(self):
        other_project = "ffffffffffffffffffffffffffffffff"
        args = self.nlp_args() + ["--region-project", "cn-north-4=" + other_project]
        result = self.run_cli(args + self.SENTIMENT_ARGS, self.AKSK_WITHOUT_PROJECT)
        line = self.assert_one_line_failure(result, "hwai: sentiment analysis failed: ")
        self.assertIn("HTTP 404", line)
        self.assertIn(other_project, line)

    def test_service_region_selects_project(self):
        args = self.nlp_args() + [
            "--service-region",
            "nlp=cn-south-1",
            "--region-project",
            "cn-north-4=ffffffffffffffffffffffffffffffff",
            "--region-project",
            "cn-south-1=" + EMULATOR_PROJECT_ID,
        ]
        whoami = self.run_cli(args + ["auth", "whoami"], self.AKSK_WITHOUT_PROJECT)
        self.assertEqual(whoami.returncode, 0, self.stderr_lines(whoami))
        fields = parse_whoami(whoami.stdout)
        self.assertEqual(fields["region"], "cn-south-1")
        self.assertEqual(fields["project id"], EMULATOR_PROJECT_ID)
        result = self.run_cli(args + self.SENTIMENT_ARGS, self.AKSK_WITHOUT_PROJECT)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))

    def test_v11_signing_is_accepted(self):
        args = ["--signing-algorithm", "V11-HMAC-SHA256"] + self.nlp_args()
        whoami = self.run_cli(args + ["auth", "whoami"], AKSK_ENV)
        self.assertEqual(whoami.returncode, 0, self.stderr_lines(whoami))
        self.assertEqual(parse_whoami(whoami.stdout)["signing"], "V11-HMAC-SHA256")
        result = self.run_cli(args + self.SENTIMENT_ARGS, AKSK_ENV)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertEqual(self.emulator.control("GET", "stats")["auth_failures"], 0)

    def test_proxy_with_user(self):
        proxy = LoopbackProxy()
        self.addCleanup(proxy.stop)
        args = ["--endpoint", self.emulator.base_url, "--proxy", proxy.url, "--proxy-user", "tester"]
        env = dict(AKSK_ENV, HWAI_PROXY_PASSWORD=PROXY_PASSWORD)
        result = self.run_cli(args + self.SENTIMENT_ARGS, env)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        self.assertEqual(len(proxy.requests), 1)
        target, request_headers, _ = proxy.requests[0]
        self.assertTrue(target.startswith(self.emulator.base_url + "/v1/"), target)
        expected = base64.b64encode(("tester:" + PROXY_PASSWORD).encode("utf-8")).decode("ascii")
        proxy_authorization = request_headers.get("proxy-authorization")
        self.assertTrue(proxy_authorization == "Basic " + expected, "wrong Proxy-Authorization")


class UsageTest(CliTestCase):
    def test_no_command(self):
        self.assert_usage_error(self.run_cli([]), "missing command")

    def test_unknown_command(self):
        self.assert_usage_error(self.run_cli(["translate"]), "translate")

    def test_unknown_option(self):
        self.assert_usage_error(self.run_cli(["--bogus", "chat"]), "--bogus")
        self.assert_usage_error(self.run_cli(["chat", "--bogus", "hi"]), "--bogus")

    def test_unknown_option_hides_its_value(self):
        result = self.run_cli(["--apikey=do-not-echo-this", "chat"])
        self.assert_usage_error(result, "--apikey")
        self.assertNotIn(b"do-not-echo-this", result.stderr)

    def test_usage_error_has_help_hint(self):
        lines = self.stderr_lines(self.run_cli(["chat", "hi"]))
        self.assertEqual(lines[1:], ["Try 'hwai chat --help'."])

    def test_option_without_value(self):
        self.assert_usage_error(self.run_cli(["--endpoint"]), "--endpoint", "requires a value")

    def test_chat_needs_deployment_or_model(self):
        self.assert_usage_error(self.run_cli(["chat", "hi"]), "--deployment", "--model")

    def test_chat_needs_message(self):
        self.assert_usage_error(self.run_cli(["chat", "--model", "m"]), "MESSAGE")

    def test_chat_rejects_second_message(self):
        self.assert_usage_error(self.run_cli(["chat", "--model", "m", "a", "b"]), "'b'")

    def test_chat_help_lists_stream(self):
        result = self.run_cli(["chat", "--help"])
        self.assertEqual(result.returncode, 0)
        self.assertIn(b"--stream", result.stdout)

    def test_chat_rejects_empty_message(self):
        self.assert_usage_error(self.run_cli(["chat", "--model", "m", ""]), "empty")

    def test_pool_needs_deployment(self):
        result = self.run_cli(["chat", "--model", "m", "--pool", "p", "hi"])
        self.assert_usage_error(result, "--pool")

    def test_bad_max_tokens(self):
        for value in ("abc", "0", "-1", "1.5", "", " 5", "5 ", "0x10", "2147483648", "1e3"):
            with self.subTest(value=value):
                result = self.run_cli(["chat", "--model", "m", "--max-tokens", value, "hi"])
                self.assert_usage_error(result, "--max-tokens", "'%s'" % value)

    def test_bad_temperature(self):
        for value in ("x", "nan", "inf", "-0.1", "1e999", "0.5x"):
            with self.subTest(value=value):
                result = self.run_cli(["chat", "--model", "m", "--temperature", value, "hi"])
                self.assert_usage_error(result, "--temperature", "'%s'" % value)

    def test_bad_top_p(self):
        for value in ("0", "1.01", "-1"):
            with self.subTest(value=value):
                result = self.run_cli(["chat", "--model", "m", "--top-p=" + value, "hi"])
                self.assert_usage_error(result, "--top-p", "'%s'" % value)

    def test_bad_timeout(self):
        options = ("--timeout-ms", "--http-timeout-ms", "--connect-timeout-ms", "--idle-timeout-ms")
        for option in options:
            for value in ("0", "-5", "4294967296", "ten"):
                with self.subTest(option=option, value=value):
                    result = self.run_cli([option, value, "chat", "--model", "m", "hi"])
                    self.assert_usage_error(result, option, "'%s'" % value)

    def test_bad_retries(self):
        for value in ("-1", "10", "two", ""):
            with self.subTest(value=value):
                result = self.run_cli(["--retries", value, "chat", "--model", "m", "hi"])
                self.assert_usage_error(result, "--retries", "'%s'" % value, "0 to 9")

    def test_unknown_service_lists_names(self):
        for option in ("--service-region", "--service-endpoint"):
            with self.subTest(option=option):
                result = self.run_cli([option, "translate=x", "nlp", "sentiment", "x"])
                self.assert_usage_error(result, "'translate'", option, "nlp, pangu, maas")

    def test_service_setting_needs_equals(self):
        for option in ("--service-region", "--service-endpoint", "--region-project"):
            for value in ("nlp", "=x", "nlp="):
                with self.subTest(option=option, value=value):
                    result = self.run_cli([option, value, "nlp", "sentiment", "x"])
                    self.assert_usage_error(result, option, "=")

    def test_bad_signing_algorithm(self):
        result = self.run_cli(["--signing-algorithm", "HMAC-MD5", "nlp", "sentiment", "x"])
        self.assert_usage_error(result, "HMAC-MD5", "V11-HMAC-SHA256")

    def test_options_that_go_together(self):
        cases = (
            (["--iam-user", "u"], "--iam-domain"),
            (["--iam-domain", "d"], "--iam-user"),
            (["--client-cert", "c.pem"], "--client-key"),
            (["--client-key", "k.pem"], "--client-cert"),
            (["--proxy-user", "u"], "--proxy"),
        )
        for args, expected in cases:
            with self.subTest(args=args):
                result = self.run_cli(args + ["nlp", "sentiment", "x"])
                self.assert_usage_error(result, expected)

    def test_proxy_without_scheme_is_not_echoed(self):
        result = self.run_cli(["--proxy", "user:secret-word@proxy:3128", "nlp", "sentiment", "x"])
        self.assert_usage_error(result, "--proxy", "http://")
        self.assertNotIn(b"secret-word", result.stderr)

    def test_missing_client_certificate_file(self):
        with tempfile.TemporaryDirectory() as directory:
            cert = os.path.join(directory, "missing-cert.pem")
            key = os.path.join(directory, "missing-key.pem")
            args = ["--endpoint", "http://127.0.0.1:9", "--no-auth", "--client-cert", cert]
            args += ["--client-key", key, "nlp", "sentiment", "x"]
            result = self.run_cli(args)
        self.assert_usage_error(result, cert)

    def test_bad_output_format(self):
        self.assert_usage_error(self.run_cli(["--output", "xml", "chat"]), "--output", "xml")

    def test_bad_sentiment_lang(self):
        self.assert_usage_error(self.run_cli(["nlp", "sentiment", "--lang", "fr", "x"]), "--lang")

    def test_nlp_needs_subcommand(self):
        self.assert_usage_error(self.run_cli(["nlp"]), "subcommand")
        self.assert_usage_error(self.run_cli(["nlp", "segment", "x"]), "segment")

    def test_help_and_version(self):
        help_commands = (
            ["--help"],
            ["auth", "--help"],
            ["auth", "whoami", "--help"],
            ["chat", "--help"],
            ["nlp", "--help"],
            ["nlp", "sentiment", "--help"],
            ["sign", "-h"],
        )
        for args in help_commands:
            with self.subTest(args=args):
                result = self.run_cli(args)
                self.assertEqual(result.returncode, 0)
                self.assertTrue(result.stdout.startswith(b"Usage: hwai"), result.stdout)
                self.assertEqual(result.stderr, b"")
        result = self.run_cli(["--version"])
        self.assertEqual(result.returncode, 0)
        version = result.stdout.decode("utf-8")
        self.assertRegex(version, r"^hwai \d+\.\d+\.\d+ \(libhwai \d+\.\d+\.\d+\)\n$")

    def test_help_names_units_and_options(self):
        text = self.run_cli(["--help"]).stdout.decode("utf-8")
        for option in (
            "--retries",
            "--timeout-ms",
            "--http-timeout-ms",
            "--connect-timeout-ms",
            "--idle-timeout-ms",
            "--iam-user",
            "--no-auth",
            "--service-region",
            "--service-endpoint",
            "--region-project",
            "--iam-endpoint",
            "--signing-algorithm",
            "--ca-path",
            "--client-cert",
            "--proxy-user",
            "HWAI_IAM_PASSWORD",
            "HWAI_PROXY_PASSWORD",
        ):
            with self.subTest(option=option):
                self.assertIn(option, text)
        for line in text.splitlines():
            if line.strip().startswith(("--timeout-ms", "--http-timeout-ms", "--idle-timeout-ms")):
                self.assertIn("milliseconds", line)

    def test_auth_needs_subcommand(self):
        self.assert_usage_error(self.run_cli(["auth"]), "whoami")
        self.assert_usage_error(self.run_cli(["auth", "login"]), "login")

    def test_global_option_after_command_is_rejected(self):
        self.assert_usage_error(
            self.run_cli(["chat", "--endpoint", "http://127.0.0.1:1", "--model", "m", "hi"]),
            "--endpoint",
        )


class SignTest(CliTestCase):
    vectors = load_sign_vectors() if DATA_DIR else []

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not cls.vectors:
            raise unittest.SkipTest("HWAI_TEST_DATA_DIR does not contain sign-vectors.jsonl")

    def setUp(self):
        self.temp_dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.temp_dir.cleanup()

    def vector(self, name):
        return next(vector for vector in self.vectors if vector["name"] == name)

    def body_file(self, vector):
        path = os.path.join(self.temp_dir.name, vector["name"] + ".body")
        with open(path, "wb") as file:
            file.write(vector_body(vector))
        return path

    def sign_args(self, vector, date_as_header=False):
        """Build `hwai sign` arguments; the date goes through --date unless asked otherwise."""
        args = ["sign", "--method", vector["method"], "--url", vector["url"]]
        for name, value in vector["headers"].items():
            if name == "X-Sdk-Date" and not date_as_header:
                args += ["--date", value]
            else:
                args += ["-H", "%s: %s" % (name, value)]
        return args + ["--data-file", self.body_file(vector)]

    def sign_env(self, vector):
        env = {"HUAWEICLOUD_SDK_AK": vector["ak"], "HUAWEICLOUD_SDK_SK": vector["sk"]}
        if vector.get("security_token"):
            env["HUAWEICLOUD_SDK_SECURITY_TOKEN"] = vector["security_token"]
        return env

    def assert_matches_vector(self, result, vector):
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        request_line, headers = parse_signed_output(result.stdout)
        self.assertEqual(request_line, "%s %s" % (vector["method"], vector["request_uri"]))
        authorization = [value for name, value in headers if name == "Authorization"]
        self.assertEqual(authorization, [vector["authorization"]])
        self.assertEqual(
            {name.lower(): value for name, value in headers},
            {name.lower(): value for name, value in vector["headers_after_signing"].items()},
        )

    def sha256_vectors(self):
        return [v for v in self.vectors if "algorithm" not in v and v["error"] is None]

    def test_vectors_with_date_option(self):
        self.assertGreater(len(self.sha256_vectors()), 20)
        for vector in self.sha256_vectors():
            with self.subTest(vector=vector["name"]):
                result = self.run_cli(self.sign_args(vector), self.sign_env(vector))
                self.assert_matches_vector(result, vector)

    def test_vectors_with_date_header(self):
        for vector in self.sha256_vectors():
            with self.subTest(vector=vector["name"]):
                args = self.sign_args(vector, date_as_header=True)
                result = self.run_cli(args, self.sign_env(vector))
                self.assert_matches_vector(result, vector)

    def test_error_vectors_fail(self):
        error_vectors = [v for v in self.vectors if "algorithm" not in v and v["error"]]
        self.assertGreater(len(error_vectors), 0)
        for vector in error_vectors:
            with self.subTest(vector=vector["name"]):
                result = self.run_cli(self.sign_args(vector), self.sign_env(vector))
                self.assertNotEqual(result.returncode, 0)
                self.assertEqual(result.stdout, b"")
                self.assertTrue(result.stderr.startswith(b"hwai: "), result.stderr)

    def test_inline_data_matches_vector(self):
        vector = self.vector("content_type_json_signed")
        args = self.sign_args(vector)
        args = args[: args.index("--data-file")] + ["--data", vector["body"]]
        self.assert_matches_vector(self.run_cli(args, self.sign_env(vector)), vector)

    def test_body_from_stdin(self):
        vector = self.vector("binary_body_hashed")
        args = self.sign_args(vector)
        args[args.index("--data-file") + 1] = "-"
        result = self.run_cli(args, self.sign_env(vector), stdin=vector_body(vector))
        self.assert_matches_vector(result, vector)

    def test_verbose_prints_canonical_request(self):
        vector = self.vector("x_project_id")
        result = self.run_cli(self.sign_args(vector) + ["--verbose"], self.sign_env(vector))
        self.assert_matches_vector(result, vector)
        stderr = result.stderr.decode("utf-8")
        self.assertIn(vector["canonical_request"], stderr)
        self.assertIn(vector["string_to_sign"], stderr)

    def test_project_id_option_adds_header(self):
        vector = self.vector("x_project_id")
        args = self.sign_args(vector)
        header_index = args.index("X-Project-Id: %s" % vector["headers"]["X-Project-Id"])
        del args[header_index - 1 : header_index + 1]
        args += ["--project-id", vector["headers"]["X-Project-Id"]]
        self.assert_matches_vector(self.run_cli(args, self.sign_env(vector)), vector)

    def test_global_project_id_adds_no_header(self):
        vector = self.vector("get_no_query")
        env = dict(self.sign_env(vector), HUAWEICLOUD_SDK_PROJECT_ID=EMULATOR_PROJECT_ID)
        result = self.run_cli(["--project-id", EMULATOR_PROJECT_ID] + self.sign_args(vector), env)
        self.assert_matches_vector(result, vector)

    def test_security_token_is_signed(self):
        vector = self.vector("get_no_query")
        env = dict(self.sign_env(vector), HUAWEICLOUD_SDK_SECURITY_TOKEN="token-for-sign-test")
        result = self.run_cli(self.sign_args(vector), env)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        _, headers = parse_signed_output(result.stdout)
        self.assertIn(("X-Security-Token", "token-for-sign-test"), headers)
        authorization = dict(headers)["Authorization"]
        self.assertIn("x-security-token", authorization)

    def test_date_twice_is_usage_error(self):
        vector = self.vector("get_no_query")
        args = self.sign_args(vector) + ["-H", "x-sdk-date: 20240315T081530Z"]
        self.assert_usage_error(self.run_cli(args, self.sign_env(vector)), "--date")

    def test_project_id_twice_is_usage_error(self):
        vector = self.vector("x_project_id")
        args = self.sign_args(vector) + ["--project-id", "abc"]
        self.assert_usage_error(self.run_cli(args, self.sign_env(vector)), "--project-id")

    def test_malformed_header_is_usage_error(self):
        vector = self.vector("get_no_query")
        for header in ("NoColon", ": value", "Bad Name: value", "X-Line: a\nb"):
            with self.subTest(header=header):
                args = self.sign_args(vector) + ["-H", header]
                self.assert_usage_error(self.run_cli(args, self.sign_env(vector)), "header")

    def test_header_value_is_trimmed(self):
        vector = self.vector("header_uppercase_name")
        args = self.sign_args(vector)
        index = args.index("X-Custom-HEADER: Value")
        args[index] = "X-Custom-HEADER:   Value \t"
        self.assert_matches_vector(self.run_cli(args, self.sign_env(vector)), vector)

    def test_data_and_data_file_conflict(self):
        vector = self.vector("get_no_query")
        args = self.sign_args(vector) + ["--data", "x"]
        self.assert_usage_error(self.run_cli(args, self.sign_env(vector)), "--data")

    def test_unreadable_data_file(self):
        vector = self.vector("get_no_query")
        missing = os.path.join(self.temp_dir.name, "missing.json")
        args = ["sign", "--method", "GET", "--url", vector["url"], "--data-file", missing]
        self.assert_usage_error(self.run_cli(args, self.sign_env(vector)), missing)

    def test_missing_method_or_url(self):
        vector = self.vector("get_no_query")
        env = self.sign_env(vector)
        self.assert_usage_error(self.run_cli(["sign", "--url", vector["url"]], env), "--method")
        self.assert_usage_error(self.run_cli(["sign", "--method", "GET"], env), "--url")

    def test_api_key_alone_is_usage_error(self):
        vector = self.vector("get_no_query")
        args = self.sign_args(vector)
        self.assert_usage_error(self.run_cli(args, {"HWAI_API_KEY": "some-api-key"}), "API key")
        self.assert_usage_error(self.run_cli(["--api-key", "some-api-key"] + args), "API key")

    def test_missing_credentials_is_usage_error(self):
        vector = self.vector("get_no_query")
        self.assert_usage_error(self.run_cli(self.sign_args(vector)), "HUAWEICLOUD_SDK_AK")
        only_ak = {"HUAWEICLOUD_SDK_AK": vector["ak"]}
        result = self.run_cli(self.sign_args(vector), only_ak)
        self.assert_usage_error(result, "HUAWEICLOUD_SDK_SK")

    def algorithm_vector_args(self, vector):
        """Arguments that sign a vector with its own algorithm and scope."""
        args = self.sign_args(vector) + ["--algorithm", vector["algorithm"]]
        if vector["algorithm"] == "V11-HMAC-SHA256":
            args += ["--service", vector["derived_auth_service_name"]]
            args += ["--region", vector["region_id"]]
        return args

    def test_v11_vector(self):
        vector = self.vector("v11_derived_nlp_segment")
        result = self.run_cli(self.algorithm_vector_args(vector), self.sign_env(vector))
        self.assert_matches_vector(result, vector)
        self.assertEqual(result.stderr, b"")

    def test_v11_vector_with_global_signing_algorithm(self):
        vector = self.vector("v11_derived_nlp_segment")
        args = self.algorithm_vector_args(vector)
        del args[args.index("--algorithm") : args.index("--algorithm") + 2]
        args = ["--signing-algorithm", "V11-HMAC-SHA256"] + args
        self.assert_matches_vector(self.run_cli(args, self.sign_env(vector)), vector)

    def test_sm3_vector_or_clear_error(self):
        vector = self.vector("sm3_nlp_segment")
        result = self.run_cli(self.algorithm_vector_args(vector), self.sign_env(vector))
        if result.returncode == 0:
            self.assert_matches_vector(result, vector)
        else:
            # Builds without SM3 report it as unsupported.
            line = self.assert_one_line_failure(result, "hwai: signing failed: ")
            self.assertIn("SM3", line)
            self.assertEqual(result.stdout, b"")

    def test_v11_needs_service_and_region(self):
        vector = self.vector("v11_derived_nlp_segment")
        args = self.algorithm_vector_args(vector)
        without_service = args[: args.index("--service")] + args[args.index("--region") :]
        without_region = args[: args.index("--region")]
        env = self.sign_env(vector)
        self.assert_usage_error(self.run_cli(without_service, env), "--service")
        self.assert_usage_error(self.run_cli(without_region, env), "--region")

    def test_scope_options_need_v11(self):
        vector = self.vector("get_no_query")
        args = self.sign_args(vector) + ["--service", "nlp", "--region", "cn-north-4"]
        result = self.run_cli(args, self.sign_env(vector))
        self.assert_usage_error(result, "--service", "V11-HMAC-SHA256")

    def test_unknown_algorithm(self):
        vector = self.vector("get_no_query")
        args = self.sign_args(vector) + ["--algorithm", "SDK-HMAC-SHA1"]
        result = self.run_cli(args, self.sign_env(vector))
        self.assert_usage_error(result, "SDK-HMAC-SHA1", "SDK-HMAC-SM3")

    def test_credentials_from_profile_file(self):
        vector = self.vector("get_no_query")
        path = os.path.join(self.temp_dir.name, "credentials")
        with open(path, "w", encoding="utf-8") as file:
            file.write("[basic]\nak = %s\nsk = %s\n" % (vector["ak"], vector["sk"]))
        result = self.run_cli(self.sign_args(vector), {"HUAWEICLOUD_SDK_CREDENTIALS_FILE": path})
        self.assert_matches_vector(result, vector)

    def test_iam_user_and_no_auth_cannot_sign(self):
        vector = self.vector("get_no_query")
        env = dict(self.sign_env(vector), HWAI_IAM_PASSWORD=EMULATOR_IAM_PASSWORD)
        for global_args, expected in (
            (["--iam-user", "u", "--iam-domain", "d"], "--iam-user"),
            (["--no-auth"], "--no-auth"),
        ):
            with self.subTest(args=global_args):
                result = self.run_cli(global_args + self.sign_args(vector), env)
                self.assert_usage_error(result, expected, "AK/SK")

    def test_current_date_added_without_date(self):
        vector = self.vector("get_no_query")
        args = ["sign", "--method", "GET", "--url", vector["url"]]
        result = self.run_cli(args, self.sign_env(vector))
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        headers = dict(parse_signed_output(result.stdout)[1])
        self.assertRegex(headers["X-Sdk-Date"], r"^\d{8}T\d{6}Z$")


class SignNetworkTest(EmulatorTestCase):
    def test_sign_opens_no_connection(self):
        before = self.emulator.control("GET", "stats")["tcp_accepted"]
        url = self.emulator.base_url + "/v1/%s/nlu/sentiment" % EMULATOR_PROJECT_ID
        env = {"HUAWEICLOUD_SDK_AK": EMULATOR_AK, "HUAWEICLOUD_SDK_SK": EMULATOR_SK}
        result = self.run_cli(["sign", "--method", "POST", "--url", url, "--data", "{}"], env)
        self.assertEqual(result.returncode, 0, self.stderr_lines(result))
        after = self.emulator.control("GET", "stats")["tcp_accepted"]
        # The stats request itself is the one connection accepted in between.
        self.assertEqual(after, before + 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
