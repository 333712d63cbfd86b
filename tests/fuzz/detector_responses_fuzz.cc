// Fuzz target: the response parsers of the external AI detectors and of the Copyleaks login
// (integrations/detector_adapters.h, integrations/provider_json.h), and the request bodies
// built for them.
//
// Input: a kind byte (gptzero, zerogpt, sapling, copyleaks, writer, originality, generic),
// a status byte (an index into kStatuses), an options byte (generic: bit 0 scale 1 instead
// of 100, bit 1 invert), then
//   generic: the score_pointer, a NUL byte, the response body;
//   others:  the response body.
//
// Properties:
// - a detector answer is a score or an error, never both; a score is within 0..100 with
//   one decimal; a non-2xx answer is an error naming the status;
// - an error (and a login error) is storable text (valid UTF-8, no NUL), whatever bytes
//   the provider sent: errors are logged and quote the provider;
// - a generic detector with `invert` scores 100 minus what it scores without;
// - a login answer is a non-empty token or an error, never both;
// - the request asking about a (valid UTF-8) text carries exactly that text in its JSON.
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "integrations/detector_adapters.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using integrations::DetectorConfig;
using integrations::DetectorKind;
using integrations::HttpResponse;

constexpr std::array<DetectorKind, 7> kKinds = {DetectorKind::kGptzero, DetectorKind::kZerogpt,
                                                DetectorKind::kSapling, DetectorKind::kCopyleaks,
                                                DetectorKind::kWriter,  DetectorKind::kOriginality,
                                                DetectorKind::kGeneric};
constexpr std::array<long, 12> kStatuses = {200, 201, 204, 299, 300, 400,
                                            401, 404, 429, 500, 502, 503};
constexpr std::string_view kDefaultPointer = "/ai_score";

// The text field each kind's request carries the text in.
std::string_view text_field(const DetectorConfig& detector) {
  switch (detector.kind) {
    case DetectorKind::kGptzero:
      return "document";
    case DetectorKind::kZerogpt:
      return "input_text";
    case DetectorKind::kWriter:
      return "input";
    case DetectorKind::kOriginality:
      return "content";
    case DetectorKind::kGeneric:
      return detector.text_field;
    case DetectorKind::kSapling:
    case DetectorKind::kCopyleaks:
      return "text";
  }
  return "text";
}

DetectorConfig detector_from(std::string_view& input) {
  DetectorConfig detector;
  detector.name = "fuzzed";
  detector.kind = kKinds[fuzz::take_byte(input) % kKinds.size()];
  detector.api_key = "key";
  detector.email = "fuzz@example.com";
  detector.url = "https://detector.invalid/score";
  detector.score_pointer = kDefaultPointer;
  return detector;
}

// Applies the generic options and pointer; the detectors file admits only valid pointers
// in valid UTF-8. The pointer is parsed from a std::string, as the service does: RapidJSON
// 1.1.0 reads the byte after an empty pointer text, which must be a terminating NUL.
void configure_generic(DetectorConfig& detector, uint8_t options, std::string_view pointer) {
  detector.scale = (options & 1) != 0 ? 1 : 100;
  detector.invert = (options & 2) != 0;
  const std::string candidate(pointer);
  if (fuzz::is_valid_utf8(candidate) &&
      rapidjson::Pointer(candidate.c_str(), candidate.size()).IsValid()) {
    detector.score_pointer = candidate;
  }
}

bool has_one_decimal(double score) {
  return std::fabs(score * 10.0 - std::round(score * 10.0)) < 1e-6;
}

void check_score(const DetectorConfig& detector, const HttpResponse& response) {
  const integrations::ParsedScore parsed =
      integrations::parse_detector_response(detector, response);
  FUZZ_REQUIRE(parsed.score.has_value() == parsed.error.empty());
  if (!parsed.score) {
    FUZZ_REQUIRE(fuzz::is_storable_text(parsed.error));
    if (response.status < 200 || response.status > 299) {
      FUZZ_REQUIRE(parsed.error.starts_with("HTTP " + std::to_string(response.status)));
    }
    return;
  }
  FUZZ_REQUIRE(*parsed.score >= 0.0 && *parsed.score <= 100.0 && has_one_decimal(*parsed.score));
  if (detector.kind != DetectorKind::kGeneric) return;
  DetectorConfig inverted = detector;
  inverted.invert = !detector.invert;
  const integrations::ParsedScore other = integrations::parse_detector_response(inverted, response);
  FUZZ_REQUIRE(other.score.has_value());
  FUZZ_REQUIRE(std::fabs(*parsed.score + *other.score - 100.0) < 1e-6);
}

void check_login(const HttpResponse& response) {
  const integrations::CopyleaksLogin login = integrations::parse_copyleaks_login_response(response);
  FUZZ_REQUIRE(login.access_token.empty() != login.error.empty());
  FUZZ_REQUIRE(fuzz::is_storable_text(login.error));
}

void check_request(const DetectorConfig& detector, std::string_view text) {
  if (!fuzz::is_valid_utf8(text)) return;  // Texts reach the adapters sanitised.
  const integrations::AdapterRequest built =
      integrations::build_detector_request(detector, text, 1'000, "login-token");
  FUZZ_REQUIRE(built.request.has_value() == built.skip_reason.empty());
  if (!built.request) return;
  rapidjson::Document body;
  body.Parse<rapidjson::kParseValidateEncodingFlag>(built.request->body.data(),
                                                    built.request->body.size());
  FUZZ_REQUIRE(!body.HasParseError() && body.IsObject());
  const std::string_view field_name = text_field(detector);
  const rapidjson::Value name(rapidjson::StringRef(field_name.data(), field_name.size()));
  FUZZ_REQUIRE(body.HasMember(name) && body[name].IsString());
  FUZZ_REQUIRE(std::string_view(body[name].GetString(), body[name].GetStringLength()) == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view input = fuzz::as_text(data, size);
  DetectorConfig detector = detector_from(input);
  HttpResponse response;
  response.status = kStatuses[fuzz::take_byte(input) % kStatuses.size()];
  const uint8_t options = fuzz::take_byte(input);
  if (detector.kind == DetectorKind::kGeneric) {
    const auto parts = fuzz::split_parts(input, 2);
    configure_generic(detector, options, parts[0]);
    input = parts[1];
  }
  response.body = std::string(input);
  check_score(detector, response);
  check_login(response);
  check_request(detector, response.body);
  return 0;
}
