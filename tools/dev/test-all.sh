#!/bin/sh
# Installs what is missing, builds hwai twice (plain, and with AddressSanitizer
# plus UndefinedBehaviorSanitizer), runs every test in both builds and prints
# one summary line "N passed, N failed, N skipped" over both runs. Exits
# non-zero when a test fails or when the two runs did not run the same tests.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

sh tools/dev/install-deps.sh || exit 1

status=0
run_suite() {
    dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" -Dwerror=true "$@" >"$dir.setup.log" 2>&1 ||
            { cat "$dir.setup.log"; return 1; }
    fi
    meson compile -C "$dir" || return 1
    meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
}

run_suite build-test || status=1
run_suite build-sanitize -Db_sanitize=address,undefined -Db_lundef=false || status=1

python3 tools/dev/summarize_tests.py \
    build-test/meson-logs/testlog.json build-sanitize/meson-logs/testlog.json || status=1
exit $status
