// ledgerctl: operator commands over the ledger database (DATABASE_URL or --database-url):
//   migrate, verify, digest, prove, check-proof, report, replay, reconcile, balance, history,
//   export, api-key (create, list, revoke), prune, redact, export-subject, token; `ledgerctl --help` lists their arguments.
// Every command answers --help. Exit status: 0 success, 1 verification failure, 2 usage or
// runtime error.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "audit/digest.h"
#include "audit/export.h"
#include "audit/reconcile.h"
#include "audit/report.h"
#include "audit/subject.h"
#include "audit/verify.h"
#include "auth/api_keys.h"
#include "auth/identifiers.h"
#include "auth/jwt.h"
#include "crypto/digest.h"
#include "ledger/committer.h"
#include "ledger/json_fields.h"
#include "ledger/migrations.h"
#include "ledger/plans.h"
#include "ledger/retention.h"
#include "ledger/store.h"
#include "ledger/time_format.h"
#include "webhooks/inbox_retention.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitVerifyFailed = 1;
constexpr int kExitUsage = 2;
constexpr int64_t kToolIoTimeoutMs = 600'000;

struct CommandHelp {
  std::string_view name;
  std::string_view synopsis;  // the usage line
  std::string_view details;   // what --help adds
};

constexpr CommandHelp kCommands[] = {
    {"migrate", "migrate", "Applies schema/NNN_*.sql not yet applied, under an advisory lock."},
    {"verify", "verify [--digest FILE [--public-key PEM]]",
     "Immutability triggers present, every hash chain recomputed, versions contiguous, every\n"
     "projection row equal to a fresh fold. Exit 0 clean, 1 naming the first bad event.\n"
     "With --digest: first the digest's signature (LEDGER_DIGEST_KEY, or for an Ed25519\n"
     "digest the public key file --public-key) and its Merkle root\n"
     "recomputed from every event at or below its position, then the checks above."},
    {"digest", "digest [--out FILE] [--key-file PEM]",
     "A signed digest of the log (position, count, Merkle root of the event hashes, time;\n"
     "HMAC-SHA256 under LEDGER_DIGEST_KEY, at least 32 bytes, or Ed25519 with the private key\n"
     "file --key-file; keys are never stored in the database) as JSON, to stdout or FILE.\n"
     "Keep it outside the database."},
    {"prove", "prove ACCOUNT VERSION --digest FILE",
     "The inclusion proof of one event in the log the digest covers (JSON, to stdout)."},
    {"check-proof", "check-proof PROOF_FILE --digest FILE [--public-key PEM]",
     "Checks a proof against a digest without a database: the digest's signature\n"
     "(LEDGER_DIGEST_KEY, or --public-key for Ed25519), the event's hash from its fields and\n"
     "the Merkle path. Exit 0 valid,\n"
     "1 naming what fails."},
    {"report", "report --from T --to T [--format json|csv]",
     "The finance report of [from, to) (RFC 3339): outstanding credits at from, granted by\n"
     "source, refunded, spent by feature, expired, outstanding at to, and whether it ties out\n"
     "(per account, and against the balance projection when to is now or later). Exit 1\n"
     "naming the first account that breaks it."},
    {"replay", "replay", "Rebuilds the projections from the event log."},
    {"reconcile", "reconcile",
     "Every processed invoice.paid has exactly one allowance grant, and every Stripe grant\n"
     "traces to a delivery. Exit 1 naming the first mismatch."},
    {"balance", "balance ACCOUNT [--as-of RFC3339]",
     "Balance now or at an instant, folded from events."},
    {"history", "history ACCOUNT [--limit N]",
     "The account's events (version, time, type, payload, hash)."},
    {"export", "export --from T --to T [--format csv|jsonl] [--out FILE]",
     "Events recorded in [from, to) (RFC 3339 bounds), in global-position order."},
    {"api-key", "api-key create --scopes S [--name N] | api-key list | api-key revoke KEY_OR_ID",
     "create: a service/admin key with scopes reserve,admin (printed once, stored as SHA-256);\n"
     "--name defaults to the scopes.\n"
     "list: id, name, scopes, created, revoked (never the key or its hash).\n"
     "revoke: by the key text or its 16-hex-digit id; revoking twice is harmless. The key is\n"
     "refused (401) from the next request on."},
    {"prune", "prune [--dry-run]",
     "Deletes idempotency records, delivered (or given-up) outbox messages and settled webhook\n"
     "deliveries older than their windows, in bounded batches, and prints the counts; with\n"
     "--dry-run only counts. Never touches ledger_events. Windows in days (0: keep forever):\n"
     "--idempotency-retention-days (LEDGER_IDEMPOTENCY_RETENTION_DAYS, 30),\n"
     "--outbox-retention-days (LEDGER_OUTBOX_RETENTION_DAYS, 30),\n"
     "--webhook-retention-days (LEDGER_WEBHOOK_RETENTION_DAYS, 90)."},
    {"redact", "redact ACCOUNT",
     "Erases the personal data held for ACCOUNT: records PersonalDataErased, then deletes the\n"
     "keys that seal its webhook deliveries and its Churnkey answers (README \"Erasure\").\n"
     "Balances, events and hash chains are unchanged. Prints what it erased as JSON; exit 1\n"
     "when the ledger refuses (no such account). Run again when it says more_left."},
    {"export-subject", "export-subject ACCOUNT [--customer-id ID] [--email E] [--phone P]",
     "Prints as JSON what the service holds about ACCOUNT: its webhook deliveries with their\n"
     "bodies (or \"erased\": true), its Churnkey answers and its erasures. With a customer\n"
     "(a Shopify customers/data_request): only the shop's deliveries that name them."},
    {"token", "token ACCOUNT | token --sub ACCOUNT [--ttl-seconds S]",
     "A development JWT signed with LEDGER_JWT_SECRET (at least 32 bytes)."},
};

