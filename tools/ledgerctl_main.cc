// ledgerctl: operator commands over the ledger database (DATABASE_URL or --database-url).
//   migrate | verify | replay | reconcile | balance ACCOUNT [--as-of T] | history ACCOUNT [--limit N]
//   export --from T --to T [--format csv|jsonl] [--out FILE]
//   api-key create --name N --scopes reserve,admin | token --sub ACCOUNT [--ttl-seconds S]
// Exit status: 0 success, 1 verification failure, 2 usage or runtime error.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "crypto/digest.h"
#include "http/api_keys.h"
#include "http/identifiers.h"
#include "http/jwt.h"
#include "ledger/migrations.h"
#include "ledger/store.h"
#include "ledger/time_format.h"
#include "audit/export.h"
#include "audit/reconcile.h"
#include "audit/verify.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitVerifyFailed = 1;
constexpr int kExitUsage = 2;
constexpr int64_t kToolIoTimeoutMs = 600'000;

const char* kUsage =
    "usage: ledgerctl [--database-url URL] COMMAND\n"
    "  migrate                               apply schema migrations (idempotent)\n"
    "  verify                                hash chains, immutability, projections == fold\n"
    "  replay                                rebuild projections from the event log\n"
    "  reconcile                             paid invoices <-> allowance grants, one to one\n"
    "  balance ACCOUNT [--as-of RFC3339]     balance now or at an instant\n"
    "  history ACCOUNT [--limit N]           the account's events\n"
    "  export --from T --to T [--format csv|jsonl] [--out FILE]\n"
    "                                        events recorded in [from, to), RFC 3339 bounds\n"
    "  api-key create --name N --scopes S    create a service/admin key (printed once)\n"
    "  token --sub ACCOUNT [--ttl-seconds S] development JWT signed with LEDGER_JWT_SECRET\n";

struct Arguments {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // "--name" -> value
};

// Splits argv into positional words and "--option value" / "--option=value" pairs.
bool parse_arguments(int argc, char** argv, Arguments& args) {
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
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

int run_verify(pg::Connection& connection) {
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

int run_reconcile(pqxx::connection& connection) {
  const auto report = audit::reconcile_stripe(connection);
  std::printf("%lld paid invoices, %lld Stripe grants checked\n",
              static_cast<long long>(report.invoices_checked),
              static_cast<long long>(report.grants_checked));
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
  if (args.positional.size() != 2) return std::fprintf(stderr, "%s", kUsage), kExitUsage;
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
  std::printf(
      "{\"account_id\":\"%s\",\"plan\":\"%s\",\"credits_available\":%lld,"
      "\"credits_reserved\":%lld,\"credits_granted\":%lld,\"credits_spent\":%lld,"
      "\"credits_expired\":%lld,\"version\":%lld}\n",
      account.c_str(), state->plan_id.c_str(), static_cast<long long>(state->credits_available),
      static_cast<long long>(state->credits_reserved),
      static_cast<long long>(state->credits_granted), static_cast<long long>(state->credits_spent),
      static_cast<long long>(state->credits_expired), static_cast<long long>(state->version));
  return kExitOk;
}

int run_history(pg::Connection& connection, const Arguments& args) {
  if (args.positional.size() != 2) return std::fprintf(stderr, "%s", kUsage), kExitUsage;
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

int run_export(pqxx::connection& connection, const Arguments& args) {
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

int run_api_key(pg::Connection& connection, const Arguments& args) {
  if (args.positional.size() != 2 || args.positional[1] != "create") {
    return std::fprintf(stderr, "%s", kUsage), kExitUsage;
  }
  const auto scopes = http::parse_scopes(option(args, "--scopes"));
  if (const auto* error = std::get_if<std::string>(&scopes)) {
    return std::fprintf(stderr, "--scopes: %s\n", error->c_str()), kExitUsage;
  }
  const std::string key =
      http::create_api_key(connection, option(args, "--name"), std::get<0>(scopes));
  std::printf("%s\n", key.c_str());
  std::fprintf(stderr, "store this key now: it is not shown again\n");
  return kExitOk;
}

int run_token(const Arguments& args) {
  const std::string secret = option(args, "--secret", "LEDGER_JWT_SECRET");
  const std::string subject = option(args, "--sub");
  const std::string ttl_text = option(args, "--ttl-seconds");
  const int64_t ttl_s = ttl_text.empty() ? 3600 : std::atoll(ttl_text.c_str());
  if (secret.empty() || !http::is_valid_account_id(subject) || ttl_s < 1 || ttl_s > 30 * 86'400) {
    std::fprintf(stderr, "token needs a valid --sub account id, LEDGER_JWT_SECRET and a ttl of 1..2592000 s\n");
    return kExitUsage;
  }
  std::printf("%s\n", http::issue_dev_token(secret, subject, ttl_s).c_str());
  return kExitOk;
}

int dispatch(const Arguments& args) {
  const std::string& command = args.positional[0];
  if (command == "token") return run_token(args);
  const std::string url = option(args, "--database-url", "DATABASE_URL");
  if (url.empty()) return std::fprintf(stderr, "set DATABASE_URL or --database-url\n"), kExitUsage;
  if (command == "migrate" || command == "reconcile" || command == "export") {
    pqxx::connection connection(url);
    if (command == "reconcile") return run_reconcile(connection);
    if (command == "export") return run_export(connection, args);
    std::printf("applied %d migrations\n", ledger::migrate(connection));
    return kExitOk;
  }
  // Operator tools may scan the whole log: no statement timeout, a generous socket wait.
  pg::Connection connection(pg::ConnectionOptions{url, 0, kToolIoTimeoutMs});
  if (command == "verify") return run_verify(connection);
  if (command == "replay") return run_replay(connection);
  if (command == "balance") return run_balance(connection, args);
  if (command == "history") return run_history(connection, args);
  if (command == "api-key") return run_api_key(connection, args);
  std::fprintf(stderr, "%s", kUsage);
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  Arguments args;
  if (!parse_arguments(argc, argv, args) || args.positional.empty()) {
    std::fprintf(stderr, "%s", kUsage);
    return kExitUsage;
  }
  try {
    return dispatch(args);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "ledgerctl: %s\n", error.what());
    return kExitUsage;
  }
}
