// A data subject's rights over what the service holds (README "Erasure"): the export of
// everything personal held for an account or one of a shop's customers (`ledgerctl
// export-subject`), and the erasure of an account's personal data (`ledgerctl redact`).
// Erasure deletes keys (webhooks/erasure.h, ledger/personal_data.h); the events, their hash
// chains and the balances are untouched.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ledger/committer.h"
#include "ledger/pg.h"
#include "webhooks/erasure.h"

namespace audit {

// Longest export: deliveries and events each (the document says "truncated": true beyond).
inline constexpr int64_t kSubjectExportItemsMax = 100'000;

// The JSON document of what is held about `account_id` (and, when `customer` is set, only
// what names that customer of the shop): every delivery with its opened body, or
// "erased": true; without a customer, the account's Churnkey answers (opened, or erased)
// and its erasures. Read-only.
std::string export_subject(pg::Connection& connection, const std::string& account_id,
                           const std::optional<webhooks::CustomerRef>& customer);

struct AccountErasure {
  ledger::Outcome outcome;        // of the PersonalDataErased command
  int64_t deliveries_erased = 0;  // delivery keys deleted
  bool subject_key_erased = false;
  int64_t plaintext_left = 0;  // deliveries stored before sealing (retention prune)
  bool more_left = false;      // the plan hit its limit: run again
};

// Erases the account's personal data: records PersonalDataErased through `committer`
// (idempotency key `idempotency_key`), then deletes the keys of every delivery of the
// account and its subject key in one transaction. A rejected command (e.g. no such account)
// deletes nothing. Database errors propagate.
AccountErasure erase_account(pg::Connection& connection, ledger::Committer& committer,
                             const std::string& account_id, const std::string& idempotency_key,
                             const std::string& requested_by);

}  // namespace audit
