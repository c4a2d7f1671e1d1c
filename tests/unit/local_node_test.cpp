#include "config/local_node.h"

#include <gtest/gtest.h>

namespace ringgate::config {
namespace {

Ipv4Address ip(const char* text) { return *Ipv4Address::parse(text); }

Cluster threeNodes() {
    Cluster cluster;
    for (NodeId id = 1; id <= 3; ++id) {
        std::string n = std::to_string(id);
        cluster.nodes.push_back(Node{id, {{"external", ip(("198.18.0." + n).c_str())},
                                          {"internal", ip(("198.19.0." + n).c_str())}}});
    }
    return cluster;
}

TEST(LocalNode, TheNodeWithAnAddressOfThisHost) {
    auto found = localNode(threeNodes(), {ip("127.0.0.1"), ip("198.19.0.2"), ip("10.0.0.7")});
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(*found, 2u);
}

TEST(LocalNode, SeveralAddressesOfOneNodeAreOneMatch) {
    auto found = localNode(threeNodes(), {ip("198.18.0.3"), ip("198.19.0.3")});
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(*found, 3u);
}

TEST(LocalNode, NoMatchIsAnErrorThatAsksForNode) {
    auto found = localNode(threeNodes(), {ip("127.0.0.1"), ip("198.18.0.9")});
    ASSERT_FALSE(found);
    EXPECT_NE(found.error().message.find("give --node ID"), std::string::npos);
}

TEST(LocalNode, TwoNodesOnOneHostAreNotGuessed) {
    auto found = localNode(threeNodes(), {ip("198.18.0.1"), ip("198.19.0.3")});
    ASSERT_FALSE(found);
    EXPECT_NE(found.error().message.find("nodes 1, 3"), std::string::npos) << found.error().message;
}

TEST(LocalNode, HostAddressesIncludeLoopback) {
    auto addresses = hostIpv4Addresses();
    ASSERT_TRUE(addresses) << addresses.error().message;
    EXPECT_NE(std::find(addresses->begin(), addresses->end(), ip("127.0.0.1")), addresses->end());
}

}  // namespace
}  // namespace ringgate::config
