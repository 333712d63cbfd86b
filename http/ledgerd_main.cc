// ledgerd: the credit ledger HTTP service. Flags (gflags) with environment fallbacks: a flag
// given on the command line wins, else its variable (DATABASE_URL, HUMANIZER_URL,
// INTERNAL_DETECTOR_URL, STRIPE_WEBHOOK_SECRET, STRIPE_API_KEY, STRIPE_API_BASE, or LEDGER_ +
// the flag name in upper case, e.g. LEDGER_PORT, LEDGER_JWT_SECRET, LEDGER_PLANS,
// LEDGER_DETECTORS), else the default.
// Start-up: plans, migrations, committer, the database probe, HTTP, the Stripe inbox retry
// loop and the outbox deliverer. SIGTERM/SIGINT: drain, flush, exit 0.
#include <gflags/gflags.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "audit/digest.h"
#include "auth/jwt.h"
#include "crypto/signature.h"
#include "http/billing_routes.h"
#include "http/content_routes.h"
#include "http/database_probe.h"
#include "http/logging.h"
#include "http/server.h"
#include "http/service.h"
#include "ledger/committer.h"
#include "ledger/migrations.h"
#include "ledger/outbox.h"
#include "ledger/plans.h"
#include "ledger/retention.h"
#include "notifications/emails.h"
#include "notifications/stripe_calls.h"
#include "webhooks/inbox_retention.h"
#include "webhooks/stripe_inbox.h"
#include "webhooks/stripe_mode.h"

DEFINE_string(database_url, "", "libpq URL of the ledger database (env DATABASE_URL)");
DEFINE_string(address, "127.0.0.1",
              "address to listen on (0.0.0.0: every interface; scripts/run.sh sets it)");
DEFINE_int32(port, 8000, "TCP port to listen on");
DEFINE_string(jwt_secret, "", "HS256 secret of user tokens (required, at least 32 bytes)");
DEFINE_int64(jwt_leeway_s, 30, "clock skew allowed on exp and nbf, seconds");
DEFINE_string(plans, "config/plans.json", "plans file");
DEFINE_int32(threads, 2, "Pistache reactor threads");
DEFINE_int32(workers, 32,
             "worker threads of the ledger routes, webhooks, health and metrics (each may hold a "
             "database connection)");
DEFINE_int32(worker_queue_max, 1024, "requests waiting for a ledger worker before 503");
DEFINE_int32(outbound_workers, 16,
             "worker threads of the routes that call out (humanize, detect, checkout); each may "
             "hold a database connection");
DEFINE_int32(outbound_queue_max, 64, "requests waiting for an outbound worker before 503");
DEFINE_int32(content_concurrency_per_account, 2,
             "humanize + detect requests one account may have in flight (0: no cap); 429 above");
DEFINE_int64(auth_failures_max, 20,
             "failed authentications per client address per --auth_failure_window_s before "
             "429 (0: no limit)");
DEFINE_int64(auth_failure_window_s, 60, "window of --auth_failures_max, seconds");
DEFINE_int64(auth_failure_addresses_max, 100000,
             "client addresses tracked by the failed-authentication limiter");
DEFINE_bool(trust_forwarded_for, false,
            "key per-address limits on the last X-Forwarded-For address (only behind a proxy "
            "that sets it; otherwise clients could pick their own address)");
DEFINE_int32(connections_max, 1024, "open client connections; above: 503 and closed");
DEFINE_int64(health_check_interval_ms, 1000, "how often the database probe runs SELECT 1");
DEFINE_int64(health_max_age_ms, 3000,
             "/health is 503 when the last successful probe is older than this");
DEFINE_int64(metrics_refresh_ms, 5000,
             "how often the database gauges of /metrics (open reservations) are read");
DEFINE_double(rate_limit_per_s, 50, "requests per second per account (<= 0: unlimited)");
DEFINE_double(rate_limit_burst, 100, "token bucket size per account");
DEFINE_int64(rate_limit_buckets_max, 100000, "accounts tracked by the rate limiter");
DEFINE_int64(max_body_bytes, 256 * 1024, "largest request body, bytes (413 above)");
DEFINE_int64(header_timeout_ms, 5000, "time to receive request headers");
DEFINE_int64(body_timeout_ms, 15000, "time to receive a request body");
DEFINE_int64(keepalive_timeout_ms, 15000, "idle keep-alive connection lifetime");
DEFINE_int64(reservation_ttl_default_s, 600, "reservation ttl when the request names none");
DEFINE_int64(commit_timeout_ms, 10000, "longest wait for the committer before 503");
DEFINE_int64(committer_queue_max, 10000, "commands waiting for the committer");
DEFINE_int64(batch_max, 256, "commands per committed batch");
DEFINE_int64(batch_gather_us, 200,
             "longest wait of a batch smaller than the lane's last for more commands (0: none)");
