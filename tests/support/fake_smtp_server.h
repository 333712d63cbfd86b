// FakeSmtpServer: a real SMTP server on 127.0.0.1 (plain TCP, RFC 5321 subset: EHLO/HELO,
// MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS, no AUTH) that stands in for the mail provider
// in tests. It keeps every accepted message and can refuse the next DATA commands with a
// transient 451, as a busy provider does.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace testing_support {

struct ReceivedMail {
  std::string mail_from;                // the MAIL FROM path, without <>
  std::vector<std::string> recipients;  // the RCPT TO paths, without <>
  std::string data;                     // the message as received, dot-stuffing undone
};

class FakeSmtpServer {
 public:
  // Listens on a kernel-assigned free port. Throws std::runtime_error when it cannot.
  FakeSmtpServer();
  ~FakeSmtpServer();
  FakeSmtpServer(const FakeSmtpServer&) = delete;
  FakeSmtpServer& operator=(const FakeSmtpServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

  // The next `count` DATA commands are answered "451 4.3.0 try again later".
  void refuse_next_data(int count) { refusals_.store(count); }
  int refused() const { return refused_count_.load(); }

  std::vector<ReceivedMail> messages() const;
  // Waits until at least `count` messages were accepted or `timeout_ms` passed.
  bool wait_for_messages(std::size_t count, int64_t timeout_ms) const;

 private:
  void serve();
  void serve_connection(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> refusals_{0};
  std::atomic<int> refused_count_{0};
  mutable std::mutex mutex_;
  mutable std::condition_variable received_;
  std::vector<ReceivedMail> messages_;
  std::thread thread_;
};

}  // namespace testing_support
