// Tests for integrations/detectors_config.h: the DESIGN.md example parses; every
// validation rule reports a clear, located error.
#include "integrations/detectors_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace {

using integrations::DetectorKind;
using integrations::parse_detectors_config;

const char* const kDesignExample = R"({
  "overall_timeout_ms": 20000,
  "verdict": {"likely_human_below": 35, "likely_ai_from": 65},
  "_comment": "keys starting with an underscore are ignored",
  "detectors": [
    {"name": "gptzero", "kind": "gptzero", "enabled": true, "base_url": "https://api.gptzero.me",
     "api_key": "gz", "weight": 1.0, "timeout_ms": 8000},
    {"name": "copyleaks", "kind": "copyleaks", "api_key": "ck", "email": "ops@example.com",
     "login_url": "https://id.copyleaks.com/v3/account/login/api", "sandbox": true},
    {"name": "zerogpt", "kind": "zerogpt", "enabled": false},
    {"name": "turnitin", "kind": "generic", "url": "https://turnitin.example/api/score",
     "auth_header": "Authorization", "auth_value": "Bearer t", "text_field": "text",
     "score_pointer": "/ai_score", "scale": 100, "invert": false, "weight": 1.0,
     "timeout_ms": 15000}
  ]
})";

std::string error_of(const std::string& json) {
  const auto result = parse_detectors_config(json);
  EXPECT_FALSE(result.ok()) << json;
  return result.error;
}

std::string with_detector(const std::string& detector_json) {
  return R"({"detectors": [)" + detector_json + "]}";
}