std::string usage() {
  std::string text = "usage: ledgerctl [--database-url URL] COMMAND [--help]\n";
  for (const CommandHelp& command : kCommands) {
    text += "  ledgerctl " + std::string(command.synopsis) + "\n";
  }
  return text;
}

const CommandHelp* find_command(std::string_view name) {
  for (const CommandHelp& command : kCommands) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

int usage_error() {
  std::fprintf(stderr, "%s", usage().c_str());
  return kExitUsage;
}

struct Arguments {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // "--name" -> value
};

// Options that take no value.
bool is_switch(const std::string& word) {
  return word == "--help" || word == "-h" || word == "--dry-run";
}

// Splits argv into positional words, switches ("--dry-run": "") and "--option value" /
// "--option=value" pairs.
bool parse_arguments(int argc, char** argv, Arguments& args) {
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (is_switch(word)) {
      args.options[word == "-h" ? "--help" : word] = "";
      continue;
    }
    if (word.rfind("--", 0) != 0) {
      args.positional.push_back(word);
      continue;
    }
    const auto equals = word.find('=');
    if (equals != std::string::npos) {
      args.options[word.substr(0, equals)] = word.substr(equals + 1);
    } else if (i + 1 < argc) {
      args.options[word] = argv[++i];
    } else {
      std::cerr << "option " << word << " needs a value\n";
      return false;
    }
  }
  return true;
}

bool has_option(const Arguments& args, const std::string& name) {
  return args.options.count(name) > 0;
}

std::string option(const Arguments& args, const std::string& name, const char* env = nullptr) {
  if (auto it = args.options.find(name); it != args.options.end()) return it->second;
  if (env != nullptr) {
    if (const char* value = std::getenv(env)) return value;
  }
  return "";
}

