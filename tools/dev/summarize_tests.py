#!/usr/bin/env python3
"""Sum meson test logs into one line: "N passed, N failed, N skipped".

Each argument is a meson-logs/testlog.json. `--extra NAME=OK|FAIL` adds the
result of a check that ran outside meson, and `--subset LOG` a run of only
some of the tests (such as the valgrind run), counted but not compared; both
are repeatable. Every run must list the same tests
(the same names, in any order); otherwise the summary counts a failure and
says which tests differ. Exit status 1 on any failure.
"""
import json
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}


def read_log(path):
    results = {}
    try:
        with open(path, encoding="utf-8") as log:
            for line in log:
                line = line.strip()
                if line:
                    entry = json.loads(line)
                    results[entry["name"]] = entry["result"]
    except OSError as exc:
        print("cannot read %s: %s" % (path, exc), file=sys.stderr)
    return results


def parse_args(args):
    """Split the command line into (extras, subsets, paths)."""
    extras, subsets, paths = [], [], []
    args = list(args)
    while args:
        arg = args.pop(0)
        if arg == "--extra" and args:
            extras.append(args.pop(0))
        elif arg == "--subset" and args:
            subsets.append(args.pop(0))
        else:
            paths.append(arg)
    return extras, subsets, paths


def count_results(runs):
    """Return (passed, failed, skipped) over every test of every run."""
    passed = failed = skipped = 0
    for results in runs:
        for result in results.values():
            if result in PASSED:
                passed += 1
            elif result in SKIPPED:
                skipped += 1
            else:
                failed += 1
    return passed, failed, skipped


def main(args):
    extras, subsets, paths = parse_args(args)
    runs = [read_log(path) for path in paths]
    passed, failed, skipped = count_results(runs + [read_log(path) for path in subsets])

    for extra in extras:
        name, _, result = extra.partition("=")
        if result == "OK":
            passed += 1
        else:
            print("%s: %s" % (name, result or "no result"), file=sys.stderr)
            failed += 1

    names = [set(results) for results in runs]
    for path, run_names in zip(paths[1:], names[1:]):
        if run_names != names[0]:
            differ = sorted(run_names ^ names[0])
            print("%s ran different tests: %s" % (path, ", ".join(differ)), file=sys.stderr)
            failed += 1
    if not any(runs):
        failed += 1

    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
