// The client address that per-address limits (failed authentications) key on: the TCP
// peer's address, or, only when the operator says a proxy in front of ledgerd sets it
// (--trust_forwarded_for), the address that proxy appended to X-Forwarded-For.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace http {

inline constexpr std::size_t kClientAddressLengthMax = 45;  // the longest IPv6 text form

// `peer_host` unless `trust_forwarded_for` and the last comma-separated entry of
// `forwarded_for` (spaces trimmed) is an IPv4 or IPv6 address in text form (1..45 of
// [0-9A-Fa-f.:]); a client can prepend entries, but the last one is the proxy's own.
std::string client_address(std::string_view peer_host, std::string_view forwarded_for,
                           bool trust_forwarded_for);

}  // namespace http
