// RoundTripProxy: a TCP relay on 127.0.0.1 between a client and PostgreSQL that counts round
// trips as the network sees them: a round trip starts each time the client sends after the
// server has answered (or first). Tests point a connection URL at it to check what one batch
// of the committer costs without trusting the committer's own counters.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace testing_support {

class RoundTripProxy {
 public:
  // Listens on a free port and relays every connection to 127.0.0.1:`target_port`.
  explicit RoundTripProxy(int target_port);
  ~RoundTripProxy();
  RoundTripProxy(const RoundTripProxy&) = delete;
  RoundTripProxy& operator=(const RoundTripProxy&) = delete;

  int port() const { return port_; }
  // Round trips over every connection relayed so far.
  int64_t round_trips() const { return round_trips_.load(); }

 private:
  void run();

  const int target_port_;
  int listener_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};  // a pipe that ends run()
  std::atomic<int64_t> round_trips_{0};
  std::thread thread_;
};

// The port of a libpq URL of the form postgresql://user@host:PORT/db.
int url_port(const std::string& url);
// `url` with its port replaced.
std::string url_with_port(const std::string& url, int port);

}  // namespace testing_support
