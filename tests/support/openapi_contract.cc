// Operation lookup and schema validation against docs/openapi.json.
#include "tests/support/openapi_contract.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace testing_support {
namespace {

std::string read_document() {
  std::ifstream file(LEDGER_OPENAPI_PATH, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " LEDGER_OPENAPI_PATH);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

// "/a/{id}/b" matches "/a/x/b"; a trailing "/" is a segment of its own ("/admin/").
bool path_matches(const std::string& path_template, const std::string& path) {
  const auto pattern = segments(path_template);
  const auto actual = segments(path);
  if (pattern.size() != actual.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const bool parameter = pattern[i].size() > 2 && pattern[i].front() == '{';
    if (parameter ? actual[i].empty() : pattern[i] != actual[i]) return false;
  }
  return true;
}

std::string path_of(const std::string& url) {
  std::string path = url;
  const std::size_t scheme = path.find("://");
  if (scheme != std::string::npos) {
    const std::size_t slash = path.find('/', scheme + 3);
    path = slash == std::string::npos ? "/" : path.substr(slash);
  }
  const std::size_t query = path.find_first_of("?#");
  if (query != std::string::npos) path.resize(query);
  return path;
}

std::string media_type(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back()))) type.pop_back();
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type;
}

class Contract {
 public:
  Contract() : text_(read_document()) {
    document_.Parse(text_.c_str());
    if (document_.HasParseError() || !document_.IsObject() || !document_.HasMember("paths")) {
      throw std::runtime_error("docs/openapi.json is not an OpenAPI document");
    }
  }

  const std::string& text() const { return text_; }

