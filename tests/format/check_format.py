#!/usr/bin/env python3
"""Check that every C source and header follows the project's .clang-format.

Usage: check_format.py CLANG_FORMAT SOURCE_ROOT

Prints one line per file that differs, then a summary, and exits 1 when any
file differs. Run `clang-format -i FILE` to fix a file.
"""
import os
import subprocess
import sys

FOLDERS = ("include", "lib", "tools", "tests", "examples")


def c_files(root):
    for folder in FOLDERS:
        for directory, _, names in os.walk(os.path.join(root, folder)):
            for name in sorted(names):
                if name.endswith((".c", ".h")):
                    yield os.path.join(directory, name)


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    clang_format, root = sys.argv[1], sys.argv[2]
    checked = differ = 0
    for path in c_files(root):
        checked += 1
        result = subprocess.run(
            [clang_format, "--style=file", "--dry-run", "-Werror", path],
            capture_output=True,
            text=True,
            cwd=root,
        )
        if result.returncode != 0:
            differ += 1
            print("%s: not formatted (run clang-format -i)" % os.path.relpath(path, root))
    print("%d files checked, %d not formatted" % (checked, differ))
    return 1 if differ or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
