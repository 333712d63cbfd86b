// RFC 9162 Merkle trees (crypto/merkle.h): the roots of small trees by the definition, every
// leaf's audit path leads to the root of every tree size up to 33, and altered paths, leaves,
// indices or sizes lead elsewhere.
#include "crypto/merkle.h"

#include <gtest/gtest.h>

#include "crypto/digest.h"

namespace {

std::vector<std::string> leaves(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(crypto::merkle_leaf(crypto::sha256(std::to_string(i))));
  return out;
}

std::string node(const std::string& l, const std::string& r) {
  return crypto::sha256(std::string(1, '\x01') + l + r);
}

TEST(MerkleTest, RootsFollowTheDefinition) {
  EXPECT_EQ(crypto::merkle_root({}), crypto::sha256(""));
  const auto l = leaves(3);
  EXPECT_EQ(crypto::merkle_leaf("x"), crypto::sha256(std::string(1, '\0') + "x"));
  EXPECT_EQ(crypto::merkle_root({l[0]}), l[0]);
  EXPECT_EQ(crypto::merkle_root({l[0], l[1]}), node(l[0], l[1]));
  // Three leaves split at 2: ((0,1),2).
  EXPECT_EQ(crypto::merkle_root(l), node(node(l[0], l[1]), l[2]));
}

TEST(MerkleTest, EveryPathOfEverySizeLeadsToTheRootAndNothingElseDoes) {
  for (std::size_t n = 1; n <= 33; ++n) {
    const auto l = leaves(n);
    const std::string root = crypto::merkle_root(l);
    for (std::size_t i = 0; i < n; ++i) {
      const auto path = crypto::merkle_path(l, i);
      EXPECT_EQ(crypto::merkle_root_from_path(l[i], i, n, path), root) << n << " " << i;
      EXPECT_NE(crypto::merkle_root_from_path(l[(i + 1) % n], i, n, path), n > 1 ? root : "x");
      if (n > 1) {
        EXPECT_NE(crypto::merkle_root_from_path(l[i], (i + 1) % n, n, path), root) << n << " " << i;
        auto altered = path;
        altered[0][0] = static_cast<char>(altered[0][0] ^ 1);
        EXPECT_NE(crypto::merkle_root_from_path(l[i], i, n, altered), root);
        auto shorter = path;
        shorter.pop_back();
        EXPECT_NE(crypto::merkle_root_from_path(l[i], i, n, shorter), root);
      }
      EXPECT_FALSE(crypto::merkle_root_from_path(l[i], n, n, path));
    }
  }
}

}  // namespace
