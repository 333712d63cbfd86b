#!/usr/bin/env bash
# The run command (README): installs what is missing, builds ledgerd in build/, creates (first
# run) and starts a local PostgreSQL 15 in .data/pg (kept between runs, ignored by git),
# creates the `ledger` database, and runs ledgerd in the foreground on port 8000 (it applies
# the migrations at start). Ctrl-C or SIGTERM stops ledgerd gracefully, then PostgreSQL.
#   scripts/run.sh [ledgerd flags...]
# Variables: LEDGER_BUILD_DIR (build/), LEDGER_PG_PORT (5433), LEDGER_PORT (8000), DATABASE_URL (the local database),
# LEDGER_ADDRESS (0.0.0.0 here, for the local demo; ledgerd's own default is 127.0.0.1),
# LEDGER_JWT_SECRET (unset: a random development secret generated once into
# .data/jwt_secret), and every LEDGER_* of ledgerd.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib/common.sh"

build_dir="${LEDGER_BUILD_DIR:-$ROOT/build}"
pg_dir="$ROOT/.data/pg"
pg_port="${LEDGER_PG_PORT:-5433}"

ensure_packages
log "building ledgerd in $build_dir"
cmake -S "$ROOT" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j2 --target ledgerd
# ledgerctl (tokens, API keys) is a convenience here: its build failing does not stop ledgerd.
if ! cmake --build "$build_dir" -j2 --target ledgerctl >/dev/null 2>&1; then
  log "WARNING: ledgerctl did not build; ledgerd runs without it"
fi

mkdir -p "$ROOT/.data"
if pg_as_owner "$PG_BIN/pg_ctl" -D "$pg_dir" status >/dev/null 2>&1; then
  log "PostgreSQL already running in $pg_dir"
else
  log "starting PostgreSQL in $pg_dir on 127.0.0.1:$pg_port"
  pg_start "$pg_dir" "$pg_port"
fi
trap 'log "stopping PostgreSQL"; pg_stop "$pg_dir"' EXIT

psql=("$PG_BIN/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -qtA)
if [ "$("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'ledger'")" != "1" ]; then
  log "creating database ledger"
  "${psql[@]}" -d postgres -c "CREATE DATABASE ledger"
fi

export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:$pg_port/ledger}"
export LEDGER_PLANS="${LEDGER_PLANS:-$ROOT/config/plans.json}"
export LEDGER_DETECTORS="${LEDGER_DETECTORS:-$ROOT/config/detectors.json}"
export LEDGER_PORT="${LEDGER_PORT:-8000}"
# The local demo is reachable from other machines (e.g. a VM's or container's host); set
# LEDGER_ADDRESS=127.0.0.1 to keep it on this machine only.
export LEDGER_ADDRESS="${LEDGER_ADDRESS:-0.0.0.0}"
secret_file="$ROOT/.data/jwt_secret"
if [ -z "${LEDGER_JWT_SECRET:-}" ]; then
  if [ ! -s "$secret_file" ]; then
    log "generating a random development JWT secret into $secret_file"
    (umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$secret_file")
  fi
  LEDGER_JWT_SECRET=$(cat "$secret_file")
  export LEDGER_JWT_SECRET
  log "JWT secret: $secret_file (development only). Mint a user token with:"
  log "  LEDGER_JWT_SECRET=\$(cat $secret_file) $build_dir/tools/ledgerctl token --sub alice"
fi

log "ledgerd on http://$LEDGER_ADDRESS:$LEDGER_PORT (Ctrl-C to stop)"
"$build_dir/http/ledgerd" "$@" &
ledgerd_pid=$!
# A non-interactive shell's background job ignores SIGINT: forward both signals as SIGTERM.
trap 'kill -TERM "$ledgerd_pid" 2>/dev/null || true' INT TERM
status=0
wait "$ledgerd_pid" || status=$?
if [ "$status" -gt 128 ]; then
  # `wait` returned because a trapped signal arrived: collect ledgerd's own exit status
  # once its drain has finished.
  status=0
  wait "$ledgerd_pid" || status=$?
fi
exit "$status"
