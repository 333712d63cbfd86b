// Signed digests of the event log (`ledgerctl digest`, `verify --digest`, `prove`,
// `check-proof`): a Merkle root (crypto/merkle.h) over the stored hash of every event up to
// a global position, in position order, signed with HMAC-SHA256 under LEDGER_DIGEST_KEY or
// with an Ed25519 private key file (keys never enter the database). Kept outside the database, a
// digest proves later that the log up to its position is unchanged, whoever could write to the
// database since: a deleted, inserted, edited or reordered event, or a chain recomputed after an
// edit, changes the root. An inclusion proof shows one event is in the log a digest covers,
// offline.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ledger/pg.h"

namespace audit {

inline constexpr std::size_t kDigestKeyBytesMin = 32;

// The keys of a digest: the HMAC key, or an Ed25519 private key (PEM) to sign and its public
// key (PEM) to check.
struct DigestKeys {
  std::string hmac_key;     // LEDGER_DIGEST_KEY
  std::string private_pem;  // set: sign with Ed25519
  std::string public_pem;   // checks Ed25519 digests
};

inline constexpr const char* kHmacAlgorithm = "hmac-sha256";
inline constexpr const char* kEd25519Algorithm = "ed25519";

struct Digest {
  std::string algorithm = kHmacAlgorithm;  // hmac-sha256 | ed25519
  int64_t position = 0;                    // every event with global_position <= position
  int64_t count = 0;                       // how many events that is
  std::string root;                        // 32 bytes
  std::string created_at;                  // RFC 3339
  std::string signature;  // of signed_text(): 32 bytes (HMAC-SHA256) or 64 (Ed25519)
};

// The text the signature covers:
// "ledger-digest-v1\n<algorithm>\n<position>\n<count>\n<root hex>\n<created_at>".
std::string signed_text(const Digest& digest);
// The digest as its JSON document: {"version":1,"algorithm","position",
// "count","root","created_at","signature"} (hex for root and signature).
std::string digest_json(const Digest& digest);
// Parses digest_json's document; an error message when malformed.
std::variant<Digest, std::string> parse_digest(std::string_view json);
// True when `digest` is signed under `keys` (its algorithm's key must be there).
bool signature_valid(const Digest& digest, const DigestKeys& keys);

// A digest of the log as it is now, up to the settled position (ledger::settled_position),
// signed with Ed25519 when `keys` has a private key, else by the HMAC key (at least
// kDigestKeyBytesMin bytes). Reads every event hash up to it. Throws std::invalid_argument
// for a missing or unusable key.
Digest make_digest(pg::Connection& connection, const DigestKeys& keys);

struct DigestCheck {
  bool ok = false;
  std::string problem;  // the first difference, in words, when not ok
};
// Checks the signature, then recomputes count and root from the database.
DigestCheck verify_digest(pg::Connection& connection, const Digest& digest, const DigestKeys& keys);

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

// The newest digest file write_digest_file left in `directory` (highest position, then
// newest), or nullopt when there is none.
std::optional<std::string> latest_digest_file(const std::string& directory);

// Checks a proof against a digest without a database: the digest's signature, the event's
// hash recomputed from its fields, and the root recomputed from the path.
DigestCheck check_proof(std::string_view proof_json, const Digest& digest, const DigestKeys& keys);

}  // namespace audit
