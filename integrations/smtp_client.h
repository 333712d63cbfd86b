// Outgoing e-mail over SMTP with libcurl: the one place the service talks to a mail server.
// A message is rendered as plain UTF-8 text (RFC 5322 headers, CRLF lines) and handed to the
// server named by an smtp:// (plain, or STARTTLS when required) or smtps:// (TLS) URL, which
// may carry credentials (smtp://user:password@host:587). Transport failures and refusals
// are returned as text, never thrown.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace integrations {

struct SmtpSettings {
  std::string url;   // smtp://host:port or smtps://host:port; empty: no mail server
  std::string from;  // envelope and header sender, a plain address
  // smtp:// only: refuse to send unless STARTTLS succeeds (always so when the URL carries
  // credentials).
  bool require_starttls = false;
  long connect_timeout_ms = 3'000;
  long timeout_ms = 15'000;  // the whole exchange
};

struct EmailMessage {
  std::string to;          // a plain address (is_plain_email_address)
  std::string subject;     // printable ASCII, at most kEmailSubjectBytesMax bytes
  std::string body;        // UTF-8 text; "\n" line ends are sent as CRLF
  std::string message_id;  // unique per message and stable across retries (e.g. a UUID)
};

inline constexpr std::size_t kEmailAddressBytesMax = 254;
inline constexpr std::size_t kEmailSubjectBytesMax = 200;
inline constexpr std::size_t kEmailBodyBytesMax = 64 * 1024;

// True for "local@domain" with printable ASCII only and none of the characters that could
// end a header or an SMTP path (whitespace, <>()[],;:\" and controls): what we accept from
// provider data before it goes into a header or the SMTP envelope.
bool is_plain_email_address(std::string_view address);

// Empty when `message` can be sent from `settings.from` (addresses, subject, body within the
// limits above, body valid UTF-8 without NUL), else why not.
std::string email_problem(const SmtpSettings& settings, const EmailMessage& message);

// The message as sent in SMTP DATA (headers, blank line, body; CRLF line ends), dated
// `unix_time_s`. Precondition: email_problem(settings, message) is empty.
std::string render_email(const SmtpSettings& settings, const EmailMessage& message,
                         int64_t unix_time_s);

// Sends `message`; returns "" once the server accepted it, else the failure (invalid
// message, connection, refusal with the server's reply code). Blocks at most
// settings.timeout_ms.
std::string send_email(const SmtpSettings& settings, const EmailMessage& message);

}  // namespace integrations
