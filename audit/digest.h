// Signed digests of the event log (`ledgerctl digest`, `verify --digest`, `prove`,
// `check-proof`): a Merkle root (crypto/merkle.h) over the stored hash of every event up to
// a global position, in position order, signed with HMAC-SHA256 under LEDGER_DIGEST_KEY (a
// key that never enters the database). Kept outside the database, a digest proves later that
// the log up to its position is unchanged, whoever could write to the database since: a
// deleted, inserted, edited or reordered event, or a chain recomputed after an edit, changes
// the root. An inclusion proof shows one event is in the log a digest covers, offline.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ledger/pg.h"

namespace audit {

inline constexpr std::size_t kDigestKeyBytesMin = 32;

struct Digest {
  int64_t position = 0;    // every event with global_position <= position
  int64_t count = 0;       // how many events that is
  std::string root;        // 32 bytes
  std::string created_at;  // RFC 3339
  std::string signature;   // 32 bytes: HMAC-SHA256 of signed_text()
};

// The text the signature covers: "ledger-digest-v1\n<position>\n<count>\n<root hex>\n<created_at>".
std::string signed_text(const Digest& digest);
// The digest as its JSON document: {"version":1,"algorithm":"hmac-sha256","position",
// "count","root","created_at","signature"} (hex for root and signature).
std::string digest_json(const Digest& digest);
// Parses digest_json's document; an error message when malformed.
std::variant<Digest, std::string> parse_digest(std::string_view json);
// True when `digest` is signed by `key`.
bool signature_valid(const Digest& digest, std::string_view key);

// A digest of the log as it is now, up to the settled position (ledger::settled_position),
// signed by `key` (at least kDigestKeyBytesMin bytes). Reads every event hash up to it.
Digest make_digest(pg::Connection& connection, std::string_view key);

struct DigestCheck {
  bool ok = false;
  std::string problem;  // the first difference, in words, when not ok
};
// Checks the signature, then recomputes count and root from the database.
DigestCheck verify_digest(pg::Connection& connection, const Digest& digest, std::string_view key);

// The inclusion proof of event (account, version) in the log `digest` covers, as a JSON
// document (the event's stored fields, the previous hash of its stream, its hash, its leaf
// index, the tree size and the audit path), or an error message.
std::variant<std::string, std::string> prove(pg::Connection& connection,
                                             const std::string& account_id, int64_t version,
                                             const Digest& digest);
// Writes `digest` into `directory` as digest-<position>-<created unix s>.json (a temporary
// file renamed into place, so a reader never sees half a digest), then removes the oldest
// digest files beyond `keep`. Returns the path; throws std::runtime_error when it cannot write.
std::string write_digest_file(const std::string& directory, const Digest& digest, std::size_t keep);

// Checks a proof against a digest without a database: the digest's signature, the event's
// hash recomputed from its fields, and the root recomputed from the path.
DigestCheck check_proof(std::string_view proof_json, const Digest& digest, std::string_view key);

}  // namespace audit
