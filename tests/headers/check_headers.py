#!/usr/bin/env python3
"""Compile every public header alone, as strict C99 and as C++.

Each header must be self-contained and clean under -pedantic -Werror, so that
users can include any one of them first, from C or C++.

Usage: check_headers.py INCLUDE_DIR C_COMPILER [CXX_COMPILER]
"""
import os
import subprocess
import sys
import tempfile

C_FLAGS = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]
CXX_FLAGS = ["-std=c++11", "-pedantic", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]


def compile_one(compiler, flags, include_dir, header, suffix):
    with tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False) as source:
        source.write('#include <hwai/%s>\n' % header)
        # Including a header twice must be harmless (include guards).
        source.write('#include <hwai/%s>\n' % header)
        source.write("int hwai_header_test_anchor(void);\n")
        path = source.name
    try:
        result = subprocess.run(
            [compiler] + flags + ["-I", include_dir, path],
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(path)
    return result.returncode == 0, result.stderr.strip()


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    include_dir, cc = sys.argv[1], sys.argv[2]
    cxx = sys.argv[3] if len(sys.argv) > 3 else None
    headers = sorted(h for h in os.listdir(os.path.join(include_dir, "hwai")) if h.endswith(".h"))
    passed = failed = skipped = 0
    for header in headers:
        checks = [("C99", cc, C_FLAGS, ".c"), ("C++", cxx, CXX_FLAGS, ".cpp")]
        for label, compiler, flags, suffix in checks:
            if not compiler:
                print("SKIP %s as %s: no C++ compiler found" % (header, label))
                skipped += 1
                continue
            ok, output = compile_one(compiler, flags, include_dir, header, suffix)
            if ok:
                print("PASS %s as %s" % (header, label))
                passed += 1
            else:
                print("FAIL %s as %s:\n%s" % (header, label, output))
                failed += 1
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
