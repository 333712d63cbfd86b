// Shopify webhooks end to end: the real ledgerd, a real PostgreSQL. Every topic is verified
// (base64 HMAC of the raw body), stored and answered at once, then applied by the inbox loop
// to the shop's account "shop:<domain>"; app/uninstalled closes the account (new
// reservations 403 account_closed, open ones still settle); duplicate webhook ids apply once;
// bad signatures, headers and shop mismatches store nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <pqxx/pqxx>
#include <thread>

#include "audit/verify.h"
#include "crypto/digest.h"
#include "tests/support/ledgerctl_run.h"
#include "tests/support/test_database.h"
#include "webhooks/inbox_reads.h"
#include "tests/billing/billing_fixture.h"

namespace billing_tests {
namespace {

using http_tests::parse_json;
using testing_support::CommandResult;
using testing_support::run_ledgerctl;

constexpr const char* kShopifySecret = "shpss_primary_0f1e2d3c4b5a69788796a5b4";
constexpr const char* kShopifySecretRotated = "shpss_rotated_11223344556677889900aabb";
constexpr const char* kShop = "ink-and-quill.myshopify.com";
const std::string kShopAccount = std::string("shop:") + kShop;

std::string shop_body(const std::string& domain = kShop) {
  return R"({"id":548380009,"name":"Ink and Quill","email":"owner@inkandquill.example",)"
         R"("domain":"shop.inkandquill.example","myshopify_domain":")" +
         domain + R"(","plan_name":"basic","currency":"USD"})";
}
std::string compliance_body(const std::string& domain = kShop) {
  return R"({"shop_id":548380009,"shop_domain":")" + domain +
         R"(","customer":{"id":207119551,"email":"jane@example.com","phone":"+15550100"},)"
         R"("orders_requested":[299938,280263]})";
}
std::string shop_redact_body() {
  return std::string(R"({"shop_id":548380009,"shop_domain":")") + kShop + R"("})";
}
std::string order_body() { return R"({"id":820982911946154508,"total_price":"12.00"})"; }

class ShopifyTest : public BillingTest {
 protected:
  std::vector<std::string> ledgerd_flags() const override {
    std::vector<std::string> flags = BillingTest::ledgerd_flags();
    flags.push_back(std::string("--shopify_webhook_secret=") + kShopifySecret + "," +
                    kShopifySecretRotated);
    return flags;
  }

  TestResponse send(const std::string& topic, const std::string& webhook_id,
                    const std::string& body, const std::optional<std::string>& hmac,
                    const std::string& domain = kShop) const {
    TestHeaders headers = {{"Content-Type", "application/json"},
                           {"X-Shopify-Topic", topic},
                           {"X-Shopify-Shop-Domain", domain},
                           {"X-Shopify-Webhook-Id", webhook_id},
                           {"X-Shopify-Event-Id", "evt-" + webhook_id},
                           {"X-Shopify-API-Version", "2025-07"}};
    if (hmac) headers.emplace_back("X-Shopify-Hmac-Sha256", *hmac);
    return testing_support::http_post(url("/api/v1/integrations/shopify/webhook"), headers,
                                      body);
  }
  static std::string hmac(const std::string& body, const std::string& secret = kShopifySecret) {
    return crypto::base64_encode(crypto::hmac_sha256(secret, body));
  }
  TestResponse deliver_shopify(const std::string& topic, const std::string& webhook_id,
                               const std::string& body) const {
    return send(topic, webhook_id, body, hmac(body));
  }

  std::string status_of(const std::string& webhook_id) const {
    auto connection = database_->connect();
    pqxx::read_transaction work(*connection);
    const pqxx::result rows = work.exec_params(
        "SELECT status || ':' || coalesce(note, '') FROM webhook_processing"
        " WHERE provider = 'shopify' AND provider_event_id = $1",
        webhook_id);
    return rows.empty() ? "" : rows[0][0].as<std::string>();
  }
  // Waits until the inbox loop applied the delivery; returns its "status:note".
  std::string wait_applied(const std::string& webhook_id) const {
    std::string status;
    for (int i = 0; i < 200; ++i) {
      status = status_of(webhook_id);
      if (status.rfind("processed:", 0) == 0 || status.rfind("failed:", 0) == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return status;
  }
  int64_t shopify_deliveries() const {
    auto connection = database_->connect();
    pqxx::read_transaction work(*connection);
    return work.exec1("SELECT count(*) FROM webhook_deliveries WHERE provider = 'shopify'")[0]
        .as<int64_t>();
  }
  std::string recorded(const std::string& account) const {
    std::string all;
    for (const std::string& line : event_lines(account)) {
      if (line.rfind("ShopifyWebhookRecorded ", 0) == 0 || line.rfind("AccountClosed ", 0) == 0) {
        all += line + "\n";
      }
    }
    return all;
  }
  TestResponse reserve(int64_t amount) const {
    static std::atomic<int> keys{0};
    return testing_support::http_post(url("/api/v1/credits/reservations"),
                                      with_key(bearer(token(kShopAccount)),
                                               "shop-reserve-" + std::to_string(++keys)),
                                      R"({"amount":)" + std::to_string(amount) +
                                          R"(,"feature":"shopify_app"})");
  }
};

TEST_F(ShopifyTest, EveryTopicIsStoredAnsweredAndRecorded) {
  const std::vector<std::pair<std::string, std::string>> deliveries = {
      {"shop/update", shop_body()},
      {"customers/data_request", compliance_body()},
      {"customers/redact", compliance_body()},
      {"orders/create", order_body()},
      {"shop/redact", shop_redact_body()},
  };
  int n = 0;
  for (const auto& [topic, body] : deliveries) {
    const std::string id = "wh-topic-" + std::to_string(++n);
    const TestResponse response = deliver_shopify(topic, id, body);
    EXPECT_EQ(response.status, 200) << topic << " " << response.body;
    EXPECT_EQ(response.body, R"({"received":true,"duplicate":false,"status":"pending"})");
    EXPECT_EQ(wait_applied(id).rfind("processed:", 0), 0u) << topic;
  }
  EXPECT_EQ(status_of("wh-topic-1"), "processed:recorded");
  EXPECT_EQ(status_of("wh-topic-2"), "processed:data_request_recorded");
  // The redact requests are recorded, then erase (ErasureTest has the details).
  EXPECT_EQ(status_of("wh-topic-3"), "processed:erased");
  EXPECT_EQ(status_of("wh-topic-4"), "processed:recorded");
  EXPECT_EQ(status_of("wh-topic-5"), "processed:erased");
  const std::string lines = recorded(kShopAccount);
  EXPECT_NE(lines.find(R"("topic":"customers/data_request")"), std::string::npos) << lines;
  EXPECT_NE(lines.find(R"("customer_id":"207119551")"), std::string::npos) << lines;
  EXPECT_NE(lines.find(R"("shop_id":"548380009")"), std::string::npos) << lines;
  EXPECT_NE(lines.find(R"("event_id":"evt-wh-topic-4")"), std::string::npos) << lines;
  // The events hold Shopify's ids, never the personal data of the bodies.
  EXPECT_EQ(lines.find("jane@example.com"), std::string::npos);
  EXPECT_EQ(lines.find("+15550100"), std::string::npos);
  EXPECT_EQ(lines.find("owner@inkandquill"), std::string::npos);
  // The shop's account opened with the free plan on its first webhook.
  EXPECT_EQ(balance_row(kShopAccount)->credits_available, 300);
}

// The compliance topics: customers/redact erases the deliveries that name that customer
// (the request included) and no other customer's; shop/redact erases the shop's. No
// personal data is ever in a pg_dump; events, balances and hash chains stay clean.
TEST_F(ShopifyTest, RedactTopicsEraseTheCustomerThenTheShop) {
  const std::string john = std::string(R"({"shop_id":548380009,"shop_domain":")") + kShop +
                           R"(","customer":{"id":115310627,"email":"john@example.org",)"
                           R"("phone":"+15550199"},"orders_requested":[]})";
  const std::string janes_order =
      R"({"id":820982911946154508,"customer":{"id":207119551,"email":"jane@example.com"},)"
      R"("total_price":"12.00"})";
  const std::vector<std::pair<std::string, std::string>> deliveries = {
      {"shop/update", shop_body()},
      {"customers/data_request", compliance_body()},
      {"customers/data_request", john},
      {"orders/create", janes_order},
  };
  int n = 0;
  for (const auto& [topic, body] : deliveries) {
    const std::string id = "wh-erase-" + std::to_string(++n);
    ASSERT_EQ(deliver_shopify(topic, id, body).status, 200);
    ASSERT_EQ(wait_applied(id).rfind("processed:", 0), 0u) << topic;
  }
  const std::vector<std::string> jane = {"jane@example.com", "+15550100"};
  const std::vector<std::string> others = {"john@example.org", "+15550199",
                                           "owner@inkandquill.example"};
  const auto dump_has_none = [&] {
    const std::string dump = testing_support::pg_dump(database_->url());
    for (const auto* texts : {&jane, &others}) {
      for (const std::string& text : *texts) EXPECT_EQ(dump.find(text), std::string::npos) << text;
    }
  };
  const auto export_of = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"export-subject", kShopAccount});
    const CommandResult result = run_ledgerctl(args, database_->url());
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return result.out;
  };
  dump_has_none();
  // Jane's data request is answered by her export: her request and her order, not John's.
  // The shop's own address (for its e-mails) is the owner's, never a customer's.
  EXPECT_EQ(webhooks::read_customer_email(*connect_ledger_database(), kShopAccount,
                                          [](std::string_view) { return true; }),
            "owner@inkandquill.example");
  const std::string janes = export_of({"--customer-id", "207119551"});
  EXPECT_NE(janes.find("jane@example.com"), std::string::npos) << janes;
  EXPECT_NE(janes.find("wh-erase-2"), std::string::npos) << janes;
  EXPECT_NE(janes.find("wh-erase-4"), std::string::npos) << janes;
  EXPECT_EQ(janes.find("john@example.org"), std::string::npos) << janes;
  // Found by her e-mail too (in any case), and only what names her.
  const std::string by_email = export_of({"--email", "JANE@example.com"});
  EXPECT_NE(by_email.find("wh-erase-2"), std::string::npos) << by_email;
  EXPECT_NE(by_email.find("wh-erase-4"), std::string::npos) << by_email;
  EXPECT_EQ(by_email.find("wh-erase-1"), std::string::npos) << by_email;
  EXPECT_EQ(by_email.find("wh-erase-3"), std::string::npos) << by_email;

  // A redact request that names no customer erases nothing and is kept, failed, for operators.
  ASSERT_EQ(deliver_shopify("customers/redact", "wh-erase-0",
                            std::string(R"({"shop_id":548380009,"shop_domain":")") + kShop +
                                R"("})")
                .status,
            200);
  EXPECT_EQ(wait_applied("wh-erase-0"), "failed:no_customer");
  ASSERT_EQ(deliver_shopify("customers/redact", "wh-erase-5", compliance_body()).status, 200);
  EXPECT_EQ(wait_applied("wh-erase-5"), "processed:erased");
  const std::string shop_after = export_of({});
  for (const std::string& text : jane) {
    EXPECT_EQ(shop_after.find(text), std::string::npos) << text << "\n" << shop_after;
  }
  for (const std::string& text : others) {
    EXPECT_NE(shop_after.find(text), std::string::npos) << text << "\n" << shop_after;
  }
  EXPECT_NE(shop_after.find(R"("scope":"customer","customer_id":"207119551","deliveries":3)"),
            std::string::npos)
      << shop_after;
  const std::string janes_after = export_of({"--customer-id", "207119551"});
  EXPECT_NE(janes_after.find(R"("deliveries":[])"), std::string::npos) << janes_after;
  dump_has_none();

  ASSERT_EQ(deliver_shopify("shop/redact", "wh-erase-6", shop_redact_body()).status, 200);
  EXPECT_EQ(wait_applied("wh-erase-6"), "processed:erased");
  const std::string erased = export_of({});
  for (const auto* texts : {&jane, &others}) {
    for (const std::string& text : *texts) {
      EXPECT_EQ(erased.find(text), std::string::npos) << text << "\n" << erased;
    }
  }
  EXPECT_EQ(erased.find(R"("erased":false)"), std::string::npos) << erased;
  EXPECT_NE(erased.find(R"("scope":"account")"), std::string::npos) << erased;
  EXPECT_FALSE(webhooks::read_customer_email(*connect_ledger_database(), kShopAccount,
                                             [](std::string_view) { return true; }));
  dump_has_none();
  const audit::VerifyReport report = audit::verify_ledger(*connect_ledger_database());
  EXPECT_TRUE(report.clean) << report.problem << " " << report.stream_id;
}

