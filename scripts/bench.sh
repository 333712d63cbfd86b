#!/usr/bin/env bash
# Runs the benchmarks against a throwaway PostgreSQL with durable settings (fsync and
# synchronous_commit on, the defaults). Prints Google Benchmark's table to the terminal.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib/common.sh"
ensure_packages
build_project "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEDGER_SANITIZE=OFF
pg_dir="$ROOT/build/pg-bench-$$"
port=$(free_port)
trap 'pg_stop "$pg_dir"; rm -rf "$pg_dir"' EXIT
pg_start "$pg_dir" "$port"
psql_url="postgresql://postgres@127.0.0.1:$port"
psql "$psql_url/postgres" -qc "CREATE DATABASE ledger_bench"

export LEDGER_BENCH_DATABASE_URL="$psql_url/ledger_bench"
"$ROOT/build/benchmarks/ledger_bench" "$@"
if [ -x "$ROOT/build/benchmarks/http_bench" ]; then
  "$ROOT/build/benchmarks/http_bench" "$@"
fi
