// Property checks and input framing shared by the fuzz targets (see fuzz_support.h).
#include "tests/fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>

#include "unicode/utf8.h"

namespace fuzz {

void property_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n", file, line, what);
  std::abort();
}

std::string_view as_text(const uint8_t* data, std::size_t size) {
  return size == 0 ? std::string_view()
                   : std::string_view(reinterpret_cast<const char*>(data), size);
}

uint8_t take_byte(std::string_view& input) {
  if (input.empty()) return 0;
  const auto byte = static_cast<uint8_t>(input.front());
  input.remove_prefix(1);
  return byte;
}

std::vector<std::string_view> split_parts(std::string_view input, std::size_t count) {
  std::vector<std::string_view> parts;
  for (std::size_t i = 0; i + 1 < count; ++i) {
    const std::size_t nul = input.find('\0');
    parts.push_back(input.substr(0, nul));
    input = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  }
  parts.push_back(input);
  return parts;
}

bool is_valid_utf8(std::string_view text) { return unicode::is_valid_utf8(text); }

bool is_storable_text(std::string_view text) { return unicode::is_storable_text(text); }

}  // namespace fuzz