TEST(DetectorsConfig, ParsesTheDesignExample) {
  const auto result = parse_detectors_config(kDesignExample);
  ASSERT_TRUE(result.ok()) << result.error;
  const auto& config = *result.config;
  EXPECT_EQ(config.overall_timeout_ms, 20'000);
  EXPECT_EQ(config.verdict.likely_human_below, 35.0);
  EXPECT_EQ(config.verdict.likely_ai_from, 65.0);
  EXPECT_EQ(config.internal_weight, 1.0);
  ASSERT_EQ(config.detectors.size(), 4u);

  const auto* gptzero = config.find("gptzero");
  ASSERT_NE(gptzero, nullptr);
  EXPECT_EQ(gptzero->kind, DetectorKind::kGptzero);
  EXPECT_EQ(gptzero->timeout_ms, 8'000);
  EXPECT_EQ(gptzero->api_key, "gz");

  const auto* copyleaks = config.find("copyleaks");
  EXPECT_EQ(copyleaks->email, "ops@example.com");
  EXPECT_TRUE(copyleaks->sandbox);
  EXPECT_EQ(copyleaks->timeout_ms, 8'000);  // Default.

  EXPECT_FALSE(config.find("zerogpt")->enabled);  // Disabled: api_key not required.

  const auto* turnitin = config.find("turnitin");
  EXPECT_EQ(turnitin->kind, DetectorKind::kGeneric);
  EXPECT_EQ(turnitin->score_pointer, "/ai_score");
  EXPECT_EQ(turnitin->scale, 100);
  EXPECT_EQ(turnitin->auth_value, "Bearer t");
  EXPECT_EQ(config.find("nope"), nullptr);

  const auto weights = config.weights();
  EXPECT_EQ(weights.size(), 5u);
  EXPECT_EQ(weights.at("internal"), 1.0);
}

TEST(DetectorsConfig, EmptyObjectMeansDefaultsAndNoDetectors) {
  const auto result = parse_detectors_config("{}");
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.config->detectors.empty());
  EXPECT_EQ(result.config->overall_timeout_ms, 20'000);
}

TEST(DetectorsConfig, InternalWeightExtension) {
  const auto result = parse_detectors_config(R"({"internal_weight": 2.5})");
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.config->weights().at("internal"), 2.5);
}

TEST(DetectorsConfig, RejectsMalformedJson) {
  EXPECT_NE(error_of("{").find("invalid JSON"), std::string::npos);
  EXPECT_NE(error_of("[]").find("JSON object"), std::string::npos);
  EXPECT_NE(error_of("").find("invalid JSON"), std::string::npos);
}

// Found by the detectors_file fuzz target: an unknown key spelled with a lone surrogate
// escape was echoed into the error message as invalid UTF-8.
TEST(DetectorsConfig, RejectsStringsThatAreNotStorableText) {
  for (const char* json :
       {R"({"detectors":[{"name":"z","kind":"zerogpt","api\udc00_key":"k"}]})",
        R"({"detectors":[{"name":"z","kind":"zerogpt","api_key":"k\u0000"}]})"}) {
    const std::string error = error_of(json);
    EXPECT_NE(error.find("lone surrogate escape or a NUL"), std::string::npos) << error;
  }
}

TEST(DetectorsConfig, RejectsBadTopLevelFields) {
  EXPECT_EQ(error_of(R"({"overall_timeout_ms": 0})"),
            "overall_timeout_ms: must be an integer in 1..120000");
  EXPECT_EQ(error_of(R"({"overall_timeout_ms": "20s"})"),
            "overall_timeout_ms: must be an integer in 1..120000");
  EXPECT_EQ(error_of(R"({"overal_timeout_ms": 5})"), "overal_timeout_ms: unknown field");
  EXPECT_EQ(error_of(R"({"verdict": {"likely_human_below": 70, "likely_ai_from": 60}})"),
            "verdict.likely_human_below: must not exceed likely_ai_from");
  EXPECT_NE(error_of(R"({"verdict": {"likely_ai_from": 101}})").find("verdict.likely_ai_from"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"detectors": {}})").find("detectors: must be an array"),
            std::string::npos);
}

TEST(DetectorsConfig, RejectsBadDetectors) {
  EXPECT_EQ(error_of(with_detector(R"({"kind": "gptzero", "api_key": "k"})")),
            "detectors[0].name: is required");
  EXPECT_NE(error_of(with_detector(R"({"name": "x", "kind": "gpt-zero", "api_key": "k"})"))
                .find("detectors[0].kind: must be one of"),
            std::string::npos);
  EXPECT_EQ(error_of(with_detector(R"({"name": "x", "kind": "sapling"})")),
            "detectors[0].api_key: is required when enabled (directly or through a set "
            "api_key_env)");
  EXPECT_EQ(error_of(with_detector(R"({"name": "x", "kind": "copyleaks", "api_key": "k"})")),
            "detectors[0].email: is required for copyleaks");
  EXPECT_NE(error_of(with_detector(R"({"name": "Bad Name", "kind": "sapling", "api_key": "k"})"))
                .find("detectors[0].name"),
            std::string::npos);
  EXPECT_NE(error_of(with_detector(R"({"name": "internal", "kind": "sapling", "api_key": "k"})"))
                .find("detectors[0].name"),
            std::string::npos);
  EXPECT_EQ(error_of(with_detector(
                R"({"name": "x", "kind": "sapling", "api_key": "k", "timeout_ms": 0})")),
            "detectors[0].timeout_ms: must be an integer in 1..120000");
  EXPECT_NE(
      error_of(with_detector(R"({"name": "x", "kind": "sapling", "api_key": "k", "weight": -1})"))
          .find("detectors[0].weight"),
      std::string::npos);
  EXPECT_EQ(
      error_of(with_detector(
          R"({"name": "x", "kind": "sapling", "api_key": "k", "base_url": "api.sapling.ai"})")),
      "detectors[0].base_url: must start with http:// or https://");
  EXPECT_EQ(error_of(with_detector(
                R"({"name": "x", "kind": "sapling", "api_key": "k", "email": "a@b"})")),
            "detectors[0].email: unknown field for kind sapling");
  EXPECT_EQ(error_of(R"({"detectors": [{"name": "x", "kind": "sapling", "api_key": "k"},
                                       {"name": "x", "kind": "zerogpt", "api_key": "k"}]})"),
            "detectors[1].name: duplicate name \"x\"");
}

