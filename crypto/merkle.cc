// RFC 9162 Merkle trees (crypto/merkle.h).
#include "crypto/merkle.h"

#include <cassert>

#include "crypto/digest.h"

namespace crypto {
namespace {

std::string node(const std::string& left, const std::string& right) {
  std::string input(1, '\x01');
  input += left;
  input += right;
  return sha256(input);
}

// The largest power of two strictly below n (n >= 2).
uint64_t split_point(uint64_t n) {
  assert(n >= 2);
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

std::string root_of(const std::vector<std::string>& leaves, uint64_t begin, uint64_t end) {
  const uint64_t n = end - begin;
  if (n == 1) return leaves[begin];
  const uint64_t k = split_point(n);
  return node(root_of(leaves, begin, begin + k), root_of(leaves, begin + k, end));
}

void path_of(const std::vector<std::string>& leaves, uint64_t index, uint64_t begin, uint64_t end,
             std::vector<std::string>& path) {
  const uint64_t n = end - begin;
  if (n <= 1) return;
  const uint64_t k = split_point(n);
  if (index < k) {
    path_of(leaves, index, begin, begin + k, path);
    path.push_back(root_of(leaves, begin + k, end));
  } else {
    path_of(leaves, index - k, begin + k, end, path);
    path.push_back(root_of(leaves, begin, begin + k));
  }
}

}  // namespace

std::string merkle_leaf(const std::string& value) {
  std::string input(1, '\x00');
  input += value;
  return sha256(input);
}

std::string merkle_root(const std::vector<std::string>& leaves) {
  if (leaves.empty()) return sha256("");
  return root_of(leaves, 0, leaves.size());
}

std::vector<std::string> merkle_path(const std::vector<std::string>& leaves, uint64_t index) {
  assert(index < leaves.size());
  std::vector<std::string> path;
  path_of(leaves, index, 0, leaves.size(), path);
  return path;
}

std::optional<std::string> merkle_root_from_path(const std::string& leaf, uint64_t index,
                                                 uint64_t size,
                                                 const std::vector<std::string>& path) {
  if (index >= size) return std::nullopt;
  uint64_t fn = index;
  uint64_t sn = size - 1;
  std::string r = leaf;
  for (const std::string& p : path) {
    if (sn == 0 || p.size() != kSha256Size) return std::nullopt;
    if ((fn & 1) == 1 || fn == sn) {
      r = node(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = node(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return std::nullopt;
  return r;
}

}  // namespace crypto