DEFINE_int32(committer_lanes, 2,
             "writer lanes (each with its own connection); an account always uses the same lane");
DEFINE_int64(sweep_interval_ms, 1000, "expired reservation sweep interval (<= 0: off)");
DEFINE_int64(shutdown_grace_ms, 10000, "time in-flight requests get on SIGTERM");
DEFINE_string(log_level, "info", "spdlog level: trace, debug, info, warn, error");
DEFINE_int64(log_queue_lines, 8192,
             "log lines queued for stdout (about 400 bytes each, allocated at start); when "
             "full the oldest are dropped (counted)");
DEFINE_string(detectors, "config/detectors.json",
              "detectors file (missing at this default path: the internal detector only)");
DEFINE_string(humanizer_url, "", "humanizer model (env HUMANIZER_URL; empty: local rewriter)");
DEFINE_int32(humanizer_parallelism, 4, "humanizer calls in flight per humanize request, 1..16");
DEFINE_int64(humanizer_timeout_ms, 30000, "one humanizer call (per chunk and attempt)");
DEFINE_string(internal_detector_url, "",
              "internal AI detector (env INTERNAL_DETECTOR_URL; empty: built-in heuristic)");
DEFINE_string(stripe_webhook_secret, "",
              "Stripe webhook signing secrets, comma-separated for rotation (env "
              "STRIPE_WEBHOOK_SECRET; empty: every delivery is refused)");
DEFINE_string(stripe_api_key, "", "Stripe secret key (env STRIPE_API_KEY; empty: checkout 503)");
DEFINE_string(churnkey_webhook_secret, "",
              "Churnkey webhook secrets, comma-separated for rotation (env "
              "CHURNKEY_WEBHOOK_SECRET; empty: every delivery is refused)");
DEFINE_string(shopify_webhook_secret, "",
              "Shopify app secrets (webhook HMAC), comma-separated for rotation (env "
              "SHOPIFY_WEBHOOK_SECRET; empty: every delivery is refused)");
DEFINE_string(churnkey_signature_header, "X-Churnkey-Signature",
              "header carrying the Churnkey webhook signature");
DEFINE_string(stripe_api_base, "https://api.stripe.com",
              "Stripe API base URL (env STRIPE_API_BASE)");
DEFINE_int64(stripe_connect_timeout_ms, 3000, "connect timeout of each Stripe API call");
DEFINE_int64(stripe_timeout_ms, 15000, "total timeout of each Stripe API call");
DEFINE_string(checkout_success_url,
              "https://app.wwai.ai/billing/success?session_id={CHECKOUT_SESSION_ID}",
              "where Stripe Checkout sends the customer after paying");
DEFINE_string(checkout_cancel_url, "https://app.wwai.ai/billing/cancel",
              "where Stripe Checkout sends the customer who goes back");
DEFINE_int64(webhook_retry_poll_ms, 1000,
             "how often due Stripe deliveries (parked, or left pending by a failure) are retried");
DEFINE_int64(webhook_retry_base_ms, 5000,
             "backoff after a delivery's first attempt, doubling per attempt");
DEFINE_int64(webhook_retry_max_ms, 3600000, "longest backoff between two attempts of a delivery");
DEFINE_int32(webhook_attempts_max, 12, "attempts before a delivery without an account is failed");
DEFINE_int64(outbox_poll_ms, 1000, "how often the outbox (payment-failed emails) is delivered");
DEFINE_string(smtp_url, "",
              "mail server for the outbox e-mails: smtp://[user:password@]host:port or smtps://...;"
              " empty: e-mails are logged, not sent (env SMTP_URL)");
DEFINE_string(smtp_from, "", "sender address of the outbox e-mails (env SMTP_FROM)");
DEFINE_bool(smtp_require_starttls, false, "smtp:// only: send only over STARTTLS");
DEFINE_int64(smtp_timeout_ms, 15000, "longest SMTP exchange, 1..120000 ms");
DEFINE_string(stripe_livemode, "auto",
              "Stripe mode billed in: live, test, or auto (from STRIPE_API_KEY's sk_live_/sk_test_ "
              "prefix; no key: test). Events of the other mode are stored and ignored");
DEFINE_int32(idempotency_retention_days, ledger::kIdempotencyRetentionDaysDefault,
             "days an idempotency record answers repeats of its key (0: forever)");
DEFINE_int32(outbox_retention_days, ledger::kOutboxRetentionDaysDefault,
             "days a delivered (or given-up) outbox message is kept (0: forever)");
DEFINE_int32(webhook_retention_days, ledger::kWebhookRetentionDaysDefault,
             "days a settled webhook delivery is kept (0: forever)");