  std::optional<std::string> problem(const std::string& method, const std::string& url, long status,
                                     const std::string& content_type, const std::string& body) {
    const std::string path = path_of(url);
    std::string lower_method = method;
    for (char& c : lower_method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const rapidjson::Value* path_item = find_path(path);
    const std::string what = method + " " + path + " answered " + std::to_string(status);
    const bool json_body = media_type(content_type) == "application/json";
    if (path_item == nullptr) {
      // An unknown route: ledgerd's 404 (or a refusal before routing: 413, Pistache's 400 or
      // 408), as an Error body when it is JSON.
      if (status != 404 && status != 400 && status != 408 && status != 413) {
        return what + ": a path the document does not have answered other than 404";
      }
      if (!json_body) return std::nullopt;  // Pistache's own plain-text refusals
      return validate(what, "#/components/schemas/Error", body);
    }
    const rapidjson::Value* operation = nullptr;
    if (path_item->HasMember(lower_method.c_str())) {
      operation = &(*path_item)[lower_method.c_str()];
    } else {
      // Another method on a documented path: only a refusal (405, or before routing 400,
      // 408, 413), checked against what the path's first operation documents for it.
      if (status != 405 && status != 400 && status != 408 && status != 413) {
        return what + ": a method the path does not have answered other than 405";
      }
      for (auto it = path_item->MemberBegin(); it != path_item->MemberEnd(); ++it) {
        if (it->value.IsObject() && it->value.HasMember("responses")) {
          operation = &it->value;
          break;
        }
      }
      if (operation == nullptr) return what + ": the path has no operation";
    }
    const rapidjson::Value& responses = (*operation)["responses"];
    const std::string code = std::to_string(status);
    if (!responses.HasMember(code.c_str())) {
      return what + ": status not documented for this operation; body: " + body.substr(0, 300);
    }
    const rapidjson::Value* response = resolve(responses[code.c_str()]);
    if (response == nullptr) return what + ": unresolvable response $ref";
    if (!response->HasMember("content")) {
      if (body.empty()) return std::nullopt;
      return what + ": a body where the document promises none";
    }
    const rapidjson::Value& content = (*response)["content"];
    const std::string type = media_type(content_type);
    for (auto it = content.MemberBegin(); it != content.MemberEnd(); ++it) {
      if (media_type(it->name.GetString()) != type) continue;
      if (type != "application/json") return std::nullopt;
      return validate(what, schema_of(it->value), body);
    }
    return what + ": content type \"" + content_type +
           "\" not documented; body: " + body.substr(0, 200);
  }

 private:
  // A literal path before a template ("/x/latest" before "/x/{id}").
  const rapidjson::Value* find_path(const std::string& path) const {
    const rapidjson::Value& paths = document_["paths"];
    if (paths.HasMember(path.c_str())) return &paths[path.c_str()];
    for (auto it = paths.MemberBegin(); it != paths.MemberEnd(); ++it) {
      if (path_matches(it->name.GetString(), path)) return &it->value;
    }
    return nullptr;
  }

  // Follows a "#/components/..." $ref of a response object.
  const rapidjson::Value* resolve(const rapidjson::Value& value) const {
    if (!value.IsObject()) return nullptr;
    if (!value.HasMember("$ref")) return &value;
    const rapidjson::Pointer pointer(std::string(value["$ref"].GetString()).substr(1).c_str());
    const rapidjson::Value* target = pointer.Get(document_);
    return target == nullptr ? nullptr : resolve(*target);
  }

  // The schema of a media type object, as JSON text for the validator's root.
  static std::string schema_of(const rapidjson::Value& media) {
    if (!media.HasMember("schema")) return "{}";
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    media["schema"].Accept(writer);
    return buffer.GetString();
  }

  // Validates `body` against `schema` (JSON text, or a "#/components/..." reference); the
  // schema's own $refs resolve against the document's components.
  std::optional<std::string> validate(const std::string& what, const std::string& schema,
                                      const std::string& body) {
    const std::string root_text =
        schema.rfind("#/", 0) == 0 ? "{\"$ref\":\"" + schema + "\"}" : schema;
    const rapidjson::SchemaDocument& compiled = compile(root_text);
    rapidjson::Document instance;
    instance.Parse(body.c_str(), body.size());
    if (instance.HasParseError()) return what + ": the body is not JSON: " + body.substr(0, 200);
    rapidjson::SchemaValidator validator(compiled);
    if (instance.Accept(validator)) return std::nullopt;
    rapidjson::StringBuffer where;
    validator.GetInvalidDocumentPointer().StringifyUriFragment(where);
    rapidjson::StringBuffer rule;
    validator.GetInvalidSchemaPointer().StringifyUriFragment(rule);
    return what + ": the body breaks the schema (keyword \"" + validator.GetInvalidSchemaKeyword() +
           "\" at " + where.GetString() + ", schema " + rule.GetString() +
           "): " + body.substr(0, 400);
  }

  // One compiled schema per root text: {"allOf":[schema], "components": <the document's>}.
  const rapidjson::SchemaDocument& compile(const std::string& root_text) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = compiled_.find(root_text);
    if (found != compiled_.end()) return *found->second->schema;
    auto entry = std::make_unique<Compiled>();
    rapidjson::Document& root = entry->root;
    root.SetObject();
    rapidjson::Document schema(&root.GetAllocator());
    schema.Parse(root_text.c_str());
    rapidjson::Value all_of(rapidjson::kArrayType);
    all_of.PushBack(rapidjson::Value(schema, root.GetAllocator()), root.GetAllocator());
    root.AddMember("allOf", all_of, root.GetAllocator());
    root.AddMember("components", rapidjson::Value(document_["components"], root.GetAllocator()),
                   root.GetAllocator());
    entry->schema = std::make_unique<rapidjson::SchemaDocument>(root);
    const rapidjson::SchemaDocument& result = *entry->schema;
    compiled_.emplace(root_text, std::move(entry));
    return result;
  }

  struct Compiled {
    rapidjson::Document root;
    std::unique_ptr<rapidjson::SchemaDocument> schema;
  };

  const std::string text_;
  rapidjson::Document document_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Compiled>> compiled_;
};

std::mutex g_ports_mutex;
std::set<int> g_ports;  // of the ledgerd processes the tests started

Contract& contract() {
  static Contract instance;
  return instance;
}

}  // namespace

std::optional<std::string> contract_problem(const std::string& method, const std::string& url,
                                            long status, const std::string& content_type,
                                            const std::string& body) {
  try {
    return contract().problem(method, url, status, content_type, body);
  } catch (const std::exception& error) {  // an unreadable document fails the test, not the run
    return std::string("cannot check against docs/openapi.json: ") + error.what();
  }
}

void check_responses_from_port(int port) {
  std::lock_guard<std::mutex> lock(g_ports_mutex);
  g_ports.insert(port);
}

void stop_checking_port(int port) {
  std::lock_guard<std::mutex> lock(g_ports_mutex);
  g_ports.erase(port);
}

bool checks_responses_from(const std::string& url) {
  const std::string prefix = "http://127.0.0.1:";
  if (url.rfind(prefix, 0) != 0) return false;
  const int port = std::atoi(url.c_str() + prefix.size());
  std::lock_guard<std::mutex> lock(g_ports_mutex);
  return g_ports.count(port) > 0;
}

const std::string& openapi_text() { return contract().text(); }

}  // namespace testing_support