void print_progress(int64_t streams, int64_t events) {
  if (isatty(STDERR_FILENO) && streams % 100 == 0) {
    std::fprintf(stderr, "\r%lld streams, %lld events", static_cast<long long>(streams),
                 static_cast<long long>(events));
  }
}

std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The digest named by --digest, or an error message.
std::variant<audit::Digest, std::string> digest_option(const Arguments& args) {
  const std::string path = option(args, "--digest");
  if (path.empty()) return std::string("--digest FILE is required");
  const auto text = read_text_file(path);
  if (!text) return "cannot read " + path;
  return audit::parse_digest(*text);
}

// The digest keys: the HMAC key from the environment only (never a command-line argument),
// PEM files named by --key-file (Ed25519 private key, to sign) and --public-key (to check).
// nullopt (after saying why) when a named file cannot be read.
std::optional<audit::DigestKeys> digest_keys(const Arguments& args) {
  audit::DigestKeys keys;
  if (const char* key = std::getenv("LEDGER_DIGEST_KEY")) keys.hmac_key = key;
  for (const auto& [name, target] :
       {std::pair{"--key-file", &keys.private_pem}, std::pair{"--public-key", &keys.public_pem}}) {
    const std::string path = option(args, name);
    if (path.empty()) continue;
    const auto text = read_text_file(path);
    if (!text) {
      std::fprintf(stderr, "cannot read %s\n", path.c_str());
      return std::nullopt;
    }
    *target = *text;
  }
  return keys;
}

int run_verify(pg::Connection& connection, const Arguments& args) {
  if (!option(args, "--digest").empty()) {
    const auto digest = digest_option(args);
    if (const auto* error = std::get_if<std::string>(&digest)) {
      return std::fprintf(stderr, "%s\n", error->c_str()), kExitUsage;
    }
    const auto keys = digest_keys(args);
    if (!keys) return kExitUsage;
    const audit::DigestCheck check =
        audit::verify_digest(connection, std::get<audit::Digest>(digest), *keys);
    if (!check.ok) {
      std::printf("FAILED digest: %s\n", check.problem.c_str());
      return kExitVerifyFailed;
    }
    std::printf("digest OK: %lld events up to position %lld unchanged\n",
                static_cast<long long>(std::get<audit::Digest>(digest).count),
                static_cast<long long>(std::get<audit::Digest>(digest).position));
  }
  const auto started = std::chrono::steady_clock::now();
  const auto report = audit::verify_ledger(connection, print_progress);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
  if (!report.clean) {
    std::printf("FAILED stream=%s version=%lld: %s\n", report.stream_id.c_str(),
                static_cast<long long>(report.stream_version), report.problem.c_str());
    return kExitVerifyFailed;
  }
  std::printf("OK %lld streams, %lld events verified in %.2f s\n",
              static_cast<long long>(report.streams_checked),
              static_cast<long long>(report.events_checked), seconds);
  return kExitOk;
}

int run_digest(pg::Connection& connection, const Arguments& args) {
  const auto keys = digest_keys(args);
  if (!keys) return kExitUsage;
  if (keys->private_pem.empty() && keys->hmac_key.size() < audit::kDigestKeyBytesMin) {
    std::fprintf(stderr, "set LEDGER_DIGEST_KEY (at least 32 bytes) or --key-file\n");
    return kExitUsage;
  }
  const std::string json = audit::digest_json(audit::make_digest(connection, *keys)) + "\n";
  const std::string path = option(args, "--out");
  if (path.empty()) {
    std::fputs(json.c_str(), stdout);
  } else if (!(std::ofstream(path, std::ios::binary) << json)) {
    return std::fprintf(stderr, "cannot write %s\n", path.c_str()), kExitUsage;
  }
  return kExitOk;
}

