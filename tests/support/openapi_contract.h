// The contract test of docs/openapi.json (issue 13): every response an HTTP test receives
// from ledgerd is checked against the document. The operation is found by method and path;
// the status must be one the operation lists, and a JSON body must validate against the
// schema of that status (RapidJSON's JSON Schema validator; the document keeps to the
// keywords it knows). http_request() calls this for every response it returns. Not checked:
// headers (Retry-After, Allow, Idempotent-Replayed), `format` (RapidJSON 1.1 ignores it),
// and responses read off raw sockets (raw_http_exchange: malformed requests).
#pragma once

#include <optional>
#include <string>

namespace testing_support {

// What is wrong with `status` + `body` (of `content_type`) as the answer to `method` on
// `url` (absolute or a path; the query is ignored), or nullopt when the document allows it.
// A path the document does not have (a test probing unknown routes) must answer a JSON
// error body. Thread-safe (the document uses no `pattern`, whose RapidJSON 1.1 matcher
// keeps state shared between validators).
std::optional<std::string> contract_problem(const std::string& method, const std::string& url,
                                            long status, const std::string& content_type,
                                            const std::string& body);

// Responses from 127.0.0.1:`port` are checked from now on (LedgerdProcess registers the
// port of each ledgerd it starts; fake providers on other ports are not ledgerd).
void check_responses_from_port(int port);
// Stops that when the ledgerd on `port` is gone (another server may get the port).
void stop_checking_port(int port);
// Whether responses from `url`'s port are checked.
bool checks_responses_from(const std::string& url);

// The document's text (docs/openapi.json of the source tree the tests were built from).
const std::string& openapi_text();

}  // namespace testing_support
