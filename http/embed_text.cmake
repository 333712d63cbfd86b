# Writes OUTPUT: a C++ function NAME() returning the text of INPUT (a file of the
# repository, e.g. docs/openapi.json), so ledgerd serves it without the source tree.
file(READ ${INPUT} content)
string(FIND "${content}" ")embedded_text\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string delimiter")
endif()
file(WRITE ${OUTPUT} "// Generated from ${INPUT} by embed_text.cmake. Do not edit.\n#include <string_view>\nnamespace http {\nstd::string_view ${NAME}() {\n  static constexpr std::string_view kText = R\"embedded_text(${content})embedded_text\";\n  return kText;\n}\n}  // namespace http\n")
