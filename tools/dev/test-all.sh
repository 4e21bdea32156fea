#!/bin/sh
# Installs what is missing and builds hwai twice: plain, and with
# AddressSanitizer plus UndefinedBehaviorSanitizer. Runs every test in both
# builds, the C integration suites once more under valgrind, and a scan of all
# test logs for test secrets. Prints one summary line "N passed, N failed,
# N skipped" over all of it, and exits non-zero when a test fails or when the
# plain and sanitized runs did not run the same tests.
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

# The C integration suites once more under valgrind: no leak, no invalid access.
meson test -C build-test --setup valgrind --suite valgrind --print-errorlogs \
    --num-processes 2 --logbase valgrind || status=1

# Every log line and error text the suites produced, checked for test secrets.
secret_scan=OK
python3 tools/dev/scan_secrets.py \
    build-test/meson-logs/testlog.txt build-sanitize/meson-logs/testlog.txt \
    build-test/meson-logs/valgrind-valgrind.txt || secret_scan=FAIL

python3 tools/dev/summarize_tests.py --extra "secret-scan=$secret_scan" \
    --subset build-test/meson-logs/valgrind-valgrind.json \
    build-test/meson-logs/testlog.json build-sanitize/meson-logs/testlog.json || status=1
exit $status
