// fork/exec of ledgerctl with its output in temporary files.
#include "tests/support/ledgerctl_run.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/test_database.h"

extern char** environ;

namespace testing_support {
namespace {

std::string read_and_remove(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path.c_str());
  return text.str();
}

// A new empty file; returns its path and an open descriptor.
std::pair<std::string, int> temp_file(const char* prefix) {
  std::string pattern = std::string("/tmp/") + prefix + "-XXXXXX";
  const int fd = ::mkstemp(pattern.data());
  return {pattern, fd};
}

}  // namespace

CommandResult run_ledgerctl(const std::vector<std::string>& args, const std::string& database_url,
                            const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv_storage = {build_path("tools/ledgerctl")};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<std::string> env_storage;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    if (text.rfind("LEDGER_", 0) == 0 || text.rfind("DATABASE_URL=", 0) == 0) continue;
    env_storage.push_back(text);
  }
  if (!database_url.empty()) env_storage.push_back("DATABASE_URL=" + database_url);
  for (const auto& [name, value] : env) env_storage.push_back(name + "=" + value);
  std::vector<char*> argv;
  for (std::string& item : argv_storage) argv.push_back(item.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& item : env_storage) envp.push_back(item.data());
  envp.push_back(nullptr);

  const auto [out_path, out_fd] = temp_file("ledgerctl-out");
  const auto [err_path, err_fd] = temp_file("ledgerctl-err");
  CommandResult result;
  if (out_fd < 0 || err_fd < 0) return result;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
  if (pid > 0) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int status = 0;
    pid_t waited = 0;
    while ((waited = ::waitpid(pid, &status, WNOHANG)) == 0 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (waited == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  result.out = read_and_remove(out_path);
  result.err = read_and_remove(err_path);
  return result;
}

}  // namespace testing_support
