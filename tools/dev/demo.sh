#!/bin/sh
# Installs what is missing, builds hwai, starts the local emulator of the
# Huawei Cloud endpoints and runs the demo against it: a Pangu chat in Chinese
# and a sentiment analysis. The emulator is stopped on exit.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

sh tools/dev/install-deps.sh
if [ ! -f build/build.ninja ]; then
    meson setup build >/dev/null
fi
meson compile -C build >/dev/null

python=$(command -v python3)
out=$(mktemp)
# A short pause between streamed pieces shows the reply arriving piece by piece.
"$python" tools/emulator/hwai_emulator.py --port 0 --quiet --stream-delay-ms 60 >"$out" &
emulator_pid=$!
trap 'kill "$emulator_pid" 2>/dev/null; wait "$emulator_pid" 2>/dev/null; rm -f "$out"' EXIT INT TERM

endpoint=""
for _ in $(seq 1 100); do
    endpoint=$(sed -n 's/^listening on //p' "$out")
    [ -n "$endpoint" ] && break
    sleep 0.1
done
if [ -z "$endpoint" ]; then
    echo "demo: the emulator did not start" >&2
    exit 1
fi

# The emulator's documented test credentials; against the real cloud, use
# your own AK/SK and project id and leave out --endpoint.
export HUAWEICLOUD_SDK_AK=HWAIEMULATORAK000001
export HUAWEICLOUD_SDK_SK=hwai-emulator-sk-0123456789abcdef
export HUAWEICLOUD_SDK_PROJECT_ID=0123456789abcdef0123456789abcdef

echo "\$ hwai chat --stream --deployment pangu-demo \"请用三句话介绍一下成都。\""
./build/tools/cli/hwai --endpoint "$endpoint" chat --stream --deployment pangu-demo \
    "请用三句话介绍一下成都。"
echo
echo "\$ hwai nlp sentiment \"这家餐厅的服务很好，菜也很好吃。\""
./build/tools/cli/hwai --endpoint "$endpoint" nlp sentiment "这家餐厅的服务很好，菜也很好吃。"
