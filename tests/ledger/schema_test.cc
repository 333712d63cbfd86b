// The schema can be distributed by account id (Citus): every table has a placement in
// ledger_table_placement, and every primary key, unique index and foreign key of a
// distributed table includes its distribution column. Read from the catalog of a migrated
// database, so a future migration that breaks the rule fails here.
#include <gtest/gtest.h>

#include "tests/support/test_database.h"

namespace {

using testing_support::TestDatabase;

TEST(SchemaPlacement, EveryTableHasAPlacement) {
  TestDatabase db;
  auto connection = db.connect();
  pqxx::read_transaction work(*connection);
  const pqxx::result unplaced = work.exec(
      "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
      " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
      " AND c.relname NOT IN (SELECT table_name FROM ledger_table_placement)");
  for (const pqxx::row& row : unplaced) {
    ADD_FAILURE() << "table " << row[0].as<std::string>()
                  << " has no row in ledger_table_placement";
  }
  const pqxx::result stale = work.exec(
      "SELECT table_name FROM ledger_table_placement WHERE to_regclass(table_name) IS NULL");
  for (const pqxx::row& row : stale) {
    ADD_FAILURE() << "ledger_table_placement names a missing table " << row[0].as<std::string>();
  }
  EXPECT_GE(work.exec1("SELECT count(*) FROM ledger_table_placement WHERE placement ="
                       " 'distributed' AND colocation = 'accounts'")[0]
                .as<int>(),
            7);
}

TEST(SchemaPlacement, UniqueIndexesOfDistributedTablesIncludeTheDistributionColumn) {
  TestDatabase db;
  auto connection = db.connect();
  pqxx::read_transaction work(*connection);
  const pqxx::result indexes = work.exec(
      "SELECT p.table_name, i.indexrelid::regclass::text, p.distribution_column,"
      " EXISTS (SELECT 1 FROM unnest(i.indkey) k JOIN pg_attribute a"
      "         ON a.attrelid = i.indrelid AND a.attnum = k"
      "         WHERE a.attname = p.distribution_column)"
      " FROM ledger_table_placement p JOIN pg_index i ON i.indrelid = p.table_name::regclass"
      " WHERE p.placement = 'distributed' AND (i.indisunique OR i.indisprimary)");
  EXPECT_GE(indexes.size(), 9u);
  for (const pqxx::row& row : indexes) {
    EXPECT_TRUE(row[3].as<bool>()) << "unique index " << row[1].as<std::string>() << " of "
                                   << row[0].as<std::string>() << " lacks "
                                   << row[2].as<std::string>();
  }
}

TEST(SchemaPlacement, ForeignKeysStayWithinAColocationGroup) {
  TestDatabase db;
  auto connection = db.connect();
  pqxx::read_transaction work(*connection);
  const pqxx::result keys = work.exec(
      "SELECT c.conname, src.table_name, dst.table_name,"
      " coalesce(src.colocation = dst.colocation, dst.placement = 'reference'),"
      " src.placement <> 'distributed' OR EXISTS (SELECT 1 FROM unnest(c.conkey) k"
      "   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k"
      "   WHERE a.attname = src.distribution_column)"
      " FROM pg_constraint c"
      " JOIN ledger_table_placement src ON src.table_name = c.conrelid::regclass::text"
      " JOIN ledger_table_placement dst ON dst.table_name = c.confrelid::regclass::text"
      " WHERE c.contype = 'f'");
  for (const pqxx::row& row : keys) {
    EXPECT_TRUE(row[3].as<bool>()) << row[0].as<std::string>() << ": " << row[1].as<std::string>()
                                   << " -> " << row[2].as<std::string>() << " crosses groups";
    EXPECT_TRUE(row[4].as<bool>()) << row[0].as<std::string>()
                                   << " does not include the distribution column";
  }
}

}  // namespace
