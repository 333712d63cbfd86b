// Signed digests and inclusion proofs of the event log (audit/digest.h).
#include "audit/digest.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "crypto/digest.h"
#include "crypto/merkle.h"
#include "crypto/signature.h"
#include "ledger/json_fields.h"
#include "ledger/store.h"
#include "ledger/time_format.h"

namespace audit {
namespace {

namespace json = ledger::json;

constexpr int64_t kPageSize = 10'000;
constexpr int64_t kSettleWaitMs = 30'000;

// The leaf hashes of every event with position <= up_to, in position order, and optionally
// the index of the event at `find_position`.
std::vector<std::string> read_leaves(pg::Connection& connection, int64_t up_to,
                                     int64_t find_position = -1, int64_t* found_index = nullptr) {
  std::vector<std::string> leaves;
  int64_t after = 0;
  for (;;) {
    const auto page = ledger::read_hashes_by_position(connection, after, up_to, kPageSize);
    for (const auto& [position, hash] : page) {
      if (position == find_position && found_index != nullptr) {
        *found_index = static_cast<int64_t>(leaves.size());
      }
      leaves.push_back(crypto::merkle_leaf(hash));
      after = position;
    }
    if (static_cast<int64_t>(page.size()) < kPageSize) return leaves;
  }
}

std::optional<std::string> hex_field(const rapidjson::Value& object, const char* key,
                                     std::size_t bytes) {
  const auto text = json::get_string(object, key);
  if (!text) return std::nullopt;
  auto decoded = crypto::hex_decode(*text);
  if (!decoded || decoded->size() != bytes) return std::nullopt;
  return decoded;
}

DigestCheck failed(std::string problem) { return {false, std::move(problem)}; }

std::string invalid_signature(const Digest& digest) {
  return digest.algorithm == kEd25519Algorithm
             ? "the digest's Ed25519 signature is not valid under the public key given"
             : "the digest's signature is not valid under LEDGER_DIGEST_KEY";
}

}  // namespace

std::string signed_text(const Digest& digest) {
  return "ledger-digest-v1\n" + digest.algorithm + "\n" + std::to_string(digest.position) + "\n" +
         std::to_string(digest.count) + "\n" + crypto::hex_encode(digest.root) + "\n" +
         digest.created_at;
}

std::string digest_json(const Digest& digest) {
  return json::object_text([&](json::Writer& w) {
    json::put(w, "version", int64_t{1});
    json::put(w, "algorithm", digest.algorithm);
    json::put(w, "position", digest.position);
    json::put(w, "count", digest.count);
    json::put(w, "root", crypto::hex_encode(digest.root));
    json::put(w, "created_at", digest.created_at);
    json::put(w, "signature", crypto::hex_encode(digest.signature));
  });
}

std::variant<Digest, std::string> parse_digest(std::string_view text) {
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  if (document.HasParseError() || !document.IsObject()) return std::string("not a JSON object");
  const auto algorithm = json::get_string(document, "algorithm");
  if (json::get_int64(document, "version") != 1 || !algorithm ||
      (*algorithm != kHmacAlgorithm && *algorithm != kEd25519Algorithm)) {
    return std::string("unknown digest version or algorithm");
  }
  Digest digest;
  digest.algorithm = *algorithm;
  const auto position = json::get_int64(document, "position");
  const auto count = json::get_int64(document, "count");
  const auto created_at = json::get_string(document, "created_at");
  auto root = hex_field(document, "root", crypto::kSha256Size);
  auto signature = hex_field(document, "signature",
                             digest.algorithm == kHmacAlgorithm ? crypto::kSha256Size : 64);
  if (!position || *position < 0 || !count || *count < 0 || !created_at || !root || !signature) {
    return std::string("a field is missing or malformed");
  }
  digest.position = *position;
  digest.count = *count;
  digest.root = std::move(*root);
  digest.created_at = *created_at;
  digest.signature = std::move(*signature);
  return digest;
}

bool signature_valid(const Digest& digest, const DigestKeys& keys) {
  if (digest.algorithm == kEd25519Algorithm) {
    return !keys.public_pem.empty() &&
           crypto::ed25519_verify(keys.public_pem, signed_text(digest), digest.signature);
  }
  return digest.algorithm == kHmacAlgorithm && keys.hmac_key.size() >= kDigestKeyBytesMin &&
         crypto::constant_time_equal(crypto::hmac_sha256(keys.hmac_key, signed_text(digest)),
                                     digest.signature);
}

Digest make_digest(pg::Connection& connection, const DigestKeys& keys) {
  const bool ed25519 = !keys.private_pem.empty();
  if (!ed25519 && keys.hmac_key.size() < kDigestKeyBytesMin) {
    throw std::invalid_argument("the digest key is too short");
  }
  if (ed25519 && !crypto::ed25519_sign(keys.private_pem, "probe")) {
    throw std::invalid_argument("the key file is not an Ed25519 private key (PEM)");
  }
  Digest digest;
  digest.algorithm = ed25519 ? kEd25519Algorithm : kHmacAlgorithm;
  digest.position = ledger::settled_position(connection, kSettleWaitMs);
  const std::vector<std::string> leaves = read_leaves(connection, digest.position);
  digest.count = static_cast<int64_t>(leaves.size());
  digest.root = crypto::merkle_root(leaves);
  digest.created_at =
      ledger::format_rfc3339(ledger::unix_now_us());
  if (ed25519) {
    auto signature = crypto::ed25519_sign(keys.private_pem, signed_text(digest));
    if (!signature) throw std::invalid_argument("Ed25519 signing failed");
    digest.signature = std::move(*signature);
  } else {
    digest.signature = crypto::hmac_sha256(keys.hmac_key, signed_text(digest));
  }
  return digest;
}

namespace {

// The digest files of `directory`, oldest first (names sort by position, then time).
std::vector<std::filesystem::path> digest_files_oldest_first(const std::string& directory) {
  namespace fs = std::filesystem;
  std::vector<fs::path> digests;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("digest-", 0) == 0 && entry.path().extension() == ".json") {
      digests.push_back(entry.path());
    }
  }
  const auto position_of = [](const fs::path& file) {
    return std::strtoll(file.filename().string().c_str() + 7, nullptr, 10);
  };
  std::sort(digests.begin(), digests.end(), [&](const fs::path& a, const fs::path& b) {
    return std::pair(position_of(a), a.filename().string()) <
           std::pair(position_of(b), b.filename().string());
  });
  return digests;
}

}  // namespace

