// Sealed webhook bodies (webhooks/delivery_body.h).
#include "webhooks/delivery_body.h"

#include "crypto/seal.h"

namespace webhooks {
namespace {

std::string context_of(std::string_view provider, std::string_view id) {
  std::string context = "webhook_body:";
  context += provider;
  context += ':';
  context += id;
  return context;
}

}  // namespace

SealedBody seal_body(std::string_view provider, std::string_view id, std::string_view raw_body) {
  SealedBody sealed;
  sealed.key = crypto::new_seal_key();
  sealed.stored = crypto::seal(sealed.key, raw_body, context_of(provider, id));
  return sealed;
}

std::optional<std::string> open_stored_body(const pg::Result& rows, int row, int column,
                                            std::string_view provider, std::string_view id) {
  if (!rows.boolean(row, column + 1)) return rows.bytes(row, column);
  if (rows.is_null(row, column + 2)) return std::nullopt;
  return crypto::open_sealed(rows.bytes(row, column + 2), rows.bytes(row, column),
                             context_of(provider, id));
}

}  // namespace webhooks
