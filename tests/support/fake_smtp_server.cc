// FakeSmtpServer (tests/support/fake_smtp_server.h).
#include "tests/support/fake_smtp_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <stdexcept>

namespace testing_support {
namespace {

constexpr std::size_t kLineBytesMax = 64 * 1024;
constexpr std::size_t kMessageBytesMax = 4 * 1024 * 1024;

// Reads CRLF-terminated lines from a socket, polling so that a stop is noticed.
class LineReader {
 public:
  LineReader(int fd, const std::atomic<bool>& stopping) : fd_(fd), stopping_(stopping) {}

  // The next line without its CRLF; false on EOF, error, stop or an over-long line.
  bool next(std::string& line) {
    for (;;) {
      const std::size_t end = buffer_.find("\r\n");
      if (end != std::string::npos) {
        line = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return true;
      }
      if (buffer_.size() > kLineBytesMax) return false;
      pollfd descriptor{fd_, POLLIN, 0};
      const int ready = ::poll(&descriptor, 1, 100);
      if (stopping_.load()) return false;
      if (ready <= 0) continue;
      char chunk[4096];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  const std::atomic<bool>& stopping_;
  std::string buffer_;
};

void send_reply(int fd, const std::string& reply) {
  const std::string line = reply + "\r\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// "MAIL FROM:<a@b> SIZE=10" -> "a@b".
std::string path_of(const std::string& line) {
  const std::size_t open = line.find('<');
  const std::size_t close = line.find('>', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) return "";
  return line.substr(open + 1, close - open - 1);
}

}  // namespace

FakeSmtpServer::FakeSmtpServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0) throw std::runtime_error("fake smtp: socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("fake smtp: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeSmtpServer::~FakeSmtpServer() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
}

std::vector<ReceivedMail> FakeSmtpServer::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

bool FakeSmtpServer::wait_for_messages(std::size_t count, int64_t timeout_ms) const {
  std::unique_lock lock(mutex_);
  return received_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                            [&] { return messages_.size() >= count; });
}

void FakeSmtpServer::serve() {
  while (!stopping_.load()) {
    pollfd descriptor{listen_fd_, POLLIN, 0};
    if (::poll(&descriptor, 1, 100) <= 0) continue;
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    serve_connection(fd);  // one client at a time: the outbox sends one message at a time
    ::close(fd);
  }
}

void FakeSmtpServer::serve_connection(int fd) {
  LineReader reader(fd, stopping_);
  send_reply(fd, "220 fake.smtp.test ESMTP ready");
  ReceivedMail mail;
  std::string line;
  while (reader.next(line)) {
    const std::string verb = upper(line.substr(0, 4));
    if (verb == "EHLO") {
      send_reply(fd, "250-fake.smtp.test greets you");
      send_reply(fd, "250 8BITMIME");
    } else if (verb == "HELO") {
      send_reply(fd, "250 fake.smtp.test");
    } else if (verb == "MAIL") {
      mail = ReceivedMail{path_of(line), {}, ""};
      send_reply(fd, "250 2.1.0 OK");
    } else if (verb == "RCPT") {
      mail.recipients.push_back(path_of(line));
      send_reply(fd, "250 2.1.5 OK");
    } else if (verb == "DATA") {
      if (mail.mail_from.empty() || mail.recipients.empty()) {
        send_reply(fd, "503 5.5.1 MAIL and RCPT first");
        continue;
      }
      int left = refusals_.load();
      if (left > 0 && refusals_.compare_exchange_strong(left, left - 1)) {
        refused_count_.fetch_add(1);
        send_reply(fd, "451 4.3.0 try again later");
        continue;
      }
      send_reply(fd, "354 end data with <CR><LF>.<CR><LF>");
      std::string data;
      bool complete = false;
      while (reader.next(line)) {
        if (line == ".") {
          complete = true;
          break;
        }
        if (!line.empty() && line[0] == '.') line.erase(0, 1);  // undo dot-stuffing
        data += line + "\r\n";
        if (data.size() > kMessageBytesMax) break;
      }
      if (!complete) return;
      mail.data = std::move(data);
      {
        std::lock_guard lock(mutex_);
        messages_.push_back(mail);
      }
      received_.notify_all();
      send_reply(fd, "250 2.0.0 queued");
      mail = ReceivedMail{};
    } else if (verb == "RSET") {
      mail = ReceivedMail{};
      send_reply(fd, "250 2.0.0 OK");
    } else if (verb == "NOOP") {
      send_reply(fd, "250 2.0.0 OK");
    } else if (verb == "QUIT") {
      send_reply(fd, "221 2.0.0 bye");
      return;
    } else {
      send_reply(fd, "502 5.5.2 command not recognized");
    }
  }
}

}  // namespace testing_support
