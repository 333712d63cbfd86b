// Merkle trees over a sequence of 32-byte values, as RFC 9162 (Certificate Transparency
// v2) defines them: leaf = SHA-256(0x00 || value), node = SHA-256(0x01 || left || right), a
// tree of n leaves splits at the largest power of two below n. The root commits to every
// value and its position; an inclusion proof is the audit path of one leaf. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace crypto {

// The leaf hash of a value.
std::string merkle_leaf(const std::string& value);

// The root of the tree over `leaves` (leaf hashes, in order); the SHA-256 of "" when empty.
std::string merkle_root(const std::vector<std::string>& leaves);

// The audit path of leaf `index` in the tree over `leaves` (index < leaves.size()), from the
// leaf's sibling up.
std::vector<std::string> merkle_path(const std::vector<std::string>& leaves, uint64_t index);

// The root that leaf hash `leaf` at `index` of a tree of `size` leaves and `path` imply, or
// nullopt when the path has the wrong length for that position (RFC 9162, 2.1.3.2).
std::optional<std::string> merkle_root_from_path(const std::string& leaf, uint64_t index,
                                                 uint64_t size,
                                                 const std::vector<std::string>& path);

}  // namespace crypto
