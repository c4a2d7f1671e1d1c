#include "common/ipv4.h"

#include <gtest/gtest.h>

namespace ringgate {
namespace {

TEST(Ipv4Address, ParsesAndPrints) {
    auto a = Ipv4Address::parse("198.18.0.1");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->value, 0xC6120001u);
    EXPECT_EQ(a->toString(), "198.18.0.1");
    EXPECT_EQ(Ipv4Address::parse("0.0.0.0")->value, 0u);
    EXPECT_EQ(Ipv4Address::parse("255.255.255.255")->value, 0xFFFFFFFFu);
}

TEST(Ipv4Address, RefusesMalformed) {
    for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "01.2.3.4",
                            "1..3.4", "a.b.c.d", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4/24", "99999999999.1.1.1"})
        EXPECT_FALSE(Ipv4Address::parse(bad)) << bad;
}

TEST(Ipv4Prefix, ContainsAndRefusesHostBits) {
    auto p = Ipv4Prefix::parse("198.18.0.0/15");
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->contains(*Ipv4Address::parse("198.19.255.255")));
    EXPECT_FALSE(p->contains(*Ipv4Address::parse("198.20.0.0")));
    EXPECT_FALSE(Ipv4Prefix::parse("198.18.0.1/24"));
    EXPECT_FALSE(Ipv4Prefix::parse("198.18.0.0/33"));
    EXPECT_FALSE(Ipv4Prefix::parse("198.18.0.0"));
    auto all = Ipv4Prefix::parse("0.0.0.0/0");
    ASSERT_TRUE(all);
    EXPECT_TRUE(all->contains(*Ipv4Address::parse("10.1.2.3")));
}

TEST(Ipv4Endpoint, ParsesPort) {
    auto e = Ipv4Endpoint::parse("127.0.0.1:7100");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->port, 7100);
    EXPECT_EQ(e->toString(), "127.0.0.1:7100");
    EXPECT_FALSE(Ipv4Endpoint::parse("127.0.0.1:0"));
    EXPECT_FALSE(Ipv4Endpoint::parse("127.0.0.1:65536"));
    EXPECT_FALSE(Ipv4Endpoint::parse("127.0.0.1"));
}

}  // namespace
}  // namespace ringgate
