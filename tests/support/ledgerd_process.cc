// fork/exec of ledgerd, health polling, signal-and-wait.
#include "tests/support/ledgerd_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/http_test_client.h"
#include "tests/support/openapi_contract.h"
#include "tests/support/test_database.h"

namespace testing_support {
namespace {

std::string make_temp_dir() {
  char pattern[] = "/tmp/ledgerd-test-XXXXXX";
  const char* dir = mkdtemp(pattern);
  if (dir == nullptr) throw std::runtime_error("mkdtemp failed");
  return dir;
}

// Writes into the pipe until it is full, then makes its writes blocking again.
void fill_pipe(int write_fd) {
  const int flags = ::fcntl(write_fd, F_GETFL);
  ::fcntl(write_fd, F_SETFL, flags | O_NONBLOCK);
  const std::string chunk(4096, '.');
  while (::write(write_fd, chunk.data(), chunk.size()) > 0) {
  }
  std::string byte(1, '.');  // the last few bytes short of a chunk
  while (::write(write_fd, byte.data(), 1) == 1) {
  }
  ::fcntl(write_fd, F_SETFL, flags);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

// argv/envp for execve, built before fork (no allocation in the child).
struct ExecArgs {
  std::vector<std::string> storage;
  std::vector<char*> pointers;
  void finish() {
    for (auto& item : storage) pointers.push_back(item.data());
    pointers.push_back(nullptr);
  }
};

}  // namespace

std::string default_test_plans_json() {
  return R"({"plans": [
  {"id": "free", "monthly_credits": 300,
   "pricing": {"humanize": {"base_words": 100, "base_credits": 40},
               "detect": {"base_words": 100, "base_credits": 10}}},
  {"id": "pro", "monthly_credits": 10000,
   "pricing": {"humanize": {"base_words": 100, "base_credits": 30},
               "detect": {"base_words": 100, "base_credits": 8}},
   "stripe_prices": {"monthly": "price_pro_monthly", "yearly": "price_pro_yearly"},
   "currencies": ["usd", "eur"]},
  {"id": "business", "monthly_credits": 50000,
   "pricing": {"humanize": {"base_words": 100, "base_credits": 25},
               "detect": {"base_words": 100, "base_credits": 5}},
   "stripe_prices": {"monthly": "price_business_monthly", "yearly": "price_business_yearly"},
   "currencies": ["usd", "eur"]}
], "packs": [
  {"id": "pack_1000", "credits": 1000, "stripe_price": "price_pack_1000", "currencies": ["usd"]},
  {"id": "pack_5000", "credits": 5000, "stripe_price": "price_pack_5000", "currencies": ["usd", "eur"],
   "expires_after_days": 365}
]})";
}

uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

LedgerdProcess::LedgerdProcess(LedgerdOptions options) : options_(std::move(options)) {
  temp_dir_ = make_temp_dir();
  log_path_ = temp_dir_ + "/ledgerd.log";
  if (options_.plans_path.empty()) {
    options_.plans_path = temp_dir_ + "/plans.json";
    write_file(options_.plans_path, default_test_plans_json());
  }
  port_ = free_loopback_port();
  check_responses_from_port(port_);
  ExecArgs argv;
  argv.storage = {build_path("http/ledgerd"), "--port=" + std::to_string(port_),
                  "--plans=" + options_.plans_path};
  if (!options_.address.empty()) argv.storage.push_back("--address=" + options_.address);
  for (const auto& flag : options_.extra_flags) argv.storage.push_back(flag);
  argv.finish();
  ExecArgs envp;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    if (text.rfind("LEDGER_", 0) == 0 || text.rfind("DATABASE_URL=", 0) == 0) continue;
    envp.storage.push_back(text);
  }
  envp.storage.push_back("DATABASE_URL=" + options_.database_url);
  envp.storage.push_back("LEDGER_JWT_SECRET=" + options_.jwt_secret);
  for (const auto& [name, value] : options_.env) envp.storage.push_back(name + "=" + value);
  envp.finish();
  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_path_);
  int stdout_pipe[2] = {-1, -1};
  if (options_.stdout_unread) {
    if (::pipe2(stdout_pipe, O_CLOEXEC) != 0) {
      ::close(log_fd);
      throw std::runtime_error("cannot create the stdout pipe");
    }
    fill_pipe(stdout_pipe[1]);  // whatever the pipe's size: ledgerd's first write blocks
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(options_.stdout_unread ? stdout_pipe[1] : log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execve(argv.pointers[0], argv.pointers.data(), envp.pointers.data());
    _exit(127);
  }
  ::close(log_fd);
  if (options_.stdout_unread) {
    ::close(stdout_pipe[1]);
    unread_stdout_fd_ = stdout_pipe[0];
  }
  if (pid_ < 0) {
    if (unread_stdout_fd_ >= 0) ::close(unread_stdout_fd_);
    throw std::runtime_error("fork failed");
  }
  try {
    wait_until_healthy();
  } catch (...) {
    if (unread_stdout_fd_ >= 0) ::close(unread_stdout_fd_);
    throw;
  }
}

void LedgerdProcess::wait_until_healthy() {
  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) {
      const std::string message = "ledgerd exited with " + std::to_string(exit_code_) +
                                  " during start-up:\n" + log_text();
      remove_files();
      throw std::runtime_error(message);
    }
    const TestResponse health = http_get(base_url() + "/api/v1/health", {}, 1000);
    if (health.status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string message = "ledgerd did not become healthy:\n" + log_text();
  stop(SIGKILL, std::chrono::milliseconds(5000));
  remove_files();
  throw std::runtime_error(message);
}

LedgerdProcess::~LedgerdProcess() {
  if (running()) stop(SIGKILL, std::chrono::milliseconds(5000));
  if (unread_stdout_fd_ >= 0) ::close(unread_stdout_fd_);
  stop_checking_port(port_);
  remove_files();
}

void LedgerdProcess::remove_files() const {
  std::remove(log_path_.c_str());
  if (options_.plans_path == temp_dir_ + "/plans.json") std::remove(options_.plans_path.c_str());
  ::rmdir(temp_dir_.c_str());
}

std::string LedgerdProcess::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void LedgerdProcess::signal(int signal_number) const {
  if (pid_ > 0) ::kill(pid_, signal_number);
}

bool LedgerdProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t result = ::waitpid(pid_, &status, WNOHANG);
  if (result == 0) return true;
  if (result == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  pid_ = -1;
  return false;
}

int LedgerdProcess::wait_for_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

int LedgerdProcess::stop(int signal_number, std::chrono::milliseconds timeout) {
  if (!running()) return exit_code_;
  signal(signal_number);
  return wait_for_exit(timeout);
}

std::string LedgerdProcess::log_text() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string LedgerdProcess::wait_for_log(const std::string& needle,
                                         std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::string text = log_text();
    if (text.find(needle) != std::string::npos || std::chrono::steady_clock::now() >= deadline) {
      return text;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string start_failure(const LedgerdOptions& options) {
  try {
    LedgerdProcess process(options);
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  ADD_FAILURE() << "ledgerd started although it should have refused";
  return "";
}

}  // namespace testing_support
