#!/usr/bin/env bash
# Fuzzing: builds the libFuzzer targets of tests/fuzz with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer in build-fuzz/, then runs each on a scratch copy of its seed
# corpus (tests/fuzz/corpus/NAME is never written) and prints executions, exec/s and coverage.
#   scripts/fuzz.sh                       every target for 60 s
#   scripts/fuzz.sh stripe_event 600      one target for 600 s
#   scripts/fuzz.sh all 600 [-- libFuzzer flags...]
# Exits non-zero when a target crashes or breaks one of its properties, naming the
# reproducer (replay it with build-fuzz/tests/fuzz/NAME_fuzz FILE). Logs, grown corpora and
# artifacts stay in build-fuzz/. scripts/test.sh replays the seed corpora (no clang needed).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib/common.sh"

FUZZ_PACKAGES=(clang libclang-rt-14-dev)
FUZZ_DIR="$ROOT/tests/fuzz"
build_dir="$ROOT/build-fuzz"

usage() {
  sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

all_targets() {
  local source
  for source in "$FUZZ_DIR"/*_fuzz.cc; do
    source=${source##*/}
    echo "${source%_fuzz.cc}"
  done
}

build_targets() {
  ensure_packages
  ensure_apt_packages "${FUZZ_PACKAGES[@]}"
  log "building fuzz targets in $build_dir (clang, libFuzzer, ASan+UBSan)"
  # -O1 without NDEBUG: fast enough to fuzz, and the code's own assertions stay armed.
  cmake -S "$ROOT" -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DLEDGER_SANITIZE=ON -DLEDGER_FUZZ=ON >/dev/null
  cmake --build "$build_dir" -j2 --target "${@/%/_fuzz}"
}

# The last status line libFuzzer printed ("#4096 pulse cov: 812 ft: 2301 ... exec/s: 9000").
last_status() {
  grep -a '^#[0-9]' "$1" | tail -n 1 || true
}

# Shows the latest status line every few seconds while `pid` runs (terminal only).
show_progress() {
  local pid=$1 log_file=$2 name=$3 seconds=$4
  local started=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    if [ -t 2 ]; then
      printf '\r\033[K[%s] %ds/%ds %s' "$name" $((SECONDS - started)) "$seconds" \
        "$(last_status "$log_file" | cut -c1-100)" >&2
    fi
  done
  if [ -t 2 ]; then printf '\n' >&2; fi
}

final_stat() {
  grep -a "^stat::$2:" "$1" | awk '{print $2}' | tail -n 1
}

# One summary line: target, seconds, executions, exec/s, cov, ft, corpus files and bytes.
summarize() {
  local name=$1 seconds=$2 log_file=$3 corpus=$4 outcome=$5
  local status cov ft
  status=$(last_status "$log_file")
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
  printf '%-20s %6ss %12s runs %8s exec/s  cov %-6s ft %-6s corpus %5s files %9s bytes  %s\n' \
    "$name" "$seconds" "$(final_stat "$log_file" number_of_executed_units)" \
    "$(final_stat "$log_file" average_exec_per_sec)" "${cov:-?}" "${ft:-?}" \
    "$(find "$corpus" -type f | wc -l)" "$(du -sb "$corpus" | cut -f1)" "$outcome"
}

# run_target NAME SECONDS [libFuzzer flags...]: returns non-zero on a finding.
run_target() {
  local name=$1 seconds=$2
  shift 2
  local corpus="$build_dir/fuzz-corpus/$name"
  local artifacts="$build_dir/fuzz-artifacts/$name"
  local log_file="$build_dir/fuzz-logs/$name.log"
  rm -rf "$corpus"
  mkdir -p "$corpus" "$artifacts" "${log_file%/*}"
  cp "$FUZZ_DIR/corpus/$name/"* "$corpus/"
  local flags=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
    -artifact_prefix="$artifacts/" -dict="$FUZZ_DIR/json.dict")
  log "fuzzing $name for ${seconds}s (log: $log_file)"
  "$build_dir/tests/fuzz/${name}_fuzz" "${flags[@]}" "$@" "$corpus" >"$log_file" 2>&1 &
  local pid=$!
  show_progress "$pid" "$log_file" "$name" "$seconds"
  local status=0
  wait "$pid" || status=$?
  local outcome="ok"
  if [ "$status" -ne 0 ]; then
    outcome="FAILED (exit $status)"
    tail -n 60 "$log_file" >&2
    grep -a 'Test unit written to' "$log_file" | sed 's/.*Test unit written to /reproducer: /' |
      sort -u >&2 || true
  fi
  summarize "$name" "$seconds" "$log_file" "$corpus" "$outcome" | tee -a "$build_dir/fuzz-summary.txt"
  return "$status"
}

main() {
  local target=${1:-all} seconds=${2:-60}
  [ $# -gt 0 ] && shift
  [ $# -gt 0 ] && shift
  [ "${1:-}" = "--" ] && shift
  [[ "$seconds" =~ ^[0-9]+$ ]] || usage
  local targets
  mapfile -t targets < <(all_targets)
  if [ "$target" != "all" ]; then
    [ -f "$FUZZ_DIR/${target}_fuzz.cc" ] || { log "unknown target $target"; usage; }
    targets=("$target")
  fi
  build_targets "${targets[@]}"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$ROOT/scripts/ubsan.supp"
  local failed=()
  for target in "${targets[@]}"; do
    run_target "$target" "$seconds" "$@" || failed+=("$target")
  done
  if [ ${#failed[@]} -gt 0 ]; then
    log "findings in: ${failed[*]} (reproducers above, logs in $build_dir/fuzz-logs)"
    exit 1
  fi
  log "no findings; summary in $build_dir/fuzz-summary.txt"
}

main "$@"
