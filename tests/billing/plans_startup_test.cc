// A broken plans file stops ledgerd at start-up with a message naming the problem and a
// non-zero exit, for the billing-specific mistakes too (a Stripe price sold by two plans).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "tests/billing/billing_fixture.h"
#include "tests/support/ledgerd_process.h"
#include "tests/support/test_database.h"

namespace billing_tests {
namespace {

std::string start_failure(const std::string& plans_json) {
  testing_support::TestDatabase database;
  char path[] = "/tmp/billing-broken-plans-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << plans_json;
  testing_support::LedgerdOptions options;
  options.database_url = database.url();
  options.plans_path = path;
  std::string message;
  try {
    testing_support::LedgerdProcess process(options);
    ADD_FAILURE() << "ledgerd started with a broken plans file";
  } catch (const std::runtime_error& error) {
    message = error.what();
  }
  std::remove(path);
  return message;
}

TEST(BillingPlansStartup, PriceSoldByTwoPlansStopsStart) {
  std::string plans = billing_plans_json();
  plans.replace(plans.find("price_business_monthly"), 22, "price_pro_monthly");
  const std::string message = start_failure(plans);
  EXPECT_NE(message.find("cannot load plans"), std::string::npos) << message;
  EXPECT_NE(message.find("stripe price price_pro_monthly is used twice"), std::string::npos)
      << message;
  EXPECT_EQ(message.find("exited with 0"), std::string::npos) << message;
}

TEST(BillingPlansStartup, MissingFreePlanStopsStart) {
  std::string plans = billing_plans_json();
  plans.replace(plans.find(R"("id": "free")"), 12, R"("id": "gratis")");
  const std::string message = start_failure(plans);
  EXPECT_NE(message.find("plans file must define a free plan"), std::string::npos) << message;
  EXPECT_EQ(message.find("exited with 0"), std::string::npos) << message;
}

}  // namespace
}  // namespace billing_tests
