#!/bin/sh
# Installs the Debian 12 packages hwai needs to build and test, skipping those
# already present. Run as root (or with sudo available).
set -eu

packages="meson ninja-build pkg-config gcc g++ libc6-dev libcurl4-openssl-dev
libjansson-dev libmbedtls-dev libcmocka-dev libssl-dev python3 openssl valgrind
clang-format"

missing=""
for pkg in $packages; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

sudo_cmd=""
if [ "$(id -u)" != "0" ]; then
    sudo_cmd="sudo"
fi

echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! $sudo_cmd apt-get install -y --no-install-recommends $missing; then
    $sudo_cmd apt-get update
    # shellcheck disable=SC2086
    $sudo_cmd apt-get install -y --no-install-recommends $missing
fi
