#!/usr/bin/env python3
"""Fail when a test secret shows up in any test log.

Usage: scan_secrets.py LOG_FILE...

The secrets are the emulator's documented test credentials, the wrong
credentials the tests send on purpose, and every IAM token the emulator
issues (they all start with "MIIhwai"). Each hit is reported by file and line
number, with the secret itself masked.
"""
import re
import sys

SECRETS = [
    "hwai-emulator-sk-0123456789abcdef",
    "hwai-emulator-api-key",
    "hwai-emulator-security-token",
    "hwai-password",
    "wrong-secret-key-0123456789",
    "not-the-secret-key",
    "sk-not-the-right-key",
    "not-the-token",
]
TOKEN = re.compile(r"MIIhwai[A-Za-z0-9_-]{16,}")


def scan(path):
    hits = []
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            for number, line in enumerate(log, 1):
                found = [secret for secret in SECRETS if secret in line]
                if TOKEN.search(line):
                    found.append("an IAM token")
                for secret in found:
                    hits.append((number, secret))
    except OSError as exc:
        print("cannot read %s: %s" % (path, exc), file=sys.stderr)
        return None
    return hits


def main(paths):
    failed = False
    for path in paths:
        hits = scan(path)
        if hits is None:
            failed = True
            continue
        for number, secret in hits:
            masked = secret if secret == "an IAM token" else secret[:4] + "..."
            print("%s:%d: test secret %s appears in the log" % (path, number, masked))
            failed = True
    print("secret scan: %s (%d logs)" % ("FAIL" if failed else "OK", len(paths)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
