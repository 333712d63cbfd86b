// TCP relay with round-trip counting (tests/support/round_trip_proxy.h): one poll() loop
// over the listener and every (client, server) socket pair.
#include "tests/support/round_trip_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <vector>

namespace testing_support {
namespace {

struct Pair {
  int client = -1;
  int server = -1;
  bool client_spoke_last = false;  // false: the server answered last (or nobody spoke yet)
};

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Relays what is readable on `from` to `to`; false when `from` closed or failed.
bool relay(int from, int to) {
  char buffer[65536];
  const ssize_t got = ::read(from, buffer, sizeof buffer);
  if (got <= 0) return false;
  for (ssize_t sent = 0; sent < got;) {
    const ssize_t n = ::write(to, buffer + sent, static_cast<std::size_t>(got - sent));
    if (n <= 0) return false;
    sent += n;
  }
  return true;
}

}  // namespace

RoundTripProxy::RoundTripProxy(int target_port) : target_port_(target_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener_, 64) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
      ::pipe(wake_) != 0) {
    throw std::runtime_error("round trip proxy: cannot listen");
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { run(); });
}

RoundTripProxy::~RoundTripProxy() {
  const char stop = 1;
  [[maybe_unused]] const ssize_t written = ::write(wake_[1], &stop, 1);
  if (thread_.joinable()) thread_.join();
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void RoundTripProxy::run() {
  std::vector<Pair> pairs;
  for (;;) {
    std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
    for (const Pair& pair : pairs) {
      fds.push_back({pair.client, POLLIN, 0});
      fds.push_back({pair.server, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents != 0) break;
    if (fds[1].revents & POLLIN) {
      const int client = ::accept(listener_, nullptr, nullptr);
      const int server = client >= 0 ? connect_to(target_port_) : -1;
      if (server >= 0) {
        pairs.push_back({client, server, false});
      } else if (client >= 0) {
        ::close(client);
      }
    }
    std::vector<Pair> open;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      Pair pair = pairs[i];
      const short client_events = fds[2 + 2 * i].revents;
      const short server_events = fds[3 + 2 * i].revents;
      bool alive = true;
      if (client_events != 0) {
        if (!pair.client_spoke_last) round_trips_.fetch_add(1);
        pair.client_spoke_last = true;
        alive = relay(pair.client, pair.server);
      }
      if (alive && server_events != 0) {
        pair.client_spoke_last = false;
        alive = relay(pair.server, pair.client);
      }
      if (alive) {
        open.push_back(pair);
      } else {
        ::close(pair.client);
        ::close(pair.server);
      }
    }
    pairs = std::move(open);
  }
  for (const Pair& pair : pairs) {
    ::close(pair.client);
    ::close(pair.server);
  }
}

int url_port(const std::string& url) {
  const std::size_t at = url.find('@');
  const std::size_t colon = url.find(':', at == std::string::npos ? 0 : at);
  const std::size_t slash = url.find('/', colon);
  return std::stoi(url.substr(colon + 1, slash - colon - 1));
}

std::string url_with_port(const std::string& url, int port) {
  const std::size_t at = url.find('@');
  const std::size_t colon = url.find(':', at == std::string::npos ? 0 : at);
  const std::size_t slash = url.find('/', colon);
  return url.substr(0, colon + 1) + std::to_string(port) + url.substr(slash);
}

}  // namespace testing_support
