// SMTP delivery through libcurl (integrations/smtp_client.h).
#include "integrations/smtp_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>

#include "integrations/http_client.h"
#include "unicode/utf8.h"

namespace integrations {
namespace {

bool is_printable_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7E; });
}

// RFC 5322 date-time in UTC, e.g. "Mon, 30 Nov 2026 07:51:02 +0000".
std::string rfc5322_date(int64_t unix_time_s) {
  const std::time_t time = static_cast<std::time_t>(unix_time_s);
  std::tm utc{};
  gmtime_r(&time, &utc);
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                kDays[utc.tm_wday], utc.tm_mday, kMonths[utc.tm_mon], utc.tm_year + 1900,
                utc.tm_hour, utc.tm_min, utc.tm_sec);
  return buffer;
}

// "\n" and "\r\n" line ends as CRLF; a lone "\r" becomes CRLF too (no bare CR on the wire).
std::string crlf_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32 + 2);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

struct Upload {
  std::string_view data;
  std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const std::size_t room = size * count;
  const std::size_t n = std::min(room, upload->data.size() - upload->offset);
  std::memcpy(buffer, upload->data.data() + upload->offset, n);
  upload->offset += n;
  return n;
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

bool is_plain_email_address(std::string_view address) {
  if (address.empty() || address.size() > kEmailAddressBytesMax) return false;
  const std::size_t at = address.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == address.size()) return false;
  if (address.find('@', at + 1) != std::string_view::npos) return false;
  static constexpr std::string_view kForbidden = "<>()[],;:\\\"";
  return std::all_of(address.begin(), address.end(), [](char c) {
    return c > 0x20 && c < 0x7F && kForbidden.find(c) == std::string_view::npos;
  });
}

std::string email_problem(const SmtpSettings& settings, const EmailMessage& message) {
  if (!is_plain_email_address(settings.from)) return "the sender address is not a plain address";
  if (!is_plain_email_address(message.to)) return "the recipient address is not a plain address";
  if (message.subject.empty() || message.subject.size() > kEmailSubjectBytesMax ||
      !is_printable_ascii(message.subject)) {
    return "the subject must be 1.." + std::to_string(kEmailSubjectBytesMax) +
           " bytes of printable ASCII";
  }
  if (message.body.size() > kEmailBodyBytesMax || !unicode::is_storable_text(message.body)) {
    return "the body must be valid UTF-8 without NUL, at most " +
           std::to_string(kEmailBodyBytesMax) + " bytes";
  }
  if (message.message_id.empty() || message.message_id.size() > 128 ||
      !is_plain_email_address(message.message_id + "@ledgerd.invalid")) {
    return "the message id must be a short token";
  }
  return "";
}

std::string render_email(const SmtpSettings& settings, const EmailMessage& message,
                         int64_t unix_time_s) {
  std::string text;
  text += "Date: " + rfc5322_date(unix_time_s) + "\r\n";
  text += "From: <" + settings.from + ">\r\n";
  text += "To: <" + message.to + ">\r\n";
  text += "Subject: " + message.subject + "\r\n";
  text += "Message-ID: <" + message.message_id + "@ledgerd.invalid>\r\n";
  text += "MIME-Version: 1.0\r\n";
  text += "Content-Type: text/plain; charset=UTF-8\r\n";
  text += "Content-Transfer-Encoding: 8bit\r\n";
  text += "\r\n";
  text += crlf_lines(message.body);
  return text;
}

std::string send_email(const SmtpSettings& settings, const EmailMessage& message) {
  if (settings.url.rfind("smtp://", 0) != 0 && settings.url.rfind("smtps://", 0) != 0) {
    return "the mail server URL must start with smtp:// or smtps://";
  }
  if (std::string problem = email_problem(settings, message); !problem.empty()) return problem;
  ensure_curl_initialized();
  const std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return "cannot create a libcurl handle";
  const std::string text = render_email(settings, message, static_cast<int64_t>(std::time(nullptr)));
  Upload upload{text};
  const std::string from = "<" + settings.from + ">";
  const std::unique_ptr<curl_slist, SlistDeleter> recipients(
      curl_slist_append(nullptr, ("<" + message.to + ">").c_str()));
  if (!recipients) return "cannot allocate the recipient list";
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, settings.url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(handle, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(handle, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(handle, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(handle, CURLOPT_READDATA, &upload);
  curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(text.size()));
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, settings.connect_timeout_ms);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, settings.timeout_ms);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  // Credentials never travel in the clear: an smtp:// URL with user info insists on STARTTLS.
  const std::size_t authority = settings.url.find("://") + 3;
  const std::size_t at = settings.url.find('@', authority);
  const bool has_credentials =
      at != std::string::npos && at < settings.url.find('/', authority);
  if (settings.require_starttls || has_credentials) {
    curl_easy_setopt(handle, CURLOPT_USE_SSL, CURLUSESSL_ALL);
  }
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
  const CURLcode result = curl_easy_perform(handle);
  if (result == CURLE_OK) return "";
  long reply = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &reply);
  std::string text_error = error[0] != '\0' ? error : curl_easy_strerror(result);
  if (reply != 0) text_error += " (SMTP reply " + std::to_string(reply) + ")";
  return unicode::scrub_utf8(unicode::truncate_utf8(text_error, 300));
}

}  // namespace integrations
