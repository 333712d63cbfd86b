// Bounded JSON parsing and typed, path-addressed field reads for webhook bodies: the one
// place webhook parsers touch RapidJSON. Malformed input yields error strings, never
// exceptions or crashes.
#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace webhooks {

// Limits on any webhook body, applied before it reaches RapidJSON's parser.
inline constexpr std::size_t kWebhookBodyBytesMax = std::size_t{1} << 20;  // 1 MiB
inline constexpr int kWebhookJsonDepthMax = 64;

// Parses `body` into `document` after checking the size and nesting limits. The body must be
// exactly one JSON value in valid UTF-8. Returns an empty string on success, otherwise a
// description of the first problem (in which case `document` must not be used).
std::string parse_bounded_json(std::string_view body, rapidjson::Document& document);

// Reads fields of one JSON object by dotted paths with optional array indices, e.g.
// "lines.data[0].period.start". A field that is absent or JSON null reads as absent.
// In strict mode, a present field (or path step) of the wrong type records an error, the
// first of which error() returns, prefixed by the reader's own path; in lenient mode, it
// reads as absent. Reads never throw and never fail to return a value.
class JsonFieldReader {
 public:
  enum class Mode { kStrict, kLenient };

  // `object` must outlive the reader. `path_prefix` names `object` in error messages.
  JsonFieldReader(const rapidjson::Value& object, std::string path_prefix,
                  Mode mode = Mode::kStrict);

  // Returns the value at `path`, or nullptr when absent or null (or mistyped on the way).
  const rapidjson::Value* find(std::string_view path);
  // Returns the object at `path`, or nullptr when absent (or mistyped).
  const rapidjson::Value* object(std::string_view path);

  // Returns the string at `path`, or an empty string when absent (or mistyped).
  std::string string(std::string_view path);
  // Returns a Stripe-style reference at `path`: a string id, or an expanded object's "id".
  std::string id(std::string_view path);
  // Returns a string at `path`, or an integer at `path` in decimal (ids that some systems
  // send as numbers), or an empty string.
  std::string id_text(std::string_view path);
  // Returns the integer at `path` if it fits int64, or nullopt when absent (or mistyped).
  std::optional<int64_t> int64(std::string_view path);
  // Returns the boolean at `path`, or false when absent (or mistyped).
  bool boolean(std::string_view path);

  // Like string()/int64(), but absence is also recorded as an error.
  std::string required_string(std::string_view path);
  std::optional<int64_t> required_int64(std::string_view path);

  bool ok() const { return error_.empty(); }
  // The first error recorded, or an empty string.
  const std::string& error() const { return error_; }

 private:
  // Returns `path` prefixed by this reader's own path, for error messages.
  std::string qualified(std::string_view path) const;
  void record_error(std::string_view path, std::string_view problem);

  const rapidjson::Value& object_;
  std::string path_prefix_;
  Mode mode_;
  std::string error_;
};

// Returns the first non-empty argument, or an empty string.
std::string first_non_empty(std::initializer_list<std::string> candidates);

}  // namespace webhooks
