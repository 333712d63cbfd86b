// A small libpq client for the ledger's own tables: named prepared statements with text
// parameters, several statements sent as ONE round trip (libpq pipeline mode, which
// libpqxx 6.4 does not wrap), results read as text or binary, binary COPY both ways (bulk
// rows in, the log scan out), errors classified by SQLSTATE, every wait on the socket
// bounded, and a count of round trips (what a batch costs is tested).
// One Connection per thread: libpq connections are not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pg_conn;
struct pg_result;

namespace pg {

// One parameter of a statement: text, which the server parses by the parameter's type, or
// the bytes of the type's binary format (the arrays of ledger/sql_text.h, which the server
// then reads without parsing or unescaping a literal).
struct Param {
  Param(std::string text) : value(std::move(text)) {}  // NOLINT: implicit, as a text value
  Param(const char* text) : value(text) {}             // NOLINT
  static Param binary(std::string bytes) {
    Param param(std::move(bytes));
    param.is_binary = true;
    return param;
  }
  std::string value;
  bool is_binary = false;
};

// One statement to run: `sql` is prepared once per connection under `name` (names must be
// unique per SQL text), parameters are $1..$n (Param). `name` and `sql` are string literals
// or other storage that outlives the call. With `binary_results` every column comes back in
// PostgreSQL's binary format (read with Result::text for text, json and bytea,
// Result::binary_int64 for bigint), which spares the server the text conversions and the
// client the parsing: the log scans use it.
struct Statement {
  std::string_view name;
  std::string_view sql;
  std::vector<Param> params;
  bool binary_results = false;
};

// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC), the origin of a
// timestamptz in binary format.
inline constexpr int64_t kPostgresEpochUs = 946'684'800'000'000;

// Appends the low `bytes` bytes of `value` to `out`, big-endian (network order): the integers
// of PostgreSQL's binary formats (COPY, arrays).
void append_be(std::string& out, uint64_t value, int bytes);

// A COPY ... FROM STDIN (FORMAT binary) and its rows, written with the methods below
// (PostgreSQL's binary COPY format: a header, per row its field count and each field's
// length and bytes, a trailer). Text goes as its bytes (the server checks the encoding),
// bigint and timestamptz as 8 bytes, big-endian. Bulk inserts (replay) go this way: the
// server parses no array or timestamp text and inserts the rows in batches.
class CopyIn {
 public:
  explicit CopyIn(std::string_view sql);
  std::string_view sql() const { return sql_; }
  void row(int16_t fields);  // starts a row of `fields` fields
  void text(std::string_view value);
  void int64(int64_t value);
  void timestamptz_unix_us(int64_t unix_us);  // microseconds since 1970-01-01 UTC
  int64_t rows() const { return rows_; }
  // The whole stream, the trailer included (once: nothing may be added after).
  std::string_view finish();

 private:
  std::string_view sql_;
  std::string data_;
  int64_t rows_ = 0;
  bool finished_ = false;
};

// One row of a COPY ... TO STDOUT (FORMAT binary) (Connection::next_copy_row), its fields
// read in order: per field its length and bytes, a bigint or timestamptz as 8 bytes,
// big-endian. A NULL, a field past the row's count or bytes past its end throw
// std::runtime_error.
class CopyRow {
 public:
  explicit CopyRow(std::string_view row);  // reads the field count
  int fields() const { return fields_; }
  // The next field's bytes: a text, json or bytea value's raw bytes, a uuid's 16 bytes.
  std::string_view text();
  int64_t int64();  // the next field, a bigint (or a timestamptz: microseconds since 2000)
  int64_t timestamptz_unix_us() { return int64() + kPostgresEpochUs; }

 private:
  std::string_view rest_;
  int fields_ = 0;
  int read_ = 0;
};

// What went wrong, for the caller's retry decision.
enum class ErrorKind {
  kConnection,  // connection lost or unusable, or the socket wait timed out: reconnect
  kTransient,   // serialization failure, deadlock, statement/lock timeout, out of resources
  kConstraint,  // a constraint refused a row (SQLSTATE class 23)
  kOther,       // anything else (a programming error: syntax, type mismatch)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string sqlstate, const std::string& message)
      : std::runtime_error(message), kind_(kind), sqlstate_(std::move(sqlstate)) {}
  ErrorKind kind() const { return kind_; }
  const std::string& sqlstate() const { return sqlstate_; }  // "" for connection errors

 private:
  ErrorKind kind_;
  std::string sqlstate_;
};

// The rows of one statement, as text. Column and row indexes are 0-based; reading a NULL as
// a number or an index out of range is a programming error (asserted).
class Result {
 public:
  explicit Result(pg_result* result);
  ~Result();
  Result(Result&&) noexcept;
  Result& operator=(Result&&) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  int rows() const;
  bool is_null(int row, int column) const;
  // The value's bytes: its text in text format; in binary format the raw bytes of a text,
  // json or bytea value, the 16 bytes of a uuid.
  std::string_view text(int row, int column) const;
  std::string string(int row, int column) const { return std::string(text(row, column)); }
  int64_t int64(int row, int column) const;
  bool boolean(int row, int column) const;
  // A bigint or timestamptz column in binary format (a timestamptz is microseconds since
  // 2000-01-01 UTC).
  int64_t binary_int64(int row, int column) const;
  // A timestamptz column in binary format, as microseconds since 1970-01-01 UTC.
  int64_t binary_timestamptz_unix_us(int row, int column) const {
    return binary_int64(row, column) + kPostgresEpochUs;
  }
  // A bytea column as raw bytes (text output format "\x<hex>").
  std::string bytes(int row, int column) const;
  // The number of rows a data-modifying statement touched.
  int64_t affected_rows() const;

