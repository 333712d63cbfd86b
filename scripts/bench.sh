#!/usr/bin/env bash
# The benchmarks, in one invocation on one throwaway PostgreSQL with durable settings (fsync
# and synchronous_commit on, the defaults): first the naive baseline and the committer
# (build/benchmarks/ledger_bench), then ledgerd over HTTP (build/benchmarks/http_bench),
# which is given the baseline of the same run. Prints every figure with its ratio to the
# baseline and the machine's load.
#   scripts/bench.sh [--seconds=N] [--threads=N]     (defaults: 10 s per run, 32 callers)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib/common.sh"

seconds=10
threads=32
for arg in "$@"; do
  case "$arg" in
    --seconds=*) seconds="${arg#--seconds=}" ;;
    --threads=*) threads="${arg#--threads=}" ;;
    *) echo "usage: scripts/bench.sh [--seconds=N] [--threads=N]" >&2; exit 2 ;;
  esac
done

ensure_packages
build_project "$ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEDGER_SANITIZE=OFF
pg_dir="$ROOT/build/pg-bench-$$"
port=$(free_port)
trap 'pg_stop "$pg_dir"; rm -rf "$pg_dir"' EXIT
pg_start "$pg_dir" "$port"
psql_url="postgresql://postgres@127.0.0.1:$port"
"$PG_BIN/psql" "$psql_url/postgres" -qc "CREATE DATABASE ledger_bench"
export LEDGER_BENCH_DATABASE_URL="$psql_url/ledger_bench"

log "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
ledger_out=$("$ROOT/build/benchmarks/ledger_bench" --seconds="$seconds" --threads="$threads" |
  tee /dev/stderr)
baseline=$(sed -n 's/^RESULT naive_commands_per_s=\([0-9]*\).*/\1/p' <<<"$ledger_out")
committer=$(sed -n 's/^RESULT .*committer_commands_per_s=\([0-9]*\).*/\1/p' <<<"$ledger_out")
http_out=$("$ROOT/build/benchmarks/http_bench" --seconds="$seconds" --clients="$threads" \
  --baseline="$baseline" | tee /dev/stderr)
reads=$(sed -n 's/^RESULT reads_per_s=\([0-9]*\).*/\1/p' <<<"$http_out")
writes=$(sed -n 's/^RESULT .*writes_per_s=\([0-9]*\).*/\1/p' <<<"$http_out")
p99=$(sed -n 's/^RESULT .*p99_half_ms=\([0-9.]*\).*/\1/p' <<<"$http_out")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo
echo "summary (same run; targets from issue 8):"
printf '  naive baseline                     %8s commands/s\n' "$baseline"
printf '  committer reserve+capture          %8s commands/s  %sx baseline (target >= 3x)\n' \
  "$committer" "$(ratio "$committer" "$baseline")"
printf '  HTTP reserve+capture               %8s requests/s  %sx baseline (target >= 1.2x)\n' \
  "$writes" "$(ratio "$writes" "$baseline")"
printf '  HTTP GET /credits                  %8s requests/s  %sx the 2,800/s before v2 (target >= 2x)\n' \
  "$reads" "$(ratio "$reads" 2800)"
printf '  HTTP writes at half the peak rate  p99 %s ms (target <= 25 ms)\n' "$p99"
log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
