// The files ledgerd serves from the repository, embedded at build time so it serves them
// without the source tree: the audit console (http/console/) and the OpenAPI document.
#pragma once

#include <string_view>
#include <vector>

namespace http {

struct ConsoleAsset {
  std::string_view name;          // "index.html", "console.js", "console.css"
  std::string_view content_type;  // with charset
  std::string_view content;
};

const std::vector<ConsoleAsset>& console_assets();

// docs/openapi.json: the OpenAPI 3.1 document of every route (GET /api/v1/openapi.json).
std::string_view openapi_document();

}  // namespace http