 private:
  pg_result* result_;
};

struct ConnectionOptions {
  std::string url;                       // libpq URL or key=value string
  int64_t statement_timeout_ms = 10'000;  // server side, per statement (0: none)
  // Longest wait for the server during one round trip, client side: a hung network or
  // server ends in ErrorKind::kConnection instead of blocking the caller forever.
  int64_t io_timeout_ms = 30'000;
  int64_t connect_timeout_s = 5;
  // More session settings (name, value), applied with set_config at connect.
  std::vector<std::pair<std::string, std::string>> settings = {};
};

class Connection {
 public:
  // Connects and applies the session settings. Throws Error(kConnection) on failure.
  explicit Connection(ConnectionOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs `statements` in order as one round trip (prepares the ones this connection has not
  // prepared yet in the same round trip) and returns one Result per statement. Outside an
  // explicit BEGIN the statements form one implicit transaction. On a statement error the
  // later statements are skipped and Error is thrown; a transaction block the statements
  // opened stays open in the failed state: call rollback().
  std::vector<Result> pipeline(std::span<const Statement> statements);
  // pipeline() in two halves, so that a caller can work while the server answers (the log
  // reader parsing page n while the server reads page n+1, replay folding its next chunk
  // while the server writes the last): send_pipeline() queues and
  // sends `statements` without waiting; the next call on the connection must be
  // receive_pipeline(), which waits for their results (and throws as pipeline() does).
  void send_pipeline(std::span<const Statement> statements);
  std::vector<Result> receive_pipeline();
  // Whether a send_pipeline() awaits its receive_pipeline().
  bool awaiting_results() const { return !expects_prepare_.empty(); }
  // `copy` (finished) in two halves, like send_pipeline()/receive_pipeline():
  // send_copy() starts the COPY (a round trip: the server answers that it takes the rows)
  // and sends every row and the end without waiting for them to be written; the next call
  // on the connection must be receive_copy(), which waits for the COPY's end and returns the
  // rows written, or throws Error as pipeline() does (a transaction block stays open in the
  // failed state: call rollback()).
  void send_copy(CopyIn& copy);
  int64_t receive_copy();
  // Whether a send_copy() awaits its receive_copy().
  bool awaiting_copy() const { return copy_in_flight_; }
  // A COPY ... TO STDOUT (FORMAT binary) read row by row, the server sending while the
  // caller reads (the log scan: one statement for the whole log, no page queries):
  // start_copy_out() sends `sql` and waits for the server to start the COPY, or throws
  // Error as pipeline() does. next_copy_row() gives the next row's bytes (for CopyRow), valid
  // until the next call, and false after the last row, once the COPY ended; it throws
  // Error if the COPY failed. Until then no other call may be made on the connection (it
  // is out of pipeline mode).
  void start_copy_out(std::string_view sql);
  bool next_copy_row(std::string_view& row);
  // One statement, one round trip.
  Result exec(const Statement& statement);
  // ROLLBACK when a transaction block is open (one round trip), else nothing.
  void rollback();
  // One round trip that asks the server nothing (SELECT 1): whether it answers.
  void ping();

  // False once a connection-level failure happened: the owner must replace it.
  bool usable() const;
  int backend_pid() const;
  // What it was opened with (a second connection of the same kind).
  const ConnectionOptions& options() const { return options_; }
  int64_t round_trips() const { return round_trips_; }

 private:
  void send(const Statement& statement);
  void flush();
  void wait_socket(bool for_write);
  pg_result* next_result();
  pg_result* next_result_or_null();
  [[noreturn]] void fail_connection(const std::string& what);
  // Throws a statement's error; one of the connection class breaks the connection.
  [[noreturn]] void fail_statement(const Error& error);
  // After a COPY's result (or its refusal): reads the NULL that ends it and enters pipeline
  // mode again.
  void end_copy();

  const ConnectionOptions options_;
  pg_conn* connection_ = nullptr;
  std::set<std::string, std::less<>> prepared_;
  std::vector<std::string_view> pending_prepares_;  // sent in the current round trip
  // Per result of the round trip in flight: a prepare's (true) or a statement's; empty when
  // nothing is in flight.
  std::vector<bool> expects_prepare_;
  int64_t round_trips_ = 0;
  bool broken_ = false;
  bool copy_in_flight_ = false;        // out of pipeline mode until receive_copy()
  pg_result* refused_copy_ = nullptr;  // a COPY refused before any row, for receive_copy()
  bool copy_out_ = false;              // out of pipeline mode until its last row
  bool copy_out_header_ = false;       // the binary COPY header was read
  char* copy_out_row_ = nullptr;       // the last row next_copy_row() gave (libpq's memory)
};

// A connection opened on first use and opened again after it broke: the one way the
// long-lived loops (HTTP read threads, the database probe, the sweeper, the inbox retrier,
// the outbox, the e-mail handler) hold their connection. Not thread-safe, like Connection.
class LazyConnection {
 public:
  explicit LazyConnection(ConnectionOptions options) : options_(std::move(options)) {}

  // The open connection: connects when there is none or the last one broke (throws
  // Error(kConnection) when the server is unreachable).
  Connection& get();
  // Drops the connection, e.g. after an error that left its state unknown.
  void reset() { connection_.reset(); }
  const ConnectionOptions& options() const { return options_; }

 private:
  const ConnectionOptions options_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace pg
