// pg::CopyIn and Connection::send_copy/receive_copy against a real PostgreSQL: binary rows
// arrive exactly (text with quotes, backslashes and UTF-8, int64 extremes, timestamps before
// and after 2000), a stream larger than libpq's buffers goes through, a refused row or a
// refused COPY is an Error from receive_copy, and the connection serves statements after.
// And the other way, Connection::start_copy_out/next_copy_row with pg::CopyRow: the same
// rows come back exactly, none, or megabytes; a COPY refused at the start or failing
// midway is an Error, and the connection serves statements after.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "ledger/pg.h"
#include "tests/support/test_database.h"

namespace {

using testing_support::TestDatabase;

constexpr std::string_view kCopySql = "COPY copy_probe (k, t, n, at) FROM STDIN (FORMAT binary)";

void create_probe_table(pg::Connection& connection) {
  connection.exec({"",
                   "CREATE TABLE copy_probe (k text PRIMARY KEY, t text NOT NULL,"
                   " n bigint NOT NULL, at timestamptz NOT NULL)",
                   {}});
}

void add_row(pg::CopyIn& copy, std::string_view key, std::string_view text, int64_t number,
             int64_t unix_us) {
  copy.row(4);
  copy.text(key);
  copy.text(text);
  copy.int64(number);
  copy.timestamptz_unix_us(unix_us);
}

// Rows whose bytes must survive a binary COPY either way: empty and long text, quotes,
// backslashes and UTF-8, int64 extremes, timestamps before, at and after 2000-01-01.
struct ProbeRow {
  std::string key, text;
  int64_t number, unix_us;
};
std::vector<ProbeRow> probe_rows() {
  return {
      {"a", "", 0, 0},                                            // 1970-01-01
      {"b", R"(say "hi", C:\dir {x})", -1, 946'684'800'000'000},  // 2000-01-01 exactly
      {"c", "caf\xC3\xA9 \xE2\x82\xAC", std::numeric_limits<int64_t>::max(), 1'764'547'200'123'456},
      {"d", std::string(70'000, 'x'), std::numeric_limits<int64_t>::min(), -86'400'000'001},
  };
}

// Copies `rows` into the probe table in one binary COPY.
void copy_probe_rows(pg::Connection& connection, const std::vector<ProbeRow>& rows) {
  pg::CopyIn copy(kCopySql);
  for (const ProbeRow& row : rows) add_row(copy, row.key, row.text, row.number, row.unix_us);
  connection.send_copy(copy);
  ASSERT_EQ(connection.receive_copy(), static_cast<int64_t>(rows.size()));
}

// Copies `rows` rows of 100-byte text (keys "key-<i>", numbers 0..rows-1) into the table.
void copy_many_rows(pg::Connection& connection, int rows) {
  pg::CopyIn copy(kCopySql);
  for (int i = 0; i < rows; ++i) {
    add_row(copy, "key-" + std::to_string(i), std::string(100, 'v'), i, 1'700'000'000'000'000);
  }
  connection.send_copy(copy);
  ASSERT_EQ(connection.receive_copy(), rows);
}

int64_t count_rows(pg::Connection& connection) {
  return connection.exec({"", "SELECT count(*) FROM copy_probe", {}}).int64(0, 0);
}

TEST(PgCopy, BinaryRowsArriveExactly) {
  TestDatabase db;
  auto connection = db.connect_pg();
  create_probe_table(*connection);
  const std::vector<ProbeRow> rows = probe_rows();
  pg::CopyIn copy(kCopySql);
  for (const ProbeRow& row : rows) add_row(copy, row.key, row.text, row.number, row.unix_us);
  EXPECT_EQ(copy.rows(), 4);
  connection->send_copy(copy);
  EXPECT_TRUE(connection->awaiting_copy());
  EXPECT_EQ(connection->receive_copy(), 4);
  EXPECT_FALSE(connection->awaiting_copy());
  const pg::Result stored = connection->exec(
      {"",
       "SELECT k, t, n, (extract(epoch from at) * 1000000)::bigint FROM copy_probe ORDER BY k",
       {}});
  ASSERT_EQ(stored.rows(), 4);
  for (int i = 0; i < stored.rows(); ++i) {
    const ProbeRow& row = rows[static_cast<std::size_t>(i)];
    EXPECT_EQ(stored.string(i, 0), row.key);
    EXPECT_EQ(stored.string(i, 1), row.text);
    EXPECT_EQ(stored.int64(i, 2), row.number);
    EXPECT_EQ(stored.int64(i, 3), row.unix_us) << row.key;
  }
}

// Megabytes of rows: more than libpq buffers at once, so the sender waits for the socket.
TEST(PgCopy, AStreamLargerThanTheBuffersGoesThrough) {
  TestDatabase db;
  auto connection = db.connect_pg();
  create_probe_table(*connection);
  constexpr int kRows = 40'000;
  copy_many_rows(*connection, kRows);
  EXPECT_EQ(count_rows(*connection), kRows);
  EXPECT_EQ(connection->exec({"", "SELECT sum(n) FROM copy_probe", {}}).int64(0, 0),
            int64_t{kRows} * (kRows - 1) / 2);
}

// A row the table refuses fails the whole COPY (nothing of it stays) as a constraint error;
// the transaction is rolled back and the connection serves statements again.
TEST(PgCopy, ARefusedRowFailsTheCopyAndTheConnectionRecovers) {
  TestDatabase db;
  auto connection = db.connect_pg();
  create_probe_table(*connection);
  connection->exec({"", "BEGIN", {}});
  pg::CopyIn copy(kCopySql);
  add_row(copy, "same", "first", 1, 0);
  add_row(copy, "other", "fine", 2, 0);
  add_row(copy, "same", "second", 3, 0);
  // Megabytes after the refused row: the server refuses while the rows still stream in.
  for (int i = 0; i < 40'000; ++i) {
    add_row(copy, "after-" + std::to_string(i), std::string(100, 'v'), i, 0);
  }
  connection->send_copy(copy);
  try {
    connection->receive_copy();
    FAIL() << "a duplicate key was copied";
  } catch (const pg::Error& error) {
    EXPECT_EQ(error.kind(), pg::ErrorKind::kConstraint) << error.what();
    EXPECT_EQ(error.sqlstate(), "23505");
  }
  EXPECT_FALSE(connection->awaiting_copy());
  connection->rollback();
  EXPECT_TRUE(connection->usable());
  EXPECT_EQ(count_rows(*connection), 0);
}

// A COPY refused before any row (no such table) and one refused for its bytes (invalid UTF-8)
// are errors of receive_copy, not of the connection.
TEST(PgCopy, ARefusedCopyIsAnErrorOfReceiveCopy) {
  TestDatabase db;
  auto connection = db.connect_pg();
  create_probe_table(*connection);
  pg::CopyIn missing("COPY no_such_table (k) FROM STDIN (FORMAT binary)");
  missing.row(1);
  missing.text("x");
  connection->send_copy(missing);
  EXPECT_THROW(connection->receive_copy(), pg::Error);
  EXPECT_TRUE(connection->usable());
  EXPECT_EQ(count_rows(*connection), 0);

  pg::CopyIn invalid(kCopySql);
  add_row(invalid, "bad", "\xC3\x28", 1, 0);  // a lead byte without its continuation
  connection->send_copy(invalid);
  try {
    connection->receive_copy();
    FAIL() << "invalid UTF-8 was copied";
  } catch (const pg::Error& error) {
    EXPECT_EQ(error.sqlstate(), "22021") << error.what();
  }
  EXPECT_TRUE(connection->usable());
  EXPECT_EQ(count_rows(*connection), 0);
}

constexpr std::string_view kCopyOutSql =
    "COPY (SELECT k, t, n, at FROM copy_probe ORDER BY k) TO STDOUT (FORMAT binary)";

TEST(PgCopy, BinaryRowsComeBackExactly) {
  TestDatabase db;
  auto connection = db.connect_pg();
  create_probe_table(*connection);
  const std::vector<ProbeRow> rows = probe_rows();
  copy_probe_rows(*connection, rows);

  connection->start_copy_out(kCopyOutSql);
  std::string_view bytes;
  for (const ProbeRow& row : rows) {
    ASSERT_TRUE(connection->next_copy_row(bytes));
    pg::CopyRow fields(bytes);
    EXPECT_EQ(fields.fields(), 4);
    EXPECT_EQ(fields.text(), row.key);
    EXPECT_EQ(fields.text(), row.text);
    EXPECT_EQ(fields.int64(), row.number);
    EXPECT_EQ(fields.timestamptz_unix_us(), row.unix_us) << row.key;
    EXPECT_THROW(fields.text(), std::runtime_error) << "a fifth field";
  }
  EXPECT_FALSE(connection->next_copy_row(bytes));
  EXPECT_EQ(count_rows(*connection), 4) << "the connection serves statements again";

  // No rows: the header and the trailer only.
  connection->start_copy_out(
      "COPY (SELECT k FROM copy_probe WHERE false) TO STDOUT (FORMAT binary)");
  EXPECT_FALSE(connection->next_copy_row(bytes));
  EXPECT_EQ(count_rows(*connection), 4);
}

// The first row of a COPY of `select`, as bytes.
std::string first_copy_row(pg::Connection& connection, const std::string& select) {
  connection.start_copy_out("COPY (" + select + ") TO STDOUT (FORMAT binary)");
  std::string_view bytes;
  EXPECT_TRUE(connection.next_copy_row(bytes));
  std::string row(bytes);
  EXPECT_FALSE(connection.next_copy_row(bytes));
  return row;
}

// A NULL, a bigint of another size, a field past the count and a row cut short are refused,
// never read past.
TEST(PgCopy, CopyRowRefusesWhatIsNotThere) {
  TestDatabase db;
  auto connection = db.connect_pg();
  pg::CopyRow nulls(first_copy_row(*connection, "SELECT NULL::text"));
  EXPECT_THROW(nulls.text(), std::runtime_error);
  pg::CopyRow narrow(first_copy_row(*connection, "SELECT 7::int4"));
  EXPECT_THROW(narrow.int64(), std::runtime_error);

  const std::string row = first_copy_row(*connection, "SELECT 'abc'::text, 7::bigint");
  pg::CopyRow whole(row);
  EXPECT_EQ(whole.fields(), 2);
  EXPECT_EQ(whole.text(), "abc");
  EXPECT_EQ(whole.int64(), 7);
  EXPECT_THROW(whole.text(), std::runtime_error) << "a third field";
  for (std::size_t cut = 0; cut < row.size(); ++cut) {
    EXPECT_THROW(
        {
          pg::CopyRow fields(std::string_view(row).substr(0, cut));
          fields.text();
          fields.int64();
        },
        std::runtime_error)
        << "a row cut at " << cut << " of " << row.size() << " bytes";
  }
}

// Megabytes of rows: the server sends while the reader reads, more than the socket holds.
TEST(PgCopy, AStreamLargerThanTheBuffersComesBack) {
  TestDatabase db;
  auto connection = db.connect_pg();
  create_probe_table(*connection);
  constexpr int kRows = 40'000;
  copy_many_rows(*connection, kRows);
  connection->start_copy_out(kCopyOutSql);
  std::string_view bytes;
  int64_t rows = 0;
  int64_t sum = 0;
  while (connection->next_copy_row(bytes)) {
    pg::CopyRow fields(bytes);
    fields.text();
    EXPECT_EQ(fields.text().size(), 100U);
    sum += fields.int64();
    ++rows;
  }
  EXPECT_EQ(rows, kRows);
  EXPECT_EQ(sum, int64_t{kRows} * (kRows - 1) / 2);
  EXPECT_EQ(count_rows(*connection), kRows);
}

// Refused at the start (no such table) it is an Error of start_copy_out; failing midway
// (division by zero at row 30,000) an Error of next_copy_row after the rows before it.
// Either way the connection serves statements after.
TEST(PgCopy, ACopyOutThatFailsIsAnError) {
  TestDatabase db;
  auto connection = db.connect_pg();
  try {
    connection->start_copy_out("COPY (SELECT k FROM no_such_table) TO STDOUT (FORMAT binary)");
    FAIL() << "a COPY from a missing table started";
  } catch (const pg::Error& error) {
    EXPECT_EQ(error.sqlstate(), "42P01") << error.what();
  }
  EXPECT_TRUE(connection->usable());
  EXPECT_EQ(connection->exec({"", "SELECT 1", {}}).int64(0, 0), 1);

  connection->start_copy_out(
      "COPY (SELECT 1 / (30000 - g) FROM generate_series(1, 40000) g) TO STDOUT"
      " (FORMAT binary)");
  std::string_view bytes;
  int64_t rows = 0;
  try {
    while (connection->next_copy_row(bytes)) ++rows;
    FAIL() << "a COPY that divides by zero ended well";
  } catch (const pg::Error& error) {
    EXPECT_EQ(error.sqlstate(), "22012") << error.what();
  }
  EXPECT_LT(rows, 30'000);
  EXPECT_TRUE(connection->usable());
  EXPECT_EQ(connection->exec({"", "SELECT 2", {}}).int64(0, 0), 2);
}

}  // namespace