std::optional<std::string> latest_digest_file(const std::string& directory) {
  const auto digests = digest_files_oldest_first(directory);
  if (digests.empty()) return std::nullopt;
  return digests.back().string();
}

std::string write_digest_file(const std::string& directory, const Digest& digest,
                              std::size_t keep) {
  assert(keep >= 1);
  namespace fs = std::filesystem;
  const auto created_us = ledger::parse_rfc3339(digest.created_at).value_or(0);
  const fs::path path = fs::path(directory) / ("digest-" + std::to_string(digest.position) + "-" +
                                               std::to_string(created_us / 1'000'000) + ".json");
  const fs::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << digest_json(digest) << "\n";
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + temporary.string());
  }
  fs::rename(temporary, path);
  // Retention: the newest `keep` digests.
  const std::vector<fs::path> digests = digest_files_oldest_first(directory);
  for (std::size_t i = 0; i + keep < digests.size(); ++i) fs::remove(digests[i]);
  return path.string();
}

DigestCheck verify_digest(pg::Connection& connection, const Digest& digest,
                          const DigestKeys& keys) {
  if (!signature_valid(digest, keys)) return failed(invalid_signature(digest));
  const std::vector<std::string> leaves = read_leaves(connection, digest.position);
  const int64_t count = static_cast<int64_t>(leaves.size());
  if (count != digest.count) {
    return failed("the log holds " + std::to_string(count) + " events at or below position " +
                  std::to_string(digest.position) + ", the digest " + std::to_string(digest.count) +
                  ": events were " + (count < digest.count ? "deleted" : "inserted"));
  }
  if (crypto::merkle_root(leaves) != digest.root) {
    return failed("the Merkle root of the events at or below position " +
                  std::to_string(digest.position) +
                  " differs from the digest's: an event was edited, replaced or reordered");
  }
  return {true, ""};
}

