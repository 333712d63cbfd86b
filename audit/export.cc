// Event log export (audit/export.h).
#include "audit/export.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cassert>

#include "crypto/digest.h"
#include "ledger/sql_text.h"
#include "ledger/time_format.h"

namespace audit {
namespace {

constexpr int64_t kPageSize = 5'000;

// RFC 4180: quote a field that holds a comma, quote or line break; double inner quotes.
std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

struct Row {
  int64_t global_position;
  std::string stream_id;
  int64_t stream_version;
  std::string event_id;
  std::string event_type;
  int64_t recorded_at_us;
  std::string payload;
  std::string metadata;
  std::string hash_hex;
};

void write_csv(const Row& r, std::ostream& out) {
  out << r.global_position << ',' << csv_field(r.stream_id) << ',' << r.stream_version << ','
      << r.event_id << ',' << csv_field(r.event_type) << ','
      << ledger::format_rfc3339(r.recorded_at_us) << ',' << csv_field(r.payload) << ','
      << csv_field(r.metadata) << ',' << r.hash_hex << '\n';
}

void write_json_line(const Row& r, std::ostream& out) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("global_position");
  w.Int64(r.global_position);
  w.Key("stream_id");
  w.String(r.stream_id.c_str(), static_cast<rapidjson::SizeType>(r.stream_id.size()));
  w.Key("stream_version");
  w.Int64(r.stream_version);
  w.Key("event_id");
  w.String(r.event_id.c_str());
  w.Key("type");
  w.String(r.event_type.c_str());
  w.Key("recorded_at");
  w.String(ledger::format_rfc3339(r.recorded_at_us).c_str());
  w.Key("payload");  // stored JSON, embedded as is
  w.RawValue(r.payload.c_str(), r.payload.size(), rapidjson::kObjectType);
  w.Key("metadata");
  w.RawValue(r.metadata.c_str(), r.metadata.size(), rapidjson::kObjectType);
  w.Key("hash");
  w.String(r.hash_hex.c_str());
  w.EndObject();
  out << buffer.GetString() << '\n';
}

}  // namespace

int64_t export_events(pqxx::connection& connection, int64_t from_us, int64_t to_us,
                      ExportFormat format, std::ostream& out, const ExportProgress& progress) {
  assert(from_us <= to_us);
  if (format == ExportFormat::kCsv) {
    out << "global_position,stream_id,stream_version,event_id,type,recorded_at,payload,"
           "metadata,hash\n";
  }
  pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> work(connection);
  int64_t after_position = 0;
  int64_t written = 0;
  for (;;) {
    const pqxx::result rows = work.exec_params(
        "SELECT global_position, stream_id, stream_version, event_id::text, event_type, " +
            ledger::sql::epoch_us("recorded_at") +
            ", payload::text, metadata::text, hash FROM ledger_events"
            " WHERE recorded_at >= $1::timestamptz AND recorded_at < $2::timestamptz"
            " AND global_position > $3 ORDER BY global_position LIMIT $4",
        ledger::sql::timestamp_literal(from_us), ledger::sql::timestamp_literal(to_us),
        after_position, kPageSize);
    for (const pqxx::row& row : rows) {
      const Row r{row[0].as<int64_t>(),  row[1].as<std::string>(), row[2].as<int64_t>(),
                  row[3].as<std::string>(), row[4].as<std::string>(), row[5].as<int64_t>(),
                  row[6].as<std::string>(), row[7].as<std::string>(),
                  crypto::hex_encode(pqxx::binarystring(row[8]).str())};
      if (format == ExportFormat::kCsv) {
        write_csv(r, out);
      } else {
        write_json_line(r, out);
      }
      after_position = r.global_position;
      ++written;
    }
    if (progress) progress(written);
    if (static_cast<int64_t>(rows.size()) < kPageSize) break;
  }
  return written;
}

}  // namespace audit