TEST_F(ShopifyTest, UninstallClosesTheShopButOpenReservationsSettle) {
  ASSERT_EQ(deliver_shopify("shop/update", "wh-open", shop_body()).status, 200);
  ASSERT_EQ(wait_applied("wh-open"), "processed:recorded");
  const TestResponse open = reserve(40);
  ASSERT_EQ(open.status, 201) << open.body;
  const std::string reservation = parse_json(open.body)["reservation_id"].GetString();
  ASSERT_EQ(deliver_shopify("app/uninstalled", "wh-uninstall", shop_body()).status, 200);
  EXPECT_EQ(wait_applied("wh-uninstall"), "processed:closed");
  const TestResponse refused = reserve(1);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(std::string(parse_json(refused.body)["error"].GetString()), "account_closed");
  const TestResponse captured = testing_support::http_post(
      url("/api/v1/credits/reservations/" + reservation + "/capture"),
      with_key(bearer(token(kShopAccount)), "shop-capture-1"), R"({"amount":25})");
  EXPECT_EQ(captured.status, 200) << captured.body;
  EXPECT_EQ(balance_row(kShopAccount)->credits_available, 275);
  // A second uninstall (another webhook id) changes nothing more.
  ASSERT_EQ(deliver_shopify("app/uninstalled", "wh-uninstall-2", shop_body()).status, 200);
  EXPECT_EQ(wait_applied("wh-uninstall-2"), "processed:already_closed");
  const std::string lines = recorded(kShopAccount);
  EXPECT_EQ(lines.find("AccountClosed"), lines.rfind("AccountClosed")) << lines;
  const audit::VerifyReport report = audit::verify_ledger(*connect_ledger_database());
  EXPECT_TRUE(report.clean) << report.problem << " " << report.stream_id;
  EXPECT_GE(audit::replay_projections(*connect_ledger_database()), 1);
  EXPECT_EQ(reserve(1).status, 403) << "closed survives a replay of the projections";

  // The shop installs the app again: an admin reopens the account (once; a repeat is a no-op).
  const std::string admin = create_key("ops", {"admin"});
  const auto reopen = [&](const std::string& key, const std::string& body) {
    return testing_support::http_post(url("/api/v1/admin/accounts/" + kShopAccount + "/reopen"),
                                      with_key(bearer(admin), key), body);
  };
  EXPECT_EQ(reopen("reopen-0", "{}").status, 400) << "a reason is required";
  EXPECT_EQ(testing_support::http_post(url("/api/v1/admin/accounts/shop:nobody.myshopify.com/reopen"),
                                       with_key(bearer(admin), "reopen-x"),
                                       R"({"reason":"reinstalled"})")
                .status,
            404);
  const TestResponse reopened = reopen("reopen-1", R"({"reason":"app reinstalled"})");
  ASSERT_EQ(reopened.status, 200) << reopened.body;
  EXPECT_NE(reopened.body.find(R"("closed":false,"note":"reopened")"), std::string::npos)
      << reopened.body;
  EXPECT_EQ(reopen("reopen-1", R"({"reason":"app reinstalled"})").body, reopened.body)
      << "the same key replays the first answer";
  EXPECT_NE(reopen("reopen-2", R"({"reason":"again"})").body.find(R"("note":"already_open")"),
            std::string::npos);
  EXPECT_EQ(reserve(1).status, 201) << "open again";
  const audit::VerifyReport reopened_report = audit::verify_ledger(*connect_ledger_database());
  EXPECT_TRUE(reopened_report.clean) << reopened_report.problem;
  EXPECT_GE(audit::replay_projections(*connect_ledger_database()), 1);
  EXPECT_EQ(reserve(1).status, 201) << "open survives a replay too";
}

