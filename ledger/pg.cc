// libpq pipeline client (ledger/pg.h). The connection stays in pipeline mode for its whole
// life and in non-blocking mode, so sending a long pipeline never deadlocks against the
// server's results; every wait is a poll() bounded by io_timeout_ms.
#include "ledger/pg.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <stdexcept>

#include "crypto/digest.h"
#include "ledger/sql_text.h"

namespace pg {
namespace {

// The binary COPY signature, its terminating NUL included.
constexpr std::string_view kCopySignature{"PGCOPY\n\377\r\n", 11};

// The big-endian (network order) unsigned integer of `bytes` bytes at the front of `data`,
// removed from it: binary-format integers and the fields of binary COPY rows.
// std::runtime_error when `data` is shorter.
uint64_t take_be(std::string_view& data, std::size_t bytes) {
  if (data.size() < bytes) throw std::runtime_error("a binary value or row ends too early");
  uint64_t value = 0;
  for (std::size_t i = 0; i < bytes; ++i) {
    value = (value << 8) | static_cast<unsigned char>(data[i]);
  }
  data.remove_prefix(bytes);
  return value;
}

// SQLSTATEs that a later attempt of the same work can pass.
bool is_transient(std::string_view sqlstate) {
  return sqlstate == "40001"      // serialization_failure
         || sqlstate == "40P01"   // deadlock_detected
         || sqlstate == "57014"   // query_canceled (statement_timeout)
         || sqlstate == "55P03"   // lock_not_available (lock_timeout)
         || sqlstate == "57P01"   // admin_shutdown: the server is going away
         || sqlstate.substr(0, 2) == "53";  // insufficient resources
}

ErrorKind classify(std::string_view sqlstate) {
  // 57P02 crash_shutdown, 57P03 cannot_connect_now: the server ends the connection.
  if (sqlstate.substr(0, 2) == "08" || sqlstate == "57P02" || sqlstate == "57P03") {
    return ErrorKind::kConnection;
  }
  if (is_transient(sqlstate)) return ErrorKind::kTransient;
  if (sqlstate.substr(0, 2) == "23") return ErrorKind::kConstraint;
  return ErrorKind::kOther;
}

// The error a failed result reports, classified by its SQLSTATE.
Error result_error(const PGresult* result) {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  std::string sqlstate = state != nullptr ? state : "";
  const ErrorKind kind = classify(sqlstate);
  return Error(kind, std::move(sqlstate), PQresultErrorMessage(result));
}

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using OwnedResult = std::unique_ptr<PGresult, ResultDeleter>;

}  // namespace

Result::Result(pg_result* result) : result_(result) { assert(result_ != nullptr); }
Result::~Result() {
  if (result_ != nullptr) PQclear(result_);
}
Result::Result(Result&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

int Result::rows() const { return PQntuples(result_); }

bool Result::is_null(int row, int column) const {
  assert(row < rows() && column < PQnfields(result_));
  return PQgetisnull(result_, row, column) == 1;
}

std::string_view Result::text(int row, int column) const {
  assert(row < rows() && column < PQnfields(result_));
  return {PQgetvalue(result_, row, column),
          static_cast<std::size_t>(PQgetlength(result_, row, column))};
}

int64_t Result::int64(int row, int column) const {
  assert(!is_null(row, column));
  const std::string_view digits = text(row, column);
  int64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) {
    throw Error(ErrorKind::kOther, "", "column is not an int64: " + std::string(digits));
  }
  return value;
}

int64_t Result::binary_int64(int row, int column) const {
  assert(!is_null(row, column) && PQfformat(result_, column) == 1);
  std::string_view bytes = text(row, column);
  if (bytes.size() != sizeof(uint64_t)) {
    throw Error(ErrorKind::kOther, "", "column is not a binary 8-byte integer");
  }
  return static_cast<int64_t>(take_be(bytes, sizeof(uint64_t)));
}

bool Result::boolean(int row, int column) const {
  assert(!is_null(row, column));
  return text(row, column) == "t";
}

std::string Result::bytes(int row, int column) const {
  const std::string_view value = text(row, column);
  if (value.substr(0, 2) != "\\x") throw Error(ErrorKind::kOther, "", "bytea is not in hex form");
  std::optional<std::string> decoded = crypto::hex_decode(value.substr(2));
  if (!decoded) throw Error(ErrorKind::kOther, "", "bytea holds invalid hex");
  return std::move(*decoded);
}

int64_t Result::affected_rows() const {
  const char* tuples = PQcmdTuples(result_);
  return tuples[0] == '\0' ? 0 : std::stoll(tuples);
}

CopyRow::CopyRow(std::string_view row) : rest_(row) {
  fields_ = static_cast<int16_t>(take_be(rest_, 2));
  if (fields_ < 0) throw std::runtime_error("a binary COPY row has no field count");
}

std::string_view CopyRow::text() {
  if (read_ >= fields_) throw std::runtime_error("a binary COPY row has fewer fields");
  ++read_;
  const auto length = static_cast<int32_t>(take_be(rest_, 4));
  if (length < 0) throw std::runtime_error("a binary COPY field is NULL");
  if (rest_.size() < static_cast<std::size_t>(length)) {
    throw std::runtime_error("a binary COPY row ends too early");
  }
  const std::string_view value = rest_.substr(0, static_cast<std::size_t>(length));
  rest_.remove_prefix(static_cast<std::size_t>(length));
  return value;
}

int64_t CopyRow::int64() {
  std::string_view value = text();
  if (value.size() != 8) throw std::runtime_error("a binary COPY bigint is not 8 bytes");
  return static_cast<int64_t>(take_be(value, 8));
}

void append_be(std::string& out, uint64_t value, int bytes) {
  assert(bytes >= 1 && bytes <= 8);
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

CopyIn::CopyIn(std::string_view sql) : sql_(sql) {
  data_.append(kCopySignature);
  append_be(data_, 0, 4);  // flags: no OIDs
  append_be(data_, 0, 4);  // no header extension
}

void CopyIn::row(int16_t fields) {
  assert(!finished_ && fields > 0);
  append_be(data_, static_cast<uint16_t>(fields), 2);
  ++rows_;
}

void CopyIn::text(std::string_view value) {
  assert(!finished_ && value.size() <= 0x3fffffff);
  append_be(data_, value.size(), 4);
  data_.append(value);
}

void CopyIn::int64(int64_t value) {
  assert(!finished_);
  append_be(data_, 8, 4);
  append_be(data_, static_cast<uint64_t>(value), 8);
}

void CopyIn::timestamptz_unix_us(int64_t unix_us) { int64(unix_us - kPostgresEpochUs); }

std::string_view CopyIn::finish() {
  if (!finished_) {
    append_be(data_, 0xffff, 2);  // the trailer: a field count of -1
    finished_ = true;
  }
  return data_;
}

Connection::Connection(ConnectionOptions options) : options_(std::move(options)) {
  assert(options_.io_timeout_ms > 0);
  const std::string connect_timeout = std::to_string(options_.connect_timeout_s);
  // The URL comes last so that a connect_timeout it names wins over ours.
  const char* keywords[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {connect_timeout.c_str(), options_.url.c_str(), nullptr};
  connection_ = PQconnectdbParams(keywords, values, 1);
  if (connection_ == nullptr || PQstatus(connection_) != CONNECTION_OK) {
    fail_connection("cannot connect to the database: " +
                    std::string(connection_ ? PQerrorMessage(connection_) : "out of memory"));
  }
  if (PQsetnonblocking(connection_, 1) != 0 || PQenterPipelineMode(connection_) != 1) {
    fail_connection("cannot enter pipeline mode");
  }
  std::vector<std::string> names = {"statement_timeout"};
  std::vector<std::string> settings = {std::to_string(options_.statement_timeout_ms)};
  for (const auto& [name, value] : options_.settings) {
    names.push_back(name);
    settings.push_back(value);
  }
  exec({"", "SELECT set_config(n, v, false) FROM unnest($1::text[], $2::text[]) AS s(n, v)",
        {ledger::sql::text_array(names), ledger::sql::text_array(settings)}});
}

Connection::~Connection() {
  if (refused_copy_ != nullptr) PQclear(refused_copy_);
  if (copy_out_row_ != nullptr) PQfreemem(copy_out_row_);
  if (connection_ != nullptr) PQfinish(connection_);
}

bool Connection::usable() const {
  return !broken_ && connection_ != nullptr && PQstatus(connection_) == CONNECTION_OK;
}

int Connection::backend_pid() const { return PQbackendPID(connection_); }

void Connection::fail_statement(const Error& error) {
  if (error.kind() == ErrorKind::kConnection) broken_ = true;
  throw error;
}

void Connection::fail_connection(const std::string& what) {
  broken_ = true;
  expects_prepare_.clear();  // nothing more will be received on this connection
  copy_in_flight_ = false;
  copy_out_ = false;
  throw Error(ErrorKind::kConnection, "", what);
}

void Connection::wait_socket(bool for_write) {
  pollfd descriptor{PQsocket(connection_), static_cast<short>(for_write ? POLLOUT | POLLIN : POLLIN),
                    0};
  if (descriptor.fd < 0) fail_connection("the database connection has no socket");
  for (;;) {
    const int ready = ::poll(&descriptor, 1, static_cast<int>(options_.io_timeout_ms));
    if (ready > 0) return;
    if (ready == 0) fail_connection("no answer from the database within io_timeout_ms");
    if (errno != EINTR) fail_connection("poll on the database socket failed");
  }
}

void Connection::send(const Statement& statement) {
  const std::size_t params = statement.params.size();
  std::vector<const char*> values(params);
  std::vector<int> lengths(params);
  std::vector<int> formats(params);
  for (std::size_t i = 0; i < params; ++i) {
    const Param& param = statement.params[i];
    values[i] = param.value.c_str();                    // a text value ends at its NUL
    lengths[i] = static_cast<int>(param.value.size());  // read for binary values only
    formats[i] = param.is_binary ? 1 : 0;
  }
  const int count = static_cast<int>(params);
  const int result_format = statement.binary_results ? 1 : 0;
  if (statement.name.empty()) {
    // An unnamed statement is parsed on every use (session setup, rare statements).
    const std::string sql(statement.sql);
    if (PQsendQueryParams(connection_, sql.c_str(), count, nullptr, values.data(), lengths.data(),
                          formats.data(), result_format) != 1) {
      fail_connection(std::string("cannot queue a statement: ") + PQerrorMessage(connection_));
    }
    return;
  }
  const std::string name(statement.name);
  if (prepared_.find(statement.name) == prepared_.end() &&
      std::find(pending_prepares_.begin(), pending_prepares_.end(), statement.name) ==
          pending_prepares_.end()) {
    const std::string sql(statement.sql);
    if (PQsendPrepare(connection_, name.c_str(), sql.c_str(), count, nullptr) != 1) {
      fail_connection(std::string("cannot queue a prepare: ") + PQerrorMessage(connection_));
    }
    pending_prepares_.push_back(statement.name);
  }
  if (PQsendQueryPrepared(connection_, name.c_str(), count, values.data(), lengths.data(),
                          formats.data(), result_format) != 1) {
    fail_connection(std::string("cannot queue a statement: ") + PQerrorMessage(connection_));
  }
}

void Connection::flush() {
  for (;;) {
    const int pending = PQflush(connection_);
    if (pending == 0) return;
    if (pending < 0) fail_connection(std::string("send failed: ") + PQerrorMessage(connection_));
    wait_socket(true);
    // Read what the server already answered, so that neither side blocks on a full buffer.
    if (PQconsumeInput(connection_) != 1) {
      fail_connection(std::string("receive failed: ") + PQerrorMessage(connection_));
    }
  }
}

pg_result* Connection::next_result_or_null() {
  while (PQisBusy(connection_) == 1) {
    wait_socket(false);
    if (PQconsumeInput(connection_) != 1) {
      fail_connection(std::string("receive failed: ") + PQerrorMessage(connection_));
    }
  }
  return PQgetResult(connection_);
}

pg_result* Connection::next_result() {
  // Results are separated by NULLs (how many after an aborted statement is libpq's
  // business): skip them, but never loop on a connection that only yields NULLs.
  for (int nulls = 0; nulls < 4; ++nulls) {
    if (pg_result* result = next_result_or_null()) return result;
  }
  fail_connection("the database sent no result where one was due");
}

void Connection::send_copy(CopyIn& copy) {
  if (!usable()) fail_connection("the database connection is broken");
  assert(!awaiting_results() && !copy_in_flight_ && !copy_out_ &&
         "receive the last round trip first");
  const std::string_view data = copy.finish();
  // COPY is not allowed in pipeline mode: leave it (nothing is in flight) until
  // receive_copy().
  if (PQexitPipelineMode(connection_) != 1) fail_connection("cannot leave pipeline mode");
  copy_in_flight_ = true;
  const std::string sql(copy.sql());
  if (PQsendQuery(connection_, sql.c_str()) != 1) {
    fail_connection(std::string("cannot send the COPY: ") + PQerrorMessage(connection_));
  }
  ++round_trips_;
  flush();
  OwnedResult started(next_result());
  if (PQresultStatus(started.get()) != PGRES_COPY_IN) {
    // Refused before any row (no such table, no privilege): receive_copy() reports it.
    refused_copy_ = started.release();
    return;
  }
  constexpr std::size_t kPiece = 256 * 1024;
  for (std::size_t at = 0; at < data.size();) {
    const std::size_t length = std::min(kPiece, data.size() - at);
    const int queued = PQputCopyData(connection_, data.data() + at, static_cast<int>(length));
    if (queued < 0) {
      fail_connection(std::string("COPY send failed: ") + PQerrorMessage(connection_));
    }
    if (queued == 0) {  // libpq's buffer is full: send it, then queue again
      flush();
      continue;
    }
    at += length;
  }
  for (;;) {
    const int ended = PQputCopyEnd(connection_, nullptr);
    if (ended < 0) fail_connection(std::string("COPY end failed: ") + PQerrorMessage(connection_));
    if (ended == 1) break;
    flush();
  }
  flush();
}

int64_t Connection::receive_copy() {
  assert(copy_in_flight_ && "send_copy() first");
  OwnedResult outcome(refused_copy_ != nullptr ? refused_copy_ : next_result());
  refused_copy_ = nullptr;
  end_copy();
  copy_in_flight_ = false;
  if (PQresultStatus(outcome.get()) != PGRES_COMMAND_OK)
    fail_statement(result_error(outcome.get()));
  const char* tuples = PQcmdTuples(outcome.get());
  return tuples[0] == '\0' ? 0 : std::stoll(tuples);
}

void Connection::end_copy() {
  for (int extra = 0;; ++extra) {
    pg_result* result = next_result_or_null();
    if (result == nullptr) break;
    PQclear(result);
    if (extra == 4) fail_connection("the COPY did not end");
  }
  if (PQenterPipelineMode(connection_) != 1) fail_connection("cannot enter pipeline mode");
}

void Connection::start_copy_out(std::string_view sql) {
  if (!usable()) fail_connection("the database connection is broken");
  assert(!awaiting_results() && !copy_in_flight_ && !copy_out_ &&
         "receive the last round trip first");
  // COPY is not allowed in pipeline mode: leave it (nothing is in flight) until the end.
  if (PQexitPipelineMode(connection_) != 1) fail_connection("cannot leave pipeline mode");
  copy_out_ = true;
  copy_out_header_ = false;
  const std::string text(sql);
  if (PQsendQuery(connection_, text.c_str()) != 1) {
    fail_connection(std::string("cannot send the COPY: ") + PQerrorMessage(connection_));
  }
  ++round_trips_;
  flush();
  OwnedResult started(next_result());
  if (PQresultStatus(started.get()) == PGRES_COPY_OUT) return;
  // Refused before any row (no such table, no privilege).
  end_copy();
  copy_out_ = false;
  fail_statement(result_error(started.get()));
}

bool Connection::next_copy_row(std::string_view& row) {
  assert(copy_out_ && "start_copy_out() first");
  if (copy_out_row_ != nullptr) {
    PQfreemem(copy_out_row_);
    copy_out_row_ = nullptr;
  }
  for (;;) {
    char* buffer = nullptr;
    const int length = PQgetCopyData(connection_, &buffer, 1);
    if (length > 0) {
      copy_out_row_ = buffer;
      std::string_view data(buffer, static_cast<std::size_t>(length));
      if (!copy_out_header_) {
        // The header comes in front of the first row (or of the trailer).
        if (data.substr(0, kCopySignature.size()) != kCopySignature) {
          fail_connection("the COPY sent no binary header");
        }
        data.remove_prefix(kCopySignature.size());
        try {
          take_be(data, 4);                                                          // flags
          data.remove_prefix(std::min<std::size_t>(data.size(), take_be(data, 4)));  // extension
        } catch (const std::runtime_error&) {
          fail_connection("the COPY sent a short binary header");
        }
        copy_out_header_ = true;
      }
      if (data.empty()) continue;
      if (data == std::string_view("\xff\xff", 2)) continue;  // the trailer; the end follows
      row = data;
      return true;
    }
    if (length == 0) {  // no whole row buffered yet
      wait_socket(false);
      if (PQconsumeInput(connection_) != 1) {
        fail_connection(std::string("receive failed: ") + PQerrorMessage(connection_));
      }
      continue;
    }
    if (length == -2) {
      fail_connection(std::string("COPY receive failed: ") + PQerrorMessage(connection_));
    }
    // -1: the COPY ended.
    OwnedResult outcome(next_result());
    end_copy();
    copy_out_ = false;
    if (PQresultStatus(outcome.get()) != PGRES_COMMAND_OK) {
      fail_statement(result_error(outcome.get()));
    }
    return false;
  }
}

std::vector<Result> Connection::pipeline(std::span<const Statement> statements) {
  send_pipeline(statements);
  return receive_pipeline();
}

void Connection::send_pipeline(std::span<const Statement> statements) {
  assert(!statements.empty());
  if (!usable()) fail_connection("the database connection is broken");
  assert(!awaiting_results() && !copy_in_flight_ && !copy_out_ &&
         "receive the last round trip first");
  pending_prepares_.clear();
  // Prepares are sent (at most once per name) just before their first execution; their
  // results come back in the same order, interleaved with the statements' results.
  for (const Statement& statement : statements) {
    const std::size_t prepares_before = pending_prepares_.size();
    send(statement);
    if (pending_prepares_.size() > prepares_before) expects_prepare_.push_back(true);
    expects_prepare_.push_back(false);
  }
  if (PQpipelineSync(connection_) != 1) fail_connection("cannot queue the pipeline sync");
  ++round_trips_;
  flush();
}

std::vector<Result> Connection::receive_pipeline() {
  assert(awaiting_results() && "send_pipeline() first");
  const std::vector<bool> expects_prepare = std::move(expects_prepare_);
  expects_prepare_.clear();
  std::vector<Result> results;
  results.reserve(expects_prepare.size());
  std::optional<Error> first_error;
  std::size_t prepare_index = 0;
  for (const bool is_prepare : expects_prepare) {
    OwnedResult result(next_result());
    const ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_PIPELINE_SYNC) fail_connection("the pipeline ended early");
    const std::string_view prepared_name =
        is_prepare ? pending_prepares_.at(prepare_index++) : std::string_view();
    if (status == PGRES_PIPELINE_ABORTED) {
      if (!is_prepare) results.emplace_back(result.release());
      continue;  // skipped after an earlier error, which first_error holds
    }
    if (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR ||
        status == PGRES_BAD_RESPONSE) {
      if (!first_error) first_error.emplace(result_error(result.get()));
      if (!is_prepare) results.emplace_back(result.release());
      continue;
    }
    if (is_prepare) {
      prepared_.emplace(prepared_name);
      continue;
    }
    results.emplace_back(result.release());
  }
  OwnedResult sync(next_result());
  if (PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
    fail_connection("the pipeline did not end with its sync");
  }
  if (first_error) fail_statement(*first_error);
  return results;
}

Result Connection::exec(const Statement& statement) {
  std::vector<Result> results = pipeline(std::span<const Statement>(&statement, 1));
  return std::move(results.front());
}

void Connection::ping() { exec({"pg_ping", "SELECT 1", {}}); }

void Connection::rollback() {
  if (!usable()) return;
  const PGTransactionStatusType status = PQtransactionStatus(connection_);
  if (status != PQTRANS_INTRANS && status != PQTRANS_INERROR) return;
  exec({"", "ROLLBACK", {}});
}

Connection& LazyConnection::get() {
  if (connection_ && !connection_->usable()) connection_.reset();
  if (!connection_) connection_ = std::make_unique<Connection>(options_);
  return *connection_;
}

}  // namespace pg