int run_prove(pg::Connection& connection, const Arguments& args) {
  if (args.positional.size() != 3) return usage_error();
  const auto digest = digest_option(args);
  if (const auto* error = std::get_if<std::string>(&digest)) {
    return std::fprintf(stderr, "%s\n", error->c_str()), kExitUsage;
  }
  const int64_t version = std::atoll(args.positional[2].c_str());
  if (version < 1) return std::fprintf(stderr, "VERSION must be >= 1\n"), kExitUsage;
  const auto proof =
      audit::prove(connection, args.positional[1], version, std::get<audit::Digest>(digest));
  if (proof.index() == 1) {
    return std::fprintf(stderr, "cannot prove: %s\n", std::get<1>(proof).c_str()),
           kExitVerifyFailed;
  }
  std::printf("%s\n", std::get<0>(proof).c_str());
  return kExitOk;
}

int run_check_proof(const Arguments& args) {
  if (args.positional.size() != 2) return usage_error();
  const auto digest = digest_option(args);
  if (const auto* error = std::get_if<std::string>(&digest)) {
    return std::fprintf(stderr, "%s\n", error->c_str()), kExitUsage;
  }
  const auto proof = read_text_file(args.positional[1]);
  if (!proof) return std::fprintf(stderr, "cannot read %s\n", args.positional[1].c_str()), kExitUsage;
  const auto keys = digest_keys(args);
  if (!keys) return kExitUsage;
  const audit::DigestCheck check = audit::check_proof(*proof, std::get<audit::Digest>(digest), *keys);
  if (!check.ok) {
    std::printf("INVALID: %s\n", check.problem.c_str());
    return kExitVerifyFailed;
  }
  std::printf("VALID: the event is in the log the digest covers\n");
  return kExitOk;
}

int run_report(pg::Connection& connection, const Arguments& args) {
  const auto from_us = ledger::parse_rfc3339(option(args, "--from"));
  const auto to_us = ledger::parse_rfc3339(option(args, "--to"));
  const std::string format = option(args, "--format").empty() ? "json" : option(args, "--format");
  if (!from_us || !to_us || *from_us > *to_us || (format != "json" && format != "csv")) {
    std::fprintf(stderr, "--from and --to must be RFC 3339 with from <= to; --format json|csv\n");
    return kExitUsage;
  }
  const audit::FinanceReport report = audit::finance_report(connection, *from_us, *to_us);
  std::fputs(format == "csv" ? audit::report_csv(report).c_str()
                             : (audit::report_json(report) + "\n").c_str(),
             stdout);
  if (!report.balanced) {
    std::fprintf(stderr, "NOT BALANCED account=%s: %s\n", report.account_id.c_str(),
                 report.problem.c_str());
    return kExitVerifyFailed;
  }
  return kExitOk;
}

int run_replay(pg::Connection& connection) {
  const auto started = std::chrono::steady_clock::now();
  int64_t events_total = 0;
  const int64_t streams = audit::replay_projections(
      connection, [&events_total](int64_t s, int64_t e) {
        events_total = e;
        print_progress(s, e);
      });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("\nreplayed %lld streams, %lld events in %.2f s (%.0f events/s)\n",
              static_cast<long long>(streams), static_cast<long long>(events_total), seconds,
              seconds > 0 ? static_cast<double>(events_total) / seconds : 0.0);
  return kExitOk;
}

int run_reconcile(pg::Connection& connection) {
  const auto report = audit::reconcile_stripe(connection);
  std::printf("%lld paid invoices, %lld Stripe grants checked (%lld erased invoices not)\n",
              static_cast<long long>(report.invoices_checked),
              static_cast<long long>(report.grants_checked),
              static_cast<long long>(report.invoices_erased));
  if (!report.clean) {
    std::printf(
        "FAILED account=%s reference=%s: %s (invoices without grant %lld, with extra grants "
        "%lld, grants without delivery %lld, periods granted twice %lld)\n",
        report.account_id.c_str(), report.reference.c_str(), report.problem.c_str(),
        static_cast<long long>(report.invoices_without_grant),
        static_cast<long long>(report.invoices_with_extra_grants),
        static_cast<long long>(report.grants_without_delivery),
        static_cast<long long>(report.periods_granted_twice));
    return kExitVerifyFailed;
  }
  std::printf("OK\n");
  return kExitOk;
}