std::variant<std::string, std::string> prove(pg::Connection& connection,
                                             const std::string& account_id, int64_t version,
                                             const Digest& digest) {
  using Result = std::variant<std::string, std::string>;
  const std::optional<ledger::StoredEvent> event =
      ledger::read_event(connection, account_id, version);
  if (!event) return Result(std::in_place_index<1>, "no such event");
  if (event->global_position > digest.position) {
    return Result(std::in_place_index<1>, "the event is newer than the digest");
  }
  std::string previous_hash(crypto::kSha256Size, '\0');
  if (version > 1) {
    const auto previous = ledger::read_event(connection, account_id, version - 1);
    if (!previous) return Result(std::in_place_index<1>, "the stream has a gap before the event");
    previous_hash = previous->hash;
  }
  int64_t index = -1;
  const std::vector<std::string> leaves =
      read_leaves(connection, digest.position, event->global_position, &index);
  if (index < 0 || static_cast<int64_t>(leaves.size()) != digest.count ||
      crypto::merkle_root(leaves) != digest.root) {
    return Result(std::in_place_index<1>,
                  "the log no longer matches the digest (run verify --digest)");
  }
  const std::vector<std::string> path = crypto::merkle_path(leaves, static_cast<uint64_t>(index));
  std::string path_json = "[";
  for (const std::string& step : path) {
    path_json += (path_json.size() > 1 ? ",\"" : "\"") + crypto::hex_encode(step) + "\"";
  }
  path_json += "]";
  std::string proof = json::object_text([&](json::Writer& w) {
    json::put(w, "account_id", event->stream_id);
    json::put(w, "version", event->stream_version);
    json::put(w, "global_position", event->global_position);
    json::put(w, "event_id", event->event_id);
    json::put(w, "event_type", event->event_type);
    json::put(w, "recorded_at_us", event->recorded_at_us);
    json::put(w, "payload", event->payload);
    json::put(w, "metadata", event->metadata);
    json::put(w, "previous_hash", crypto::hex_encode(previous_hash));
    json::put(w, "hash", crypto::hex_encode(event->hash));
    json::put(w, "leaf_index", index);
    json::put(w, "tree_size", digest.count);
    w.Key("path");
    w.RawValue(path_json.data(), path_json.size(), rapidjson::kArrayType);
    json::put(w, "digest_root", crypto::hex_encode(digest.root));
  });
  return Result(std::in_place_index<0>, std::move(proof));
}

DigestCheck check_proof(std::string_view proof_json, const Digest& digest, const DigestKeys& keys) {
  if (!signature_valid(digest, keys)) return failed(invalid_signature(digest));
  rapidjson::Document proof;
  proof.Parse(proof_json.data(), proof_json.size());
  if (proof.HasParseError() || !proof.IsObject()) return failed("the proof is not a JSON object");
  ledger::StoredEvent event;
  const auto account = json::get_string(proof, "account_id");
  const auto version = json::get_int64(proof, "version");
  const auto event_id = json::get_string(proof, "event_id");
  const auto type = json::get_string(proof, "event_type");
  const auto recorded = json::get_int64(proof, "recorded_at_us");
  const auto payload = json::get_string(proof, "payload");
  const auto metadata = json::get_string(proof, "metadata");
  const auto previous = hex_field(proof, "previous_hash", crypto::kSha256Size);
  const auto hash = hex_field(proof, "hash", crypto::kSha256Size);
  const auto index = json::get_int64(proof, "leaf_index");
  const auto size = json::get_int64(proof, "tree_size");
  const auto path_member = proof.FindMember("path");
  if (!account || !version || !event_id || !type || !recorded || !payload || !metadata ||
      !previous || !hash || !index || *index < 0 || !size || path_member == proof.MemberEnd() ||
      !path_member->value.IsArray()) {
    return failed("the proof lacks a field or has a malformed one");
  }
  event.stream_id = *account;
  event.stream_version = *version;
  event.event_id = *event_id;
  event.event_type = *type;
  event.recorded_at_us = *recorded;
  event.payload = *payload;
  event.metadata = *metadata;
  if (!crypto::constant_time_equal(ledger::event_hash(*previous, event), *hash)) {
    return failed("the event's fields do not hash to the proof's hash");
  }
  if (*size != digest.count) return failed("the proof is for another tree size than the digest's");
  std::vector<std::string> path;
  for (const auto& step : path_member->value.GetArray()) {
    std::optional<std::string> decoded =
        step.IsString()
            ? crypto::hex_decode(std::string_view(step.GetString(), step.GetStringLength()))
            : std::nullopt;
    if (!decoded || decoded->size() != crypto::kSha256Size)
      return failed("a path step is malformed");
    path.push_back(std::move(*decoded));
  }
  const std::optional<std::string> root =
      crypto::merkle_root_from_path(crypto::merkle_leaf(*hash), static_cast<uint64_t>(*index),
                                    static_cast<uint64_t>(*size), path);
  if (!root || *root != digest.root) {
    return failed("the path does not lead to the digest's root: the event is not in that log");
  }
  return {true, ""};
}

}  // namespace audit
