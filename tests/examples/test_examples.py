#!/usr/bin/env python3
"""Run every example program against the emulator.

Usage: test_examples.py EXAMPLE_BINARY...

The emulator comes from $HWAI_EMULATOR, started with $HWAI_PYTHON on a free
loopback port.
"""
import os
import subprocess
import sys
import unittest

EMULATOR_AK = "HWAIEMULATORAK000001"
EMULATOR_SK = "hwai-emulator-sk-0123456789abcdef"
EMULATOR_PROJECT = "0123456789abcdef0123456789abcdef"

EXAMPLES = {}


def start_emulator():
    python = os.environ.get("HWAI_PYTHON", sys.executable)
    script = os.environ["HWAI_EMULATOR"]
    proc = subprocess.Popen(
        [python, script, "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline().strip()
    prefix = "listening on "
    if not line.startswith(prefix):
        proc.kill()
        raise RuntimeError("emulator did not start: %r" % line)
    return proc, line[len(prefix):]


class ExamplesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emulator, cls.endpoint = start_emulator()

    @classmethod
    def tearDownClass(cls):
        cls.emulator.terminate()
        cls.emulator.wait(timeout=10)
        cls.emulator.stdout.close()

    def run_example(self, name, *args, sk=EMULATOR_SK):
        env = {key: value for key, value in os.environ.items() if not key.lower().endswith("_proxy")}
        env.update(
            HWAI_ENDPOINT=self.endpoint,
            HUAWEICLOUD_SDK_AK=EMULATOR_AK,
            HUAWEICLOUD_SDK_SK=sk,
            HUAWEICLOUD_SDK_PROJECT_ID=EMULATOR_PROJECT,
        )
        return subprocess.run(
            [EXAMPLES[name]] + list(args), env=env, capture_output=True, timeout=60
        )

    def test_chat_simple_prints_chinese_reply(self):
        result = self.run_example("chat_simple", "deploy-1", "你好，请介绍一下成都。")
        self.assertEqual(result.returncode, 0, result.stderr)
        reply = result.stdout.decode("utf-8")
        self.assertTrue(any("\u4e00" <= ch <= "\u9fff" for ch in reply))

    def test_chat_stream_prints_whole_reply(self):
        result = self.run_example("chat_stream", "deploy-1", "你好")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("finish reason stop", result.stderr.decode())
        self.assertGreater(len(result.stdout.strip()), 0)

    def test_nlp_sentiment_prints_label(self):
        result = self.run_example("nlp_sentiment", "这家餐厅的服务很好")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b"label: 1 (positive)", result.stdout)
        self.assertIn(b"confidence: ", result.stdout)

    def test_wrong_sk_fails_with_401_message(self):
        result = self.run_example("nlp_sentiment", "好", sk="not-the-secret-key")
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"signature", result.stderr)
        self.assertNotIn(b"not-the-secret-key", result.stdout + result.stderr)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        EXAMPLES[os.path.basename(path)] = path
    unittest.main(argv=sys.argv[:1], verbosity=2)
