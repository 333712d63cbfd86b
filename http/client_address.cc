// X-Forwarded-For: the last entry only, and only an address.
#include "http/client_address.h"

#include <algorithm>

namespace http {
namespace {

bool is_address_text(std::string_view text) {
  if (text.empty() || text.size() > kClientAddressLengthMax) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
           c == '.' || c == ':';
  });
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string client_address(std::string_view peer_host, std::string_view forwarded_for,
                           bool trust_forwarded_for) {
  if (!trust_forwarded_for) return std::string(peer_host);
  const std::size_t comma = forwarded_for.rfind(',');
  const std::string_view last =
      trim_spaces(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
  if (!is_address_text(last)) return std::string(peer_host);
  return std::string(last);
}

}  // namespace http
