// The audit console's static files (http/console/), embedded at build time so ledgerd
// serves them without the source tree.
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

}  // namespace http