DEFINE_int64(prune_interval_s, 3600, "how often expired rows are pruned (0: never by ledgerd)");
DEFINE_string(digest_dir, "",
              "write a signed digest of the log here every --digest_interval_s (key: "
              "LEDGER_DIGEST_KEY; empty: off)");
DEFINE_int64(digest_interval_s, 3600, "seconds between scheduled digests");
DEFINE_int64(digest_keep, 1000, "digest files kept in --digest_dir (the oldest go)");
DEFINE_string(digest_key_file, "",
              "sign scheduled digests with this Ed25519 private key (PEM) instead of "
              "LEDGER_DIGEST_KEY");

namespace {

// Fills every flag left at its default from its environment variable. Returns false (after
// printing why) when a variable does not parse as its flag's type.
bool apply_environment_fallbacks() {
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  for (const auto& flag : flags) {
    if (!flag.is_default || flag.filename.find("ledgerd_main") == std::string::npos) continue;
    // DESIGN.md names these variables without the LEDGER_ prefix.
    const bool unprefixed = flag.name == "database_url" || flag.name == "humanizer_url" ||
                            flag.name == "internal_detector_url" ||
                            flag.name == "stripe_webhook_secret" || flag.name == "stripe_api_key" ||
                            flag.name == "stripe_api_base" || flag.name == "smtp_url" ||
                            flag.name == "churnkey_webhook_secret" ||
                            flag.name == "shopify_webhook_secret" ||
                            flag.name == "smtp_from";
    std::string variable = unprefixed ? "" : "LEDGER_";
    for (const char c : flag.name) variable += static_cast<char>(std::toupper(c));
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr || *value == '\0') continue;
    if (gflags::SetCommandLineOption(flag.name.c_str(), value).empty()) {
      std::cerr << "ledgerd: " << variable << " is not a valid value for --" << flag.name << "\n";
      return false;
    }
  }
  return true;
}

template <typename Fail>
bool billing_flags_valid(const Fail& fail) {
  const auto is_http_url = [](const std::string& url) {
    return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  };
  if (!is_http_url(FLAGS_stripe_api_base)) return fail("STRIPE_API_BASE must be an http(s) URL");
  if (!is_http_url(FLAGS_checkout_success_url) || !is_http_url(FLAGS_checkout_cancel_url)) {
    return fail("--checkout_success_url and --checkout_cancel_url must be http(s) URLs");
  }
  const auto timeout_ok = [](int64_t ms) { return ms >= 1 && ms <= integrations::kTimeoutMsMax; };
  if (!timeout_ok(FLAGS_stripe_connect_timeout_ms) || !timeout_ok(FLAGS_stripe_timeout_ms)) {
    return fail("--stripe_connect_timeout_ms and --stripe_timeout_ms must be 1..120000");
  }
  if (FLAGS_webhook_retry_poll_ms < 1 || FLAGS_webhook_retry_base_ms < 1 ||
      FLAGS_webhook_retry_max_ms < FLAGS_webhook_retry_base_ms || FLAGS_webhook_attempts_max < 1 ||
      FLAGS_outbox_poll_ms < 1) {
    return fail("webhook retry and outbox settings must be positive (max >= base)");
  }
  const auto mode = webhooks::resolve_stripe_mode(FLAGS_stripe_livemode, FLAGS_stripe_api_key);
  if (const auto* error = std::get_if<std::string>(&mode)) return fail(error->c_str());
  return true;
}

template <typename Fail>
bool smtp_flags_valid(const Fail& fail) {
  if (FLAGS_smtp_url.empty()) return true;
  if (FLAGS_smtp_url.rfind("smtp://", 0) != 0 && FLAGS_smtp_url.rfind("smtps://", 0) != 0) {
    return fail("SMTP_URL must start with smtp:// or smtps://");
  }
  if (!integrations::is_plain_email_address(FLAGS_smtp_from)) {
    return fail("SMTP_FROM must be a plain e-mail address when SMTP_URL is set");
  }
  if (FLAGS_smtp_timeout_ms < 1 || FLAGS_smtp_timeout_ms > integrations::kTimeoutMsMax) {
    return fail("--smtp_timeout_ms must be 1..120000");
  }
  return true;
}

ledger::RetentionSettings retention_settings() {
  ledger::RetentionSettings settings;
  settings.idempotency_days = FLAGS_idempotency_retention_days;
  settings.outbox_days = FLAGS_outbox_retention_days;
  settings.webhook_days = FLAGS_webhook_retention_days;
  return settings;
}