TEST(DetectorsConfig, RejectsBadGenericDetectors) {
  const std::string base = R"("name": "g", "kind": "generic", "url": "https://g.example/score")";
  EXPECT_EQ(error_of(with_detector("{" + base + "}")), "detectors[0].score_pointer: is required");
  EXPECT_NE(error_of(with_detector("{" + base + R"(, "score_pointer": "ai_score"})"))
                .find("detectors[0].score_pointer: must be a JSON pointer"),
            std::string::npos);
  EXPECT_EQ(error_of(with_detector("{" + base + R"(, "score_pointer": "/s", "scale": 10})")),
            "detectors[0].scale: must be 1 or 100");
  EXPECT_EQ(error_of(with_detector(R"({"name": "g", "kind": "generic", "score_pointer": "/s"})")),
            "detectors[0].url: is required");
  EXPECT_EQ(error_of(with_detector("{" + base +
                                   R"(, "score_pointer": "/s", "auth_header": "Bad Header"})")),
            "detectors[0].auth_header: must be a valid HTTP header name");
  EXPECT_EQ(
      error_of(with_detector("{" + base + R"(, "score_pointer": "/s", "base_url": "https://x"})")),
      "detectors[0].base_url: unknown field for kind generic");
  const auto ok = parse_detectors_config(
      with_detector("{" + base + R"(, "score_pointer": "/a/0/b", "scale": 1})"));
  ASSERT_TRUE(ok.ok()) << ok.error;
  EXPECT_EQ(ok.config->detectors[0].text_field, "text");
  EXPECT_EQ(ok.config->detectors[0].scale, 1);
}

TEST(DetectorsConfig, RejectsTooManyDetectors) {
  std::string detectors;
  for (std::size_t i = 0; i <= integrations::kDetectorsMax; ++i) {
    detectors += (i ? "," : "") + std::string(R"({"name": "d)") + std::to_string(i) +
                 R"(", "kind": "sapling", "api_key": "k"})";
  }
  EXPECT_NE(error_of(R"({"detectors": [)" + detectors + "]}").find("at most 32"),
            std::string::npos);
}

TEST(DetectorsConfig, LoadsFromFileAndNamesThePathInErrors) {
  const std::string path =
      ::testing::TempDir() + "/detectors_config_test_" + std::to_string(::getpid()) + ".json";
  {
    std::ofstream file(path);
    file << kDesignExample;
  }
  const auto loaded = integrations::load_detectors_config(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error;
  EXPECT_EQ(loaded.config->detectors.size(), 4u);
  {
    std::ofstream file(path);
    file << R"({"overall_timeout_ms": -1})";
  }
  const auto bad = integrations::load_detectors_config(path);
  EXPECT_EQ(bad.error, path + ": overall_timeout_ms: must be an integer in 1..120000");
  std::remove(path.c_str());
  EXPECT_NE(integrations::load_detectors_config(path).error.find("cannot open"), std::string::npos);
}

TEST(DetectorsConfig, ReadsSecretsFromNamedEnvironmentVariables) {
  ::setenv("DETECTORS_TEST_GPTZERO_KEY", "from-env", 1);
  ::setenv("DETECTORS_TEST_TURNITIN_AUTH", "Bearer env-token", 1);
  ::unsetenv("DETECTORS_TEST_UNSET");
  const auto result = parse_detectors_config(R"({"detectors": [
    {"name": "gptzero", "kind": "gptzero", "api_key": "file", "api_key_env": "DETECTORS_TEST_GPTZERO_KEY"},
    {"name": "sapling", "kind": "sapling", "api_key": "file", "api_key_env": "DETECTORS_TEST_UNSET"},
    {"name": "turnitin", "kind": "generic", "url": "https://t.example/s", "score_pointer": "/s",
     "auth_header": "Authorization", "auth_value_env": "DETECTORS_TEST_TURNITIN_AUTH"}]})");
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.config->find("gptzero")->api_key, "from-env");
  EXPECT_EQ(result.config->find("sapling")->api_key, "file");  // unset variable: the file's
  EXPECT_EQ(result.config->find("turnitin")->auth_value, "Bearer env-token");

  // Enabled without a key from either source; a malformed variable name.
  EXPECT_NE(
      error_of(with_detector(
                   R"({"name": "z", "kind": "zerogpt", "api_key_env": "DETECTORS_TEST_UNSET"})"))
          .find("detectors[0].api_key: is required when enabled"),
      std::string::npos);
  EXPECT_NE(
      error_of(with_detector(R"({"name": "z", "kind": "zerogpt", "api_key_env": "BAD-NAME"})"))
          .find("detectors[0].api_key_env: must be an environment variable name"),
      std::string::npos);
  ::unsetenv("DETECTORS_TEST_GPTZERO_KEY");
  ::unsetenv("DETECTORS_TEST_TURNITIN_AUTH");
}

}  // namespace
