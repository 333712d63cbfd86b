// LedgerdProcess: the real ledgerd binary as a child process for end-to-end tests. Spawns
// it on a free loopback port with the given database, secret and extra flags, waits until
// GET /api/v1/health answers 200, and stops it with a signal, reporting the exit status.
// Its stdout/stderr go to a log file that failing tests print.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace testing_support {

struct LedgerdOptions {
  std::string database_url;  // required
  std::string jwt_secret = "test-secret-0123456789abcdef-0123456789";
  std::string plans_path;                  // empty: a temporary copy of the default plans
  std::string address = "127.0.0.1";       // --address; empty: none given (ledgerd's default)
  std::vector<std::string> extra_flags;    // e.g. "--rate_limit_per_s=5"
  std::map<std::string, std::string> env;  // extra environment variables
  std::chrono::milliseconds start_timeout{15'000};
  // stdout into a pipe that is never read (a stalled log reader); stderr stays in the log.
  bool stdout_unread = false;
};

// The default plans file content (free: 300 credits, pro: 10000, business: 50000; packs
// pack_1000 (usd, never expires) and pack_5000 (usd and eur, 365 days)) for tests.
std::string default_test_plans_json();

// A TCP port on 127.0.0.1 that nothing listened on a moment ago.
uint16_t free_loopback_port();

// Starts ledgerd with `options` expecting it to refuse to start; returns the failure
// message ("ledgerd exited with N during start-up:" and its log). Records a test failure
// and returns "" when it started.
std::string start_failure(const LedgerdOptions& options);

class LedgerdProcess {
 public:
  // Spawns build_path("http/ledgerd") and waits for health. Throws std::runtime_error
  // (with the log tail) when it exits or stays unhealthy past start_timeout.
  explicit LedgerdProcess(LedgerdOptions options);
  // Kills (SIGKILL) the process if it is still running and removes temporary files.
  ~LedgerdProcess();
  LedgerdProcess(const LedgerdProcess&) = delete;
  LedgerdProcess& operator=(const LedgerdProcess&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // "http://127.0.0.1:<port>"
  std::string base_url() const;
  const LedgerdOptions& options() const { return options_; }

  // Sends `signal_number` and waits up to `timeout` for the exit. Returns the exit code, or
  // 128 + signal when killed by a signal, or -1 on timeout (the process is then killed).
  int stop(int signal_number, std::chrono::milliseconds timeout);
  // Sends a signal without waiting.
  void signal(int signal_number) const;
  // Waits up to `timeout` for an exit after signal(); same results as stop().
  int wait_for_exit(std::chrono::milliseconds timeout);
  bool running();

  const std::string& log_path() const { return log_path_; }
  std::string log_text() const;
  // The log once it holds `needle`, or at `timeout`: ledgerd writes its lines from a queue
  // of its own (http/logging.h), so a line may land a moment after what it reports.
  std::string wait_for_log(const std::string& needle,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

 private:
  // Waits for GET /api/v1/health to answer 200; throws with the log when ledgerd exits or
  // stays unhealthy past start_timeout.
  void wait_until_healthy();
  void remove_files() const;

  LedgerdOptions options_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string temp_dir_;
  std::string log_path_;
  int unread_stdout_fd_ = -1;  // the read end of the stdout pipe (stdout_unread), kept open
};

}  // namespace testing_support
