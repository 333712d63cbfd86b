// The SMTP client against a real SMTP conversation on loopback (FakeSmtpServer): what
// arrives (envelope, headers, body, dot-stuffing), refusals and unreachable servers as
// errors, and addresses or subjects that could inject headers refused before connecting.
#include <gtest/gtest.h>

#include "integrations/smtp_client.h"
#include "tests/support/fake_smtp_server.h"

namespace integrations {
namespace {

using testing_support::FakeSmtpServer;

EmailMessage message_to(const std::string& to) {
  EmailMessage message;
  message.to = to;
  message.subject = "Your payment did not go through";
  message.body = "Hello,\n.a line that starts with a dot\n..two dots\nBye \xC3\xA9\n";
  message.message_id = "6f1c0c4e-1d7a-4f0e-9a55-0b7f6f1d2a10";
  return message;
}

SmtpSettings settings_for(const FakeSmtpServer& server) {
  SmtpSettings settings;
  settings.url = server.url();
  settings.from = "billing@ledger.example";
  settings.timeout_ms = 5'000;
  return settings;
}

TEST(SmtpClient, PlainAddressesOnly) {
  EXPECT_TRUE(is_plain_email_address("buyer@example.com"));
  EXPECT_TRUE(is_plain_email_address("first.last+tag@sub.example.co"));
  for (const char* bad :
       {"", "@example.com", "buyer@", "buyer", "a@b@c", "buyer@example.com\r\nBcc: x@y.z",
        "buyer @example.com", "<buyer@example.com>", "buyer@example.com>", "a,b@example.com",
        "b\xC3\xA9@example.com", "\"quoted\"@example.com"}) {
    EXPECT_FALSE(is_plain_email_address(bad)) << bad;
  }
  EXPECT_FALSE(is_plain_email_address(std::string(250, 'a') + "@b.co"));
}

TEST(SmtpClient, RendersHeadersAndCrlfLines) {
  SmtpSettings settings;
  settings.from = "billing@ledger.example";
  EmailMessage message = message_to("buyer@example.com");
  message.body = "one\ntwo\r\nthree";
  const std::string text = render_email(settings, message, 1'796'000'000);
  EXPECT_EQ(text.rfind("Date: ", 0), 0u);
  EXPECT_NE(text.find("\r\nFrom: <billing@ledger.example>\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\nTo: <buyer@example.com>\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\nSubject: Your payment did not go through\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\nMessage-ID: <" + message.message_id + "@ledgerd.invalid>\r\n"),
            std::string::npos);
  EXPECT_NE(text.find("Content-Type: text/plain; charset=UTF-8\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\n\r\none\r\ntwo\r\nthree\r\n"), std::string::npos);
  EXPECT_EQ(text.find("\n", text.find("three")), text.size() - 1);  // one final CRLF
}

TEST(SmtpClient, DeliversTheMessageAsWritten) {
  FakeSmtpServer server;
  const SmtpSettings settings = settings_for(server);
  EXPECT_EQ(send_email(settings, message_to("buyer@example.com")), "");
  ASSERT_TRUE(server.wait_for_messages(1, 5'000));
  const auto messages = server.messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].mail_from, "billing@ledger.example");
  ASSERT_EQ(messages[0].recipients.size(), 1u);
  EXPECT_EQ(messages[0].recipients[0], "buyer@example.com");
  const std::string& data = messages[0].data;
  EXPECT_NE(data.find("Subject: Your payment did not go through\r\n"), std::string::npos);
  // libcurl dot-stuffs, the server undoes it: the body arrives exactly as written.
  EXPECT_NE(data.find("\r\n\r\nHello,\r\n.a line that starts with a dot\r\n..two dots\r\n"
                      "Bye \xC3\xA9\r\n"),
            std::string::npos)
      << data;
}

TEST(SmtpClient, ARefusalIsAnErrorWithTheReplyCode) {
  FakeSmtpServer server;
  server.refuse_next_data(1);
  const std::string error = send_email(settings_for(server), message_to("buyer@example.com"));
  EXPECT_NE(error.find("451"), std::string::npos) << error;
  EXPECT_EQ(server.refused(), 1);
  EXPECT_TRUE(server.messages().empty());
  EXPECT_EQ(send_email(settings_for(server), message_to("buyer@example.com")), "");
  EXPECT_EQ(server.messages().size(), 1u);
}

TEST(SmtpClient, AnUnreachableServerIsAnError) {
  SmtpSettings settings;
  {
    FakeSmtpServer server;
    settings = settings_for(server);
  }  // closed: nothing listens on its port any more
  settings.connect_timeout_ms = 1'000;
  EXPECT_NE(send_email(settings, message_to("buyer@example.com")), "");
  settings.url = "http://127.0.0.1:1";
  EXPECT_NE(send_email(settings, message_to("buyer@example.com")).find("smtp://"),
            std::string::npos);
}

TEST(SmtpClient, InjectionAttemptsAreRefusedBeforeConnecting) {
  FakeSmtpServer server;
  const SmtpSettings settings = settings_for(server);
  EXPECT_NE(send_email(settings, message_to("buyer@example.com\r\nBcc: all@example.com")), "");
  EmailMessage subject = message_to("buyer@example.com");
  subject.subject = "Hi\r\nBcc: all@example.com";
  EXPECT_NE(send_email(settings, subject), "");
  EmailMessage body = message_to("buyer@example.com");
  body.body = std::string("nul\0inside", 10);
  EXPECT_NE(send_email(settings, body), "");
  body.body = "bad \xED\xB0\x80 surrogate";
  EXPECT_NE(send_email(settings, body), "");
  EXPECT_FALSE(server.wait_for_messages(1, 200));
}

}  // namespace
}  // namespace integrations
