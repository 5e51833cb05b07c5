#!/usr/bin/env bash
# Installs the Debian packages verifyd needs, only those that are missing.
#   scripts/deps.sh build   - compiler and the libraries the server links
#   scripts/deps.sh test    - the above, plus what the tests need (jansson for the unit tests,
#                             Node.js + npm, curl, Chromium for the hosted page, clang for the
#                             sanitizer build, PostgreSQL 15 for the PostgreSQL backend's tests)
#   scripts/deps.sh bench   - the above, plus wrk
set -euo pipefail
level=${1:-build}
pkgs=(build-essential pkg-config libmicrohttpd-dev libsqlite3-dev libssl-dev
      libcurl4-openssl-dev libpq-dev)
if [ "$level" = test ] || [ "$level" = bench ]; then
    pkgs+=(libcmocka-dev libjansson-dev)              # the unit tests (jansson reads their JSON)
    pkgs+=(curl clang-format chromium)                # chromium: the hosted page's browser tests
    pkgs+=(clang libclang-rt-14-dev)                  # the ASan + UBSan build
    pkgs+=(postgresql)                                # test/pg/pg.sh: the PostgreSQL backend's tests
    command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
    command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi
[ "$level" = bench ] && pkgs+=(wrk)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
