#!/usr/bin/env bash
# The layering rule of issue 13: http/ is transport (parsing, auth, limits, replies) and
# usecases/ reaches the ledger through the committer and named reads, so neither holds SQL.
# SQL on the ledger's tables lives in ledger/, projections/ and auth/ (the API key table).
# Run by ctest (LayersTest.NoSqlInTransportOrUseCases); exits 1 naming each offending line.
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
# A statement in a string literal, or a call that runs one.
pattern='"\s*(SELECT|INSERT|UPDATE|DELETE|WITH|BEGIN|COMMIT|COPY)\b|\.exec1?\(|\.pipeline\(|pqxx::(work|transaction|nontransaction|read_transaction)'
found=0
for dir in http usecases; do
  # Comments may name SQL; code may not.
  if grep -nE "$pattern" "$root/$dir"/*.cc "$root/$dir"/*.h | grep -vE '^[^:]+:[0-9]+:\s*//'; then
    found=1
  fi
done
if [ "$found" -ne 0 ]; then
  echo "SQL in http/ or usecases/: move it behind a named read or write in ledger/ or projections/" >&2
  exit 1
fi
echo "no SQL in http/ or usecases/"
