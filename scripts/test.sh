#!/usr/bin/env bash
# The test command: installs what is missing (Chromium too, for the audit console's browser
# test, and Node with the pinned Redocly CLI that lints docs/openapi.json), builds, lints
# the OpenAPI document, starts a throwaway PostgreSQL 15 under the build tree (stopped at exit) and
# runs every test with CTest; the console test leaves its screenshot in
# <build>/test-artifacts/.
#   scripts/test.sh             RelWithDebInfo build in build/
#   scripts/test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/
# Extra arguments after the flags go to ctest (e.g. -R Committer).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib/common.sh"

build_dir="$ROOT/build"
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEDGER_SANITIZE=OFF)
if [ "${1:-}" = "--sanitize" ]; then
  shift
  build_dir="$ROOT/build-asan"
  cmake_args=(-DCMAKE_BUILD_TYPE=Debug -DLEDGER_SANITIZE=ON)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export LSAN_OPTIONS="suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

ensure_packages
# The audit console's browser test (tests/http/console_test.cc) drives Debian's Chromium.
ensure_apt_packages chromium chromium-driver
log "building in $build_dir"
build_project "$build_dir" "${cmake_args[@]}"

# The OpenAPI document must lint with zero errors (Redocly CLI, pinned by
# scripts/openapi-lint/package-lock.json, installed under the build tree).
command -v node >/dev/null && command -v npm >/dev/null || ensure_apt_packages nodejs npm
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "the OpenAPI lint needs Node.js 20.19 or later (Redocly CLI 2); found $(node --version)" >&2
  exit 1
fi
lint_dir="$build_dir/openapi-lint"
if ! cmp -s "$ROOT/scripts/openapi-lint/package-lock.json" "$lint_dir/package-lock.json" ||
  [ ! -x "$lint_dir/node_modules/.bin/redocly" ]; then
  log "installing the OpenAPI linter"
  mkdir -p "$lint_dir"
  cp "$ROOT/scripts/openapi-lint/package.json" "$ROOT/scripts/openapi-lint/package-lock.json" \
    "$lint_dir/"
  (cd "$lint_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
log "linting docs/openapi.json"
(cd "$ROOT" && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  "$lint_dir/node_modules/.bin/redocly" lint docs/openapi.json --config redocly.yaml)

pg_dir="$build_dir/pg-test-$$"
port=$(free_port)
trap 'pg_stop "$pg_dir"; rm -rf "$pg_dir"' EXIT
log "starting throwaway PostgreSQL on 127.0.0.1:$port"
pg_start "$pg_dir" "$port"
export LEDGER_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
export LEDGER_BUILD_DIR="$build_dir"

ctest --test-dir "$build_dir" --output-on-failure -j2 --timeout 900 "$@"
