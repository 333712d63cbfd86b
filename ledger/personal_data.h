// Personal text inside events, sealed under the account's subject key (table
// ledger_subject_keys, schema/010): the hash chain covers the ciphertext, and deleting the
// key erases the text without touching the event (README "Erasure"). Events carry such text
// only in ChurnkeySessionRecorded (survey answer, feedback).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ledger/pg.h"

namespace ledger {

inline constexpr std::string_view kSealedTextPrefix = "sealed:";

// The account's subject key, created on first use (safe under concurrency).
std::string subject_key(pg::Connection& connection, const std::string& account_id);
// The account's subject key, or nullopt when it has none (never had, or erased).
std::optional<std::string> find_subject_key(pg::Connection& connection,
                                            const std::string& account_id);
// The statement that deletes the account's subject key (to run with others in one
// transaction through pg::Connection::pipeline).
pg::Statement erase_subject_key_statement(const std::string& account_id);

// "sealed:" + base64 of `text` sealed under `key` for `account_id`; "" stays "".
std::string seal_text(std::string_view key, const std::string& account_id, std::string_view text);

// The plain text of a stored field: the field itself when it is not sealed (recorded before
// sealing, or empty); opened when `key` opens it; nullopt when it cannot be opened (erased).
std::optional<std::string> open_text(const std::optional<std::string>& key,
                                     const std::string& account_id, std::string_view stored);

}  // namespace ledger
