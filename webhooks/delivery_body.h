// Webhook bodies at rest: sealed with AES-256-GCM under a key of their own
// (webhook_body_keys, schema/010), so that erasing a delivery is deleting its key while
// webhook_deliveries stays append-only. Every reader of raw_body opens it through here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ledger/pg.h"

namespace webhooks {

struct SealedBody {
  std::string stored;  // what raw_body holds: nonce || ciphertext || tag
  std::string key;     // what webhook_body_keys holds for the delivery
};

// Seals `raw_body` of delivery (provider, id) under a fresh key; the ciphertext is bound to
// the delivery (it opens under no other provider or id).
SealedBody seal_body(std::string_view provider, std::string_view id, std::string_view raw_body);

// The SQL that reads a delivery's body for open_stored_body: three columns, `raw_body`,
// `sealed`, `secret` (NULL when erased), over deliveries `d` left-joined to their keys `k`.
inline constexpr const char* kBodyColumns = "d.raw_body, d.sealed, k.secret";
inline constexpr const char* kBodyKeyJoin =
    " LEFT JOIN webhook_body_keys k ON k.provider = d.provider"
    " AND k.provider_event_id = d.provider_event_id";

// The body of delivery (provider, id) from the kBodyColumns at `column` of `row`: the stored
// bytes when not sealed (a delivery stored before sealing); the opened plaintext when sealed
// and its key is present; nullopt when erased (no key) or when the key does not open it.
std::optional<std::string> open_stored_body(const pg::Result& rows, int row, int column,
                                            std::string_view provider, std::string_view id);

}  // namespace webhooks
