// JSON reply construction over RapidJSON's writer.
#include "http/json_reply.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cassert>

namespace http {

struct JsonObject::State {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer{buffer};
  bool finished = false;
};

JsonObject::JsonObject() : state_(std::make_unique<State>()) { state_->writer.StartObject(); }
JsonObject::~JsonObject() = default;
JsonObject::JsonObject(JsonObject&&) noexcept = default;
JsonObject& JsonObject::operator=(JsonObject&&) noexcept = default;

JsonObject& JsonObject::field(std::string_view name, int64_t value) {
  assert(!state_->finished);
  state_->writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  state_->writer.Int64(value);
  return *this;
}

JsonObject& JsonObject::field(std::string_view name, std::string_view value) {
  assert(!state_->finished);
  state_->writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  state_->writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  return *this;
}

JsonObject& JsonObject::field(std::string_view name, bool value) {
  assert(!state_->finished);
  state_->writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  state_->writer.Bool(value);
  return *this;
}

JsonObject& JsonObject::null_field(std::string_view name) {
  assert(!state_->finished);
  state_->writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  state_->writer.Null();
  return *this;
}

JsonObject& JsonObject::raw_field(std::string_view name, std::string_view json) {
  assert(!state_->finished);
  assert(!json.empty());
  state_->writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  state_->writer.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  return *this;
}

std::string JsonObject::finish() {
  assert(!state_->finished);
  state_->writer.EndObject();
  state_->finished = true;
  assert(state_->writer.IsComplete());
  return std::string(state_->buffer.GetString(), state_->buffer.GetSize());
}

HttpReply json_error(int status, std::string_view code, std::initializer_list<JsonDetail> details) {
  assert(status >= 400 && status <= 599);
  assert(!code.empty());
  JsonObject body;
  body.field("error", code);
  for (const auto& [name, value] : details) {
    if (const auto* number = std::get_if<int64_t>(&value)) {
      body.field(name, *number);
    } else {
      body.field(name, std::get<std::string_view>(value));
    }
  }
  HttpReply reply;
  reply.status = status;
  reply.body = body.finish();
  return reply;
}

HttpReply service_unavailable(int64_t retry_after_s) {
  assert(retry_after_s > 0);
  HttpReply reply = json_error(503, "service_unavailable", {{"retry_after", retry_after_s}});
  reply.retry_after_s = retry_after_s;
  return reply;
}

HttpReply rate_limit_exceeded(int64_t retry_after_s) {
  assert(retry_after_s > 0);
  HttpReply reply = json_error(429, "rate_limit_exceeded", {{"retry_after", retry_after_s}});
  reply.retry_after_s = retry_after_s;
  return reply;
}

HttpReply json_reply(int status, std::string body) {
  assert(status >= 200 && status <= 299);
  HttpReply reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

}  // namespace http