int run_balance(pg::Connection& connection, const Arguments& args) {
  if (args.positional.size() != 2) return usage_error();
  const std::string& account = args.positional[1];
  int64_t as_of_us = std::numeric_limits<int64_t>::max();
  if (const std::string text = option(args, "--as-of"); !text.empty()) {
    const auto parsed = ledger::parse_rfc3339(text);
    if (!parsed) return std::fprintf(stderr, "--as-of must be RFC 3339\n"), kExitUsage;
    as_of_us = *parsed;
  }
  const auto state = ledger::fold_stream(connection, account, as_of_us);
  if (!state) {
    std::fprintf(stderr, "account %s has no events by then\n", account.c_str());
    return kExitUsage;
  }
  // Through the JSON writer: an account id may hold any character.
  std::printf("%s\n", ledger::json::object_text([&](ledger::json::Writer& w) {
                        ledger::json::put(w, "account_id", account);
                        ledger::json::put(w, "plan", state->plan_id);
                        ledger::json::put(w, "credits_available", state->credits_available);
                        ledger::json::put(w, "credits_reserved", state->credits_reserved);
                        ledger::json::put(w, "credits_granted", state->credits_granted);
                        ledger::json::put(w, "credits_spent", state->credits_spent);
                        ledger::json::put(w, "credits_expired", state->credits_expired);
                        ledger::json::put(w, "version", state->version);
                      }).c_str());
  return kExitOk;
}