template <typename Fail>
bool limit_flags_valid(const Fail& fail) {
  if (FLAGS_outbound_workers < 1 || FLAGS_outbound_workers > 256 || FLAGS_outbound_queue_max < 1) {
    return fail("--outbound_workers must be 1..256 and --outbound_queue_max >= 1");
  }
  if (FLAGS_content_concurrency_per_account < 0) {
    return fail("--content_concurrency_per_account must be >= 0 (0: no cap)");
  }
  if (FLAGS_auth_failures_max < 0 || FLAGS_auth_failure_window_s < 1 ||
      FLAGS_auth_failure_window_s > 86'400 || FLAGS_auth_failure_addresses_max < 1) {
    return fail(
        "--auth_failures_max must be >= 0, --auth_failure_window_s 1..86400 and "
        "--auth_failure_addresses_max >= 1");
  }
  if (FLAGS_connections_max < 1) return fail("--connections_max must be >= 1");
  // spdlog allocates every slot of the queue at start, about 400 bytes each.
  if (FLAGS_log_queue_lines < 16 || FLAGS_log_queue_lines > 65'536) {
    return fail("--log_queue_lines must be 16..65536");
  }
  if (FLAGS_health_check_interval_ms < 10 || FLAGS_metrics_refresh_ms < 10 ||
      FLAGS_health_max_age_ms <= FLAGS_health_check_interval_ms) {
    return fail(
        "--health_check_interval_ms and --metrics_refresh_ms must be >= 10 and "
        "--health_max_age_ms > --health_check_interval_ms");
  }
  return true;
}

template <typename Fail>
bool retention_flags_valid(const Fail& fail) {
  if (const std::string error = ledger::retention_settings_error(retention_settings());
      !error.empty()) {
    return fail(("retention flags: " + error).c_str());
  }
  if (FLAGS_prune_interval_s < 0 || FLAGS_prune_interval_s > 7 * 86'400) {
    return fail("--prune_interval_s must be 0 (off) .. 604800");
  }
  return true;
}

