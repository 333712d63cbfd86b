#!/usr/bin/env bash
# The layering rule of issue 13: http/ is transport (parsing, auth, limits, replies) and
# usecases/ reaches the ledger through the committer and named reads, so neither holds SQL.
# SQL on the ledger's tables lives in ledger/, projections/ and auth/ (the API key table).
# Run by ctest (LayersTest.NoSqlInTransportOrUseCases); exits 1 naming each offending line.
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
# A statement in a string literal (raw ones too, any case), or a call that runs one.
pattern='(R"[^(]*\(|")\s*(SELECT|INSERT|UPDATE|DELETE|WITH|BEGIN|COMMIT|COPY)\b|\.exec1?\(|\.(send_)?pipeline\(|pqxx::(work|transaction|nontransaction|read_transaction)'
found=0
for dir in http usecases; do
  if ! ls "$root/$dir"/*.cc >/dev/null 2>&1; then
    echo "no sources in $root/$dir: the check would pass on nothing" >&2
    exit 1
  fi
  # Comments may name SQL; code may not.
  if grep -niE "$pattern" "$root/$dir"/*.cc "$root/$dir"/*.h | grep -vE '^[^:]+:[0-9]+:\s*//'; then
    found=1
  fi
done
if [ "$found" -ne 0 ]; then
  echo "SQL in http/ or usecases/: move it behind a named read or write in ledger/ or projections/" >&2
  exit 1
fi
echo "no SQL in http/ or usecases/"