TEST_F(ShopifyTest, DuplicateWebhookIdsApplyOnce) {
  const std::string body = compliance_body();
  std::atomic<int> first{0};
  std::vector<std::thread> senders;
  for (int i = 0; i < 5; ++i) {
    senders.emplace_back([&] {
      const TestResponse response = deliver_shopify("customers/data_request", "wh-dup", body);
      EXPECT_EQ(response.status, 200) << response.body;
      if (response.body.find(R"("duplicate":false)") != std::string::npos) ++first;
    });
  }
  for (auto& sender : senders) sender.join();
  EXPECT_EQ(first.load(), 1);
  EXPECT_EQ(wait_applied("wh-dup"), "processed:data_request_recorded");
  EXPECT_EQ(shopify_deliveries(), 1);
  const std::string lines = recorded(kShopAccount);
  EXPECT_EQ(lines.find(R"("webhook_id":"wh-dup")"), lines.rfind(R"("webhook_id":"wh-dup")"))
      << lines;
  EXPECT_NE(lines.find(R"("webhook_id":"wh-dup")"), std::string::npos) << lines;
}

TEST_F(ShopifyTest, BadSignaturesHeadersAndShopsStoreNothing) {
  const std::string body = shop_body();
  EXPECT_EQ(send("shop/update", "wh-bad-1", body, std::nullopt).status, 401);
  EXPECT_EQ(send("shop/update", "wh-bad-2", body, hmac(body, "another secret")).status, 401);
  EXPECT_EQ(send("shop/update", "wh-bad-3", body, hmac(body + " ")).status, 401);
  const TestResponse unsigned_reply = send("shop/update", "wh-bad-4", body, "not base64!");
  EXPECT_EQ(unsigned_reply.status, 401);
  EXPECT_EQ(std::string(parse_json(unsigned_reply.body)["error"].GetString()),
            "invalid_signature");
  const auto field_of = [](const TestResponse& response) {
    return std::string(parse_json(response.body)["field"].GetString());
  };
  const TestResponse no_topic = send("", "wh-bad-5", body, hmac(body));
  EXPECT_EQ(no_topic.status, 400);
  EXPECT_EQ(field_of(no_topic), "X-Shopify-Topic");
  const TestResponse bad_domain = send("shop/update", "wh-bad-6", body, hmac(body), "evil.example");
  EXPECT_EQ(bad_domain.status, 400);
  EXPECT_EQ(field_of(bad_domain), "X-Shopify-Shop-Domain");
  const TestResponse upper_topic = send("Shop/Update", "wh-bad-5b", body, hmac(body));
  EXPECT_EQ(upper_topic.status, 400);
  EXPECT_EQ(field_of(upper_topic), "X-Shopify-Topic");
  const TestResponse no_id = send("shop/update", "", body, hmac(body));
  EXPECT_EQ(no_id.status, 400);
  EXPECT_EQ(field_of(no_id), "X-Shopify-Webhook-Id");
  const TestResponse long_id = send("shop/update", std::string(129, 'w'), body, hmac(body));
  EXPECT_EQ(long_id.status, 400);
  EXPECT_EQ(field_of(long_id), "X-Shopify-Webhook-Id");
  // The event id travels as "evt-" + the webhook id: 125 + 4 bytes is one too many.
  const TestResponse long_event = send("shop/update", std::string(125, 'e'), body, hmac(body));
  EXPECT_EQ(long_event.status, 400);
  EXPECT_EQ(field_of(long_event), "X-Shopify-Event-Id");
  // A signed body of one shop replayed under another shop's header.
  const TestResponse other_shop =
      send("app/uninstalled", "wh-bad-7", body, hmac(body), "victim.myshopify.com");
  EXPECT_EQ(other_shop.status, 400);
  EXPECT_EQ(std::string(parse_json(other_shop.body)["error"].GetString()), "shop_mismatch");
  // Closing takes a body that names the shop.
  const std::string order = order_body();
  EXPECT_EQ(send("app/uninstalled", "wh-bad-8", order, hmac(order)).status, 400);
  EXPECT_EQ(send("shop/update", "wh-bad-9", "[1,2]", hmac("[1,2]")).status, 400);
  EXPECT_EQ(shopify_deliveries(), 0);
  EXPECT_EQ(event_count(kShopAccount), 0);
  // The rotated secret is accepted.
  EXPECT_EQ(send("shop/update", "wh-good", body, hmac(body, kShopifySecretRotated)).status, 200);
  EXPECT_EQ(shopify_deliveries(), 1);
}

TEST_F(ShopifyTest, WithoutASecretEveryDeliveryIsRefused) {
  restart_ledgerd(BillingTest::ledgerd_flags());
  const std::string body = shop_body();
  EXPECT_EQ(deliver_shopify("shop/update", "wh-nosecret", body).status, 401);
  EXPECT_EQ(send("shop/update", "wh-nosecret", body, hmac(body, "")).status, 401);
  EXPECT_EQ(shopify_deliveries(), 0);
}

}  // namespace
}  // namespace billing_tests