// LEDGER_DIGEST_KEY, or the Ed25519 key of --digest_key_file.
audit::DigestKeys scheduled_digest_keys() {
  audit::DigestKeys keys;
  if (const char* key = std::getenv("LEDGER_DIGEST_KEY")) keys.hmac_key = key;
  if (!FLAGS_digest_key_file.empty()) {
    std::ifstream in(FLAGS_digest_key_file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    keys.private_pem = in ? text.str() : "unreadable";
  }
  return keys;
}

template <typename Fail>
bool digest_flags_valid(const Fail& fail) {
  if (FLAGS_digest_dir.empty()) return true;
  const audit::DigestKeys keys = scheduled_digest_keys();
  if (!keys.private_pem.empty() ? !crypto::ed25519_sign(keys.private_pem, "probe")
                                : keys.hmac_key.size() < audit::kDigestKeyBytesMin) {
    return fail("--digest_dir needs LEDGER_DIGEST_KEY of at least 32 bytes, or a readable "
                "Ed25519 private key in --digest_key_file");
  }
  if (FLAGS_digest_interval_s < 1 || FLAGS_digest_interval_s > 7 * 86'400 ||
      FLAGS_digest_keep < 1 || FLAGS_digest_keep > 1'000'000) {
    return fail("--digest_interval_s must be 1..604800 and --digest_keep 1..1000000");
  }
  std::error_code error;
  if (!std::filesystem::is_directory(FLAGS_digest_dir, error)) {
    return fail("--digest_dir must be an existing directory");
  }
  return true;
}

// One scheduled digest (audit/digest.h) on a fresh connection.
void write_scheduled_digest() {
  pg::Connection connection(pg::ConnectionOptions{FLAGS_database_url, 0, 600'000});
  const audit::Digest digest = audit::make_digest(connection, scheduled_digest_keys());
  const std::string path = audit::write_digest_file(FLAGS_digest_dir, digest,
                                                    static_cast<std::size_t>(FLAGS_digest_keep));
  spdlog::info("digest of {} events up to position {} written to {}", digest.count,
               digest.position, path);
}

bool flags_valid() {
  const auto fail = [](const char* message) {
    std::cerr << "ledgerd: " << message << "\n";
    return false;
  };
  if (FLAGS_database_url.empty()) return fail("DATABASE_URL (--database_url) is required");
  if (FLAGS_jwt_secret.empty()) return fail("LEDGER_JWT_SECRET (--jwt_secret) is required");
  if (FLAGS_jwt_secret.size() < auth::kJwtSecretBytesMin) {
    std::cerr << "ledgerd: LEDGER_JWT_SECRET (--jwt_secret) is " << FLAGS_jwt_secret.size()
              << " bytes; it must be at least " << auth::kJwtSecretBytesMin
              << " (generate one with: openssl rand -base64 32)\n";
    return false;
  }
  if (FLAGS_port < 0 || FLAGS_port > 65535) return fail("--port must be 0..65535");
  if (FLAGS_threads < 1 || FLAGS_threads > 64) return fail("--threads must be 1..64");
  if (FLAGS_workers < 1 || FLAGS_workers > 256) return fail("--workers must be 1..256");
  if (FLAGS_worker_queue_max < 1) return fail("--worker_queue_max must be >= 1");
  if (FLAGS_max_body_bytes < 1024 || FLAGS_max_body_bytes > 16 * 1024 * 1024) {
    return fail("--max_body_bytes must be 1 KiB..16 MiB");
  }
  if (FLAGS_rate_limit_per_s > 0 && FLAGS_rate_limit_burst < 1) {
    return fail("--rate_limit_burst must be >= 1");
  }
  if (FLAGS_reservation_ttl_default_s < 1 || FLAGS_reservation_ttl_default_s > 86400) {
    return fail("--reservation_ttl_default_s must be 1..86400");
  }
  if (FLAGS_committer_lanes < 1 || FLAGS_committer_lanes > 64) {
    return fail("--committer_lanes must be 1..64");
  }
  if (FLAGS_batch_max < 1 || FLAGS_batch_max > 10'000 || FLAGS_committer_queue_max < 1) {
    return fail("--batch_max must be 1..10000 and --committer_queue_max >= 1");
  }
  if (FLAGS_batch_gather_us < 0 || FLAGS_batch_gather_us > 100'000) {
    return fail("--batch_gather_us must be 0..100000");
  }
  if (FLAGS_commit_timeout_ms < 1 || FLAGS_shutdown_grace_ms < 0) {
    return fail("--commit_timeout_ms must be >= 1 and --shutdown_grace_ms >= 0");
  }
  return billing_flags_valid(fail) && retention_flags_valid(fail) && digest_flags_valid(fail) &&
         limit_flags_valid(fail) && smtp_flags_valid(fail);
}

http::ServiceOptions service_options() {
  http::ServiceOptions options;
  options.database_url = FLAGS_database_url;
  options.digest_dir = FLAGS_digest_dir;
  options.auth.jwt_secret = FLAGS_jwt_secret;
  options.auth.jwt_leeway_s = FLAGS_jwt_leeway_s;
  options.rate_limit_per_s = FLAGS_rate_limit_per_s;
  options.rate_limit_burst = FLAGS_rate_limit_burst;
  options.rate_limit_buckets_max = static_cast<std::size_t>(FLAGS_rate_limit_buckets_max);
  options.reservation_ttl_default_s = FLAGS_reservation_ttl_default_s;
  options.commit_timeout_ms = FLAGS_commit_timeout_ms;
  options.auth_failures_max = FLAGS_auth_failures_max;
  options.auth_failure_window_s = FLAGS_auth_failure_window_s;
  options.auth_failure_addresses_max = static_cast<std::size_t>(FLAGS_auth_failure_addresses_max);
  options.content_concurrency_per_account =
      static_cast<std::size_t>(FLAGS_content_concurrency_per_account);
  return options;
}

http::ServerOptions server_options() {
  http::ServerOptions options;
  options.bind_address = FLAGS_address;
  options.port = static_cast<uint16_t>(FLAGS_port);
  options.reactor_threads = FLAGS_threads;
  options.workers = static_cast<std::size_t>(FLAGS_workers);
  options.worker_queue_max = static_cast<std::size_t>(FLAGS_worker_queue_max);
  options.outbound_workers = static_cast<std::size_t>(FLAGS_outbound_workers);
  options.outbound_queue_max = static_cast<std::size_t>(FLAGS_outbound_queue_max);
  options.connections_max = static_cast<std::size_t>(FLAGS_connections_max);
  options.trust_forwarded_for = FLAGS_trust_forwarded_for;
  options.churnkey_signature_header = FLAGS_churnkey_signature_header;
  options.max_body_bytes = static_cast<std::size_t>(FLAGS_max_body_bytes);
  options.header_timeout_ms = FLAGS_header_timeout_ms;
  options.body_timeout_ms = FLAGS_body_timeout_ms;
  options.keepalive_timeout_ms = FLAGS_keepalive_timeout_ms;
  return options;
}

// Descriptors besides client connections: database connections of both pools and the
// committer, epoll and timer descriptors, files.
constexpr rlim_t kDescriptorsBesidesConnections = 512;
// How long the exit waits for the log lines still queued (a stdout nobody reads: for ever).
constexpr std::chrono::milliseconds kLogFlushAtExit{2'000};

// The connection cap only works while accept() succeeds: raises the soft descriptor limit
// towards the hard one when the cap needs more, and warns when it still does not fit.
void fit_descriptor_limit() {
  const rlim_t needed = static_cast<rlim_t>(FLAGS_connections_max) + kDescriptorsBesidesConnections;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= needed) return;
  limit.rlim_cur = std::min(needed, limit.rlim_max);
  setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < needed) {
    spdlog::warn(
        "the descriptor limit ({}) is below --connections_max + {}: raise `ulimit -n` or lower "
        "--connections_max, or accept() may fail before the cap answers 503",
        limit.rlim_cur, kDescriptorsBesidesConnections);
  }
}

// Loads the plans and migrates; nullopt (after logging why) when ledgerd cannot start.
std::optional<ledger::PlanCatalog> prepare_database_and_plans() {
  auto loaded = ledger::PlanCatalog::load(FLAGS_plans);
  if (const auto* error = std::get_if<std::string>(&loaded)) {
    spdlog::critical("cannot load plans from {}: {}", FLAGS_plans, *error);
    return std::nullopt;
  }
  try {
    pqxx::connection connection(FLAGS_database_url);
    const int applied = ledger::migrate(connection);
    spdlog::info("database ready ({} migrations applied)", applied);
  } catch (const std::exception& error) {
    spdlog::critical("cannot prepare the database: {}", error.what());
    return std::nullopt;
  }
  return std::get<ledger::PlanCatalog>(std::move(loaded));
}

// The humanize/detect handlers from the flags and the detectors file; nullptr (after
// logging why) when a setting is invalid or the detectors file is broken.
std::unique_ptr<http::ContentHandlers> make_content_handlers(const ledger::PlanCatalog& plans) {
  const auto is_url = [](const std::string& url) {
    return url.empty() || url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  };
  if (!is_url(FLAGS_humanizer_url) || !is_url(FLAGS_internal_detector_url) ||
      FLAGS_humanizer_parallelism < 1 ||
      FLAGS_humanizer_parallelism > static_cast<int>(integrations::kHumanizeParallelMax) ||
      FLAGS_humanizer_timeout_ms < 1 || FLAGS_humanizer_timeout_ms > integrations::kTimeoutMsMax) {
    spdlog::critical(
        "invalid humanizer/detector settings: URLs must be http(s), "
        "--humanizer_parallelism 1..16, --humanizer_timeout_ms 1..120000");
    return nullptr;
  }
  const bool detectors_default = gflags::GetCommandLineFlagInfoOrDie("detectors").is_default;
  auto detectors = http::load_detectors_file(FLAGS_detectors, detectors_default);
  if (const auto* error = std::get_if<std::string>(&detectors)) {
    spdlog::critical("cannot load the detectors file (--detectors / LEDGER_DETECTORS): {}", *error);
    return nullptr;
  }
  integrations::HumanizerSettings humanizer;
  humanizer.url = FLAGS_humanizer_url;
  humanizer.timeout_ms = static_cast<long>(FLAGS_humanizer_timeout_ms);
  integrations::InternalDetectorSettings internal_detector;
  internal_detector.url = FLAGS_internal_detector_url;
  http::ContentSettings settings;
  settings.database_url = FLAGS_database_url;
  settings.service.humanizer_parallelism = static_cast<std::size_t>(FLAGS_humanizer_parallelism);
  // The reservation outlives the slowest model deadline by a minute at least.
  const int64_t deadline_ms_max =
      std::max(humanizer.overall_timeout_ms,
               std::get<integrations::DetectorsConfig>(detectors).overall_timeout_ms);
  settings.service.reservation_ttl_s =
      std::max(FLAGS_reservation_ttl_default_s, deadline_ms_max / 1000 + 60);
  spdlog::info("humanizer: {}; internal detector: {}; {} external detectors configured",
               humanizer.url.empty() ? "built-in local rewriter" : humanizer.url,
               internal_detector.url.empty() ? "built-in heuristic" : internal_detector.url,
               std::get<integrations::DetectorsConfig>(detectors).detectors.size());
  return std::make_unique<http::ContentHandlers>(
      std::move(settings), plans, std::move(humanizer), std::move(internal_detector),
      std::get<integrations::DetectorsConfig>(std::move(detectors)));
}

http::BillingSettings billing_settings() {
  http::BillingSettings settings;
  settings.database_url = FLAGS_database_url;
  settings.stripe_webhook_secrets = FLAGS_stripe_webhook_secret;
  settings.churnkey_webhook_secrets = FLAGS_churnkey_webhook_secret;
  settings.shopify_webhook_secrets = FLAGS_shopify_webhook_secret;
  if (settings.shopify_webhook_secrets.empty()) {
    spdlog::warn("SHOPIFY_WEBHOOK_SECRET is not set: every Shopify delivery is refused (401)");
  }
  if (settings.churnkey_webhook_secrets.empty()) {
    spdlog::warn("CHURNKEY_WEBHOOK_SECRET is not set: every Churnkey delivery is refused (401)");
  }
  settings.stripe.api_base = FLAGS_stripe_api_base;
  settings.stripe.api_key = FLAGS_stripe_api_key;
  settings.stripe.connect_timeout_ms = static_cast<long>(FLAGS_stripe_connect_timeout_ms);
  settings.stripe.timeout_ms = static_cast<long>(FLAGS_stripe_timeout_ms);
  settings.checkout_success_url = FLAGS_checkout_success_url;
  settings.checkout_cancel_url = FLAGS_checkout_cancel_url;
  if (settings.stripe_webhook_secrets.empty()) {
    spdlog::warn("STRIPE_WEBHOOK_SECRET is not set: every Stripe delivery is refused (400)");
  }
  if (settings.stripe.api_key.empty()) {
    spdlog::warn("STRIPE_API_KEY is not set: POST /api/v1/billing/checkout answers 503");
  }
  return settings;
}

webhooks::StripeInboxSettings inbox_settings() {
  webhooks::StripeInboxSettings settings;
  settings.attempts_max = FLAGS_webhook_attempts_max;
  settings.retry_base_ms = FLAGS_webhook_retry_base_ms;
  settings.retry_max_ms = FLAGS_webhook_retry_max_ms;
  settings.commit_timeout_ms = FLAGS_commit_timeout_ms;
  settings.mode = std::get<webhooks::StripeMode>(
      webhooks::resolve_stripe_mode(FLAGS_stripe_livemode, FLAGS_stripe_api_key));
  spdlog::info("stripe: billing {} mode events (--stripe_livemode={})",
               webhooks::stripe_mode_name(settings.mode), FLAGS_stripe_livemode);
  return settings;
}

// One pruning pass on a fresh connection (ledger/retention.h); counts are logged when rows
// went. Safe alongside other ledgerd processes and `ledgerctl prune`.
void prune_expired_rows(const ledger::PeriodicTask& task) {
  const ledger::RetentionSettings settings = retention_settings();
  pqxx::connection connection(FLAGS_database_url);
  const auto counts = ledger::prune(connection, webhooks::service_prune_targets(settings), settings,
                                    false, [&task] { return task.stop_requested(); });
  for (const ledger::PruneCount& count : counts) {
    if (count.rows == 0) continue;
    spdlog::info("pruned {} rows of {} older than {} days{}", count.rows, count.name,
                 count.retention_days, count.more_left ? " (more left for the next run)" : "");
  }
}

// Without a mail server (SMTP_URL unset): `kind`'s e-mails are logged, not sent.
ledger::OutboxHandler log_email(std::string kind) {
  return [kind](const std::string& message_id, const std::string& account_id,
                const std::string& payload_json) -> ledger::OutboxResult {
    spdlog::info("{} (logged in place of an email provider) message={} account={} {}", kind,
                 message_id, account_id, payload_json);
    return "";
  };
}

// The outbox's handlers: the Stripe calls, and e-mails over SMTP when SMTP_URL is set
// (logged otherwise).
std::map<std::string, ledger::OutboxHandler> outbox_handlers(
    const integrations::StripeClientSettings& stripe) {
  std::map<std::string, ledger::OutboxHandler> handlers = {
      {ledger::kStripeCancelAtPeriodEndKind, notifications::stripe_cancel_at_period_end(stripe)}};
  if (FLAGS_smtp_url.empty()) {
    spdlog::info("outbox: SMTP_URL unset, e-mails are logged, not sent");
    for (const char* kind :
         {notifications::kPaymentFailedKind, notifications::kCancellationConfirmedKind}) {
      handlers.emplace(kind, log_email(kind));
    }
    return handlers;
  }
  notifications::EmailSettings settings;
  settings.smtp.url = FLAGS_smtp_url;
  settings.smtp.from = FLAGS_smtp_from;
  settings.smtp.require_starttls = FLAGS_smtp_require_starttls;
  settings.smtp.timeout_ms = static_cast<long>(FLAGS_smtp_timeout_ms);
  settings.database.url = FLAGS_database_url;
  handlers.merge(notifications::email_handlers(settings));
  return handlers;
}

int run() {
  auto plans = prepare_database_and_plans();
  if (!plans) return 3;
  std::unique_ptr<http::ContentHandlers> content = make_content_handlers(*plans);
  if (!content) return 3;
  http::Metrics metrics;
  ledger::CommitterOptions committer_options;
  committer_options.database_url = FLAGS_database_url;
  committer_options.queue_capacity = static_cast<std::size_t>(FLAGS_committer_queue_max);
  committer_options.batch_max = static_cast<std::size_t>(FLAGS_batch_max);
  committer_options.batch_gather_us = FLAGS_batch_gather_us;
  committer_options.lanes = static_cast<std::size_t>(FLAGS_committer_lanes);
  committer_options.sweep_interval_ms = FLAGS_sweep_interval_ms;
  ledger::CommitterObserver observer;
  observer.on_batch_committed = [&metrics](std::size_t commands, int64_t latency_us) {
    metrics.observe_batch(commands, latency_us);
  };
  observer.on_database_error = [&metrics] { metrics.count_database_error(); };
  std::unique_ptr<ledger::Committer> committer;
  try {
    committer = ledger::Committer::start(committer_options, *plans, observer);
  } catch (const std::exception& error) {
    spdlog::critical("cannot start the committer: {}", error.what());
    return 3;
  }
  http::DatabaseProbeOptions probe_options;
  probe_options.database_url = FLAGS_database_url;
  probe_options.health_interval_ms = FLAGS_health_check_interval_ms;
  probe_options.health_max_age_ms = FLAGS_health_max_age_ms;
  probe_options.gauges_interval_ms = FLAGS_metrics_refresh_ms;
  probe_options.on_database_error = [&metrics] { metrics.count_database_error(); };
  http::DatabaseProbe probe(std::move(probe_options));
  probe.start();
  std::atomic<http::HttpServer*> server_slot{nullptr};
  http::ServiceOptions options = service_options();
  options.database_probe = &probe;
  options.fill_server_gauges = [&server_slot](http::MetricsGauges& gauges) {
    if (const http::HttpServer* server = server_slot.load()) server->fill_gauges(gauges);
    gauges.log_lines_dropped_total = http::log_lines_dropped();
  };
  webhooks::StripeInbox inbox(inbox_settings(), *plans, *committer);
  const http::BillingSettings billing_config = billing_settings();
  const http::BillingRoutes billing(billing_config, *plans, inbox);
  options.billing = &billing;
  http::LedgerService service(std::move(options), *committer, metrics, content.get());
  fit_descriptor_limit();
  http::HttpServer server(server_options(), service, metrics);
  server_slot.store(&server);
  try {
    server.start();
  } catch (const std::exception& error) {
    spdlog::critical("cannot listen on {}:{}: {}", FLAGS_address, FLAGS_port, error.what());
    committer->shutdown();
    return 4;
  }
  spdlog::info("ledgerd listening on {}:{}", FLAGS_address, FLAGS_port);
  webhooks::StripeInboxRetrier retrier({FLAGS_database_url, FLAGS_webhook_retry_poll_ms, 50},
                                       inbox);
  retrier.start();
  ledger::OutboxOptions outbox_options;
  outbox_options.database_url = FLAGS_database_url;
  outbox_options.poll_interval_ms = FLAGS_outbox_poll_ms;
  ledger::OutboxDeliverer outbox(outbox_options, outbox_handlers(billing_config.stripe));
  outbox.start();
  std::unique_ptr<ledger::PeriodicTask> pruner;
  if (FLAGS_prune_interval_s > 0) {
    pruner =
        std::make_unique<ledger::PeriodicTask>("retention prune", FLAGS_prune_interval_s * 1000,
                                               [&pruner] { prune_expired_rows(*pruner); });
    pruner->start();
  }
  std::unique_ptr<ledger::PeriodicTask> digester;
  if (!FLAGS_digest_dir.empty()) {
    // A failed digest is logged by the task; the next interval tries again.
    digester = std::make_unique<ledger::PeriodicTask>("digest", FLAGS_digest_interval_s * 1000,
                                                      [] { write_scheduled_digest(); });
    digester->start();
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  int received = 0;
  sigwait(&stop_signals, &received);
  spdlog::info("signal {} received: draining", received);
  const bool drained = server.drain_and_stop(std::chrono::milliseconds(FLAGS_shutdown_grace_ms));
  server_slot.store(nullptr);
  probe.stop();
  retrier.stop();
  outbox.stop();
  if (pruner) pruner->stop();
  if (digester) digester->stop();
  committer->shutdown();
  spdlog::info("ledgerd stopped ({})", drained ? "all requests finished" : "grace period exceeded");
  if (!drained) {
    // Workers still running were detached: leave before any destructor runs under them.
    // Everything acknowledged is committed; the committer has flushed its queue.
    http::flush_async_logging(kLogFlushAtExit);
    std::_Exit(5);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage("ledgerd: the credit ledger HTTP service");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (!apply_environment_fallbacks() || !flags_valid()) return 2;
  std::signal(SIGPIPE, SIG_IGN);
  // Every thread started from here on inherits the mask; only run() waits for the signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  http::start_async_logging(static_cast<std::size_t>(FLAGS_log_queue_lines));  // its thread too
  spdlog::set_level(spdlog::level::from_str(FLAGS_log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  const int code = run();
  // A stdout nobody reads would hold exit()'s flush of it for ever: leave without it.
  if (!http::flush_async_logging(kLogFlushAtExit)) std::_Exit(code);
  return code;
}