int run_history(pg::Connection& connection, const Arguments& args) {
  if (args.positional.size() != 2) return usage_error();
  const std::string limit_text = option(args, "--limit");
  const int64_t limit = limit_text.empty() ? 1000 : std::atoll(limit_text.c_str());
  if (limit < 1 || limit > 100'000) return std::fprintf(stderr, "--limit: 1..100000\n"), kExitUsage;
  int64_t after = 0;
  int64_t printed = 0;
  while (printed < limit) {
    const auto events =
        ledger::read_stream(connection, args.positional[1], after, std::min<int64_t>(500, limit - printed));
    for (const auto& e : events) {
      std::printf("%lld\t%s\t%s\t%s\t%s\t%s\n", static_cast<long long>(e.stream_version),
                  ledger::format_rfc3339(e.recorded_at_us).c_str(), e.event_type.c_str(),
                  e.payload.c_str(), e.metadata.c_str(), crypto::hex_encode(e.hash).c_str());
      after = e.stream_version;
      ++printed;
    }
    if (events.empty()) break;
  }
  return kExitOk;
}

int run_export(pg::Connection& connection, const Arguments& args) {
  const auto from_us = ledger::parse_rfc3339(option(args, "--from"));
  const auto to_us = ledger::parse_rfc3339(option(args, "--to"));
  const std::string format_text = option(args, "--format").empty() ? "csv" : option(args, "--format");
  if (!from_us || !to_us || *from_us > *to_us || (format_text != "csv" && format_text != "jsonl")) {
    std::fprintf(stderr, "export needs --from and --to (RFC 3339, from <= to) and --format csv|jsonl\n");
    return kExitUsage;
  }
  const auto format =
      format_text == "csv" ? audit::ExportFormat::kCsv : audit::ExportFormat::kJsonLines;
  const std::string path = option(args, "--out");
  std::ofstream file;
  if (!path.empty()) {
    file.open(path, std::ios::binary | std::ios::trunc);
    if (!file) return std::fprintf(stderr, "cannot write %s\n", path.c_str()), kExitUsage;
  }
  std::ostream& out = path.empty() ? std::cout : file;
  const int64_t written = audit::export_events(
      connection, *from_us, *to_us, format, out, [](int64_t events) {
        if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\r%lld events", static_cast<long long>(events));
      });
  out.flush();
  std::fprintf(stderr, "%sexported %lld events\n", isatty(STDERR_FILENO) ? "\n" : "",
               static_cast<long long>(written));
  return out ? kExitOk : kExitUsage;
}

std::string join_scopes(const std::vector<std::string>& scopes) {
  std::string joined;
  for (const std::string& scope : scopes) joined += (joined.empty() ? "" : ",") + scope;
  return joined;
}

int create_api_key(pg::Connection& connection, const Arguments& args) {
  const auto scopes = auth::parse_scopes(option(args, "--scopes"));
  if (const auto* error = std::get_if<std::string>(&scopes)) {
    return std::fprintf(stderr, "--scopes: %s\n", error->c_str()), kExitUsage;
  }
  // Without --name the key is named by its scopes ("reserve,admin"): list shows it so.
  const std::string name =
      has_option(args, "--name") ? option(args, "--name") : join_scopes(std::get<0>(scopes));
  const std::string key = auth::create_api_key(connection, name, std::get<0>(scopes));
  std::printf("%s\n", key.c_str());
  std::fprintf(stderr, "store this key now: it is not shown again\n");
  return kExitOk;
}

int list_api_keys(pg::Connection& connection) {
  std::printf("id\tname\tscopes\tcreated\trevoked\n");
  for (const auth::ApiKeyListing& key : auth::list_api_keys(connection)) {
    std::printf("%s\t%s\t%s\t%s\t%s\n", key.key_id.c_str(), key.name.c_str(),
                join_scopes(key.scopes).c_str(), ledger::format_rfc3339(key.created_at_us).c_str(),
                key.revoked_at_us ? ledger::format_rfc3339(*key.revoked_at_us).c_str() : "-");
  }
  return kExitOk;
}

int revoke_api_key(pg::Connection& connection, const std::string& key_or_id) {
  const auth::ApiKeyRevocation revocation = auth::revoke_api_key(connection, key_or_id);
  switch (revocation.outcome) {
    case auth::RevokeOutcome::kRevoked:
      std::printf("revoked %s at %s\n", revocation.key_id.c_str(),
                  ledger::format_rfc3339(revocation.revoked_at_us).c_str());
      return kExitOk;
    case auth::RevokeOutcome::kAlreadyRevoked:
      std::printf("%s was already revoked at %s\n", revocation.key_id.c_str(),
                  ledger::format_rfc3339(revocation.revoked_at_us).c_str());
      return kExitOk;
    case auth::RevokeOutcome::kNotFound:
      break;
  }
  std::fprintf(stderr, "no API key matches (give the whole key or its 16-hex-digit id)\n");
  return kExitUsage;
}

int run_api_key(pg::Connection& connection, const Arguments& args) {
  const std::string action = args.positional.size() >= 2 ? args.positional[1] : "";
  if (action == "create" && args.positional.size() == 2) return create_api_key(connection, args);
  if (action == "list" && args.positional.size() == 2) return list_api_keys(connection);
  if (action == "revoke" && args.positional.size() == 3) {
    return revoke_api_key(connection, args.positional[2]);
  }
  return usage_error();
}

// A retention window in days from --NAME, else the variable, else `fallback`.
std::optional<int> retention_days(const Arguments& args, const std::string& name, const char* env,
                                  int fallback) {
  const std::string text = option(args, name, env);
  if (text.empty()) return fallback;
  char* end = nullptr;
  const long days = std::strtol(text.c_str(), &end, 10);
  if (*end != '\0' || days < 0 || days > ledger::kRetentionDaysMax) return std::nullopt;
  return static_cast<int>(days);
}

int run_prune(pqxx::connection& connection, const Arguments& args) {
  if (args.positional.size() != 1) return usage_error();
  const auto idempotency =
      retention_days(args, "--idempotency-retention-days", "LEDGER_IDEMPOTENCY_RETENTION_DAYS",
                     ledger::kIdempotencyRetentionDaysDefault);
  const auto outbox =
      retention_days(args, "--outbox-retention-days", "LEDGER_OUTBOX_RETENTION_DAYS",
                     ledger::kOutboxRetentionDaysDefault);
  const auto webhook =
      retention_days(args, "--webhook-retention-days", "LEDGER_WEBHOOK_RETENTION_DAYS",
                     ledger::kWebhookRetentionDaysDefault);
  if (!idempotency || !outbox || !webhook) {
    std::fprintf(stderr, "retention windows are whole days, 0 (keep forever) to %d\n",
                 ledger::kRetentionDaysMax);
    return kExitUsage;
  }
  ledger::RetentionSettings settings;
  settings.idempotency_days = *idempotency;
  settings.outbox_days = *outbox;
  settings.webhook_days = *webhook;
  const bool dry_run = has_option(args, "--dry-run");
  // One run, as ledgerd's periodic one: bounded per table (batches_max * batch_rows rows).
  for (const ledger::PruneCount& count :
       ledger::prune(connection, webhooks::service_prune_targets(settings), settings, dry_run)) {
    if (count.retention_days == 0) {
      std::printf("%s\tkept forever (retention 0)\n", count.name.c_str());
      continue;
    }
    std::printf("%s\t%s %lld rows older than %d days%s\n", count.name.c_str(),
                dry_run ? "would delete" : "deleted", static_cast<long long>(count.rows),
                count.retention_days, count.more_left ? " (more left: run prune again)" : "");
  }
  std::printf("ledger_events\tnever pruned\n");
  return kExitOk;
}

int run_token(const Arguments& args) {
  const std::string secret = option(args, "--secret", "LEDGER_JWT_SECRET");
  // The account as --sub or as the one argument (not both).
  if (args.positional.size() > 2 || (args.positional.size() == 2 && has_option(args, "--sub"))) {
    return usage_error();
  }
  const std::string subject =
      args.positional.size() == 2 ? args.positional[1] : option(args, "--sub");
  const std::string ttl_text = option(args, "--ttl-seconds");
  const int64_t ttl_s = ttl_text.empty() ? 3600 : std::atoll(ttl_text.c_str());
  if (secret.size() < auth::kJwtSecretBytesMin || !auth::is_valid_account_id(subject) ||
      ttl_s < 1 || ttl_s > 30 * 86'400) {
    std::fprintf(stderr,
                 "token needs a valid account id (ACCOUNT or --sub), LEDGER_JWT_SECRET of at least "
                 "%zu bytes (as ledgerd) and a ttl of 1..2592000 s\n",
                 auth::kJwtSecretBytesMin);
    return kExitUsage;
  }
  std::printf("%s\n", auth::issue_dev_token(secret, subject, ttl_s).c_str());
  return kExitOk;
}

// The committer of a one-off tool command: one lane, no sweeper. Its decisions here never
// consult plans (no account is opened), so a minimal catalog stands in for the plans file.
std::unique_ptr<ledger::Committer> start_tool_committer(const std::string& url) {
  auto catalog = ledger::PlanCatalog::parse(
      R"({"plans":[{"id":"free","monthly_credits":0,"pricing":{)"
      R"("humanize":{"base_words":100,"base_credits":1},"detect":{"base_words":100,"base_credits":1}}}]})");
  static const ledger::PlanCatalog plans = std::get<ledger::PlanCatalog>(std::move(catalog));
  ledger::CommitterOptions options;
  options.database_url = url;
  options.lanes = 1;
  options.sweep_interval_ms = 0;
  return ledger::Committer::start(std::move(options), plans);
}

int run_redact(pg::Connection& connection, const Arguments& args, const std::string& url) {
  if (args.positional.size() != 2) return usage_error();
  const std::string& account = args.positional[1];
  const auto committer = start_tool_committer(url);
  const audit::AccountErasure erasure =
      audit::erase_account(connection, *committer, account, "redact:" + crypto::uuid_v4(),
                           "ledgerctl");
  committer->shutdown();
  if (!erasure.outcome.ok()) {
    std::fprintf(stderr, "redact %s refused: %s\n", account.c_str(),
                 std::string(ledger::rejection_code(erasure.outcome.rejection)).c_str());
    return kExitVerifyFailed;
  }
  std::printf("%s\n", ledger::json::object_text([&](ledger::json::Writer& w) {
                        ledger::json::put(w, "account_id", account);
                        ledger::json::put(w, "deliveries_erased", erasure.deliveries_erased);
                        ledger::json::put(w, "subject_key_erased", erasure.subject_key_erased);
                        ledger::json::put(w, "plaintext_deliveries_left", erasure.plaintext_left);
                        ledger::json::put(w, "more_left", erasure.more_left);
                        ledger::json::put(w, "version", erasure.outcome.version);
                      }).c_str());
  return kExitOk;
}

int run_export_subject(pg::Connection& connection, const Arguments& args) {
  if (args.positional.size() != 2) return usage_error();
  std::optional<webhooks::CustomerRef> customer;
  const webhooks::CustomerRef given{option(args, "--customer-id"), option(args, "--email"),
                                    option(args, "--phone")};
  if (!given.id.empty() || !given.email.empty() || !given.phone.empty()) customer = given;
  std::printf("%s\n", audit::export_subject(connection, args.positional[1], customer).c_str());
  return kExitOk;
}

int dispatch(const Arguments& args) {
  const std::string& command = args.positional[0];
  const CommandHelp* help = find_command(command);
  if (help == nullptr) return usage_error();
  if (has_option(args, "--help")) {
    std::printf("usage: ledgerctl [--database-url URL] %s\n%s\n",
                std::string(help->synopsis).c_str(), std::string(help->details).c_str());
    return kExitOk;
  }
  if (command == "token") return run_token(args);
  if (command == "check-proof") return run_check_proof(args);
  const std::string url = option(args, "--database-url", "DATABASE_URL");
  if (url.empty()) return std::fprintf(stderr, "set DATABASE_URL or --database-url\n"), kExitUsage;
  if (command == "migrate" || command == "prune") {
    pqxx::connection connection(url);
    if (command == "prune") return run_prune(connection, args);
    std::printf("applied %d migrations\n", ledger::migrate(connection));
    return kExitOk;
  }
  // Operator tools may scan the whole log: no statement timeout, a generous socket wait.
  pg::Connection connection(pg::ConnectionOptions{url, 0, kToolIoTimeoutMs});
  if (command == "verify") return run_verify(connection, args);
  if (command == "digest") return run_digest(connection, args);
  if (command == "prove") return run_prove(connection, args);
  if (command == "report") return run_report(connection, args);
  if (command == "reconcile") return run_reconcile(connection);
  if (command == "export") return run_export(connection, args);
  if (command == "replay") return run_replay(connection);
  if (command == "balance") return run_balance(connection, args);
  if (command == "history") return run_history(connection, args);
  if (command == "api-key") return run_api_key(connection, args);
  if (command == "redact") return run_redact(connection, args, url);
  if (command == "export-subject") return run_export_subject(connection, args);
  return usage_error();
}

}  // namespace

int main(int argc, char** argv) {
  Arguments args;
  if (!parse_arguments(argc, argv, args)) return usage_error();
  if (args.positional.empty()) {
    if (!has_option(args, "--help")) return usage_error();
    std::printf("%s", usage().c_str());
    return kExitOk;
  }
  try {
    return dispatch(args);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "ledgerctl: %s\n", error.what());
    return kExitUsage;
  }
}
