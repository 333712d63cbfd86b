// Sealed personal text of events (ledger/personal_data.h).
#include "ledger/personal_data.h"

#include <stdexcept>

#include "crypto/digest.h"
#include "crypto/seal.h"

namespace ledger {
namespace {

std::string context_of(const std::string& account_id) { return "subject:" + account_id; }

}  // namespace

std::string subject_key(pg::Connection& connection, const std::string& account_id) {
  // Two tries: a concurrent first use may insert between this statement's snapshot and its
  // insert (then the insert does nothing and the row is not yet visible to the snapshot).
  for (int attempt = 0; attempt < 2; ++attempt) {
    const pg::Result rows = connection.exec(
        {"subject_key",
         "WITH created AS (INSERT INTO ledger_subject_keys (account_id, secret)"
         " VALUES ($1, decode($2, 'hex')) ON CONFLICT (account_id) DO NOTHING RETURNING secret)"
         " SELECT secret FROM created UNION ALL"
         " SELECT secret FROM ledger_subject_keys WHERE account_id = $1",
         {account_id, crypto::hex_encode(crypto::new_seal_key())}});
    if (rows.rows() > 0) return rows.bytes(0, 0);
  }
  throw std::runtime_error("the subject key of " + account_id + " could not be read");
}

std::optional<std::string> find_subject_key(pg::Connection& connection,
                                            const std::string& account_id) {
  const pg::Result rows =
      connection.exec({"find_subject_key",
                       "SELECT secret FROM ledger_subject_keys WHERE account_id = $1",
                       {account_id}});
  if (rows.rows() == 0) return std::nullopt;
  return rows.bytes(0, 0);
}

pg::Statement erase_subject_key_statement(const std::string& account_id) {
  return {
      "erase_subject_key", "DELETE FROM ledger_subject_keys WHERE account_id = $1", {account_id}};
}

std::string seal_text(std::string_view key, const std::string& account_id, std::string_view text) {
  if (text.empty()) return "";
  return std::string(kSealedTextPrefix) +
         crypto::base64_encode(crypto::seal(key, text, context_of(account_id)));
}

std::optional<std::string> open_text(const std::optional<std::string>& key,
                                     const std::string& account_id, std::string_view stored) {
  if (stored.substr(0, kSealedTextPrefix.size()) != kSealedTextPrefix) return std::string(stored);
  if (!key) return std::nullopt;
  const std::optional<std::string> sealed =
      crypto::base64_decode(stored.substr(kSealedTextPrefix.size()));
  if (!sealed) return std::nullopt;
  return crypto::open_sealed(*key, *sealed, context_of(account_id));
}

}  // namespace ledger
