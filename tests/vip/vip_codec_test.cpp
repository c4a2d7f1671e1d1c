#include "control/vip/vip_codec.h"

#include <gtest/gtest.h>

#include <random>

namespace ringgate::vip {
namespace {

VipTable sample() {
    VipTable t;
    t.version = 42;
    t.entries = {{Ipv4Address{0xC6120064}, 1, 2, Persistence::StickyPreferred, 3, false},
                 {Ipv4Address{0xC6120065}, kNoNode, kNoNode, Persistence::Movable, kNoNode, true}};
    t.drained = {2, 5};
    return t;
}

TEST(VipCodec, VipTableRoundTrips) {
    std::string error;
    auto decoded = decodeVipTable(encodeVipTable(sample()), error);
    ASSERT_TRUE(decoded) << error;
    EXPECT_EQ(*decoded, sample());
}

TEST(VipCodec, LoadTableRoundTrips) {
    LoadTable loads;
    loads.nodes[1].vipRates[Ipv4Address{1}] = 123456789012ull;
    loads.nodes[1].cpuPermille = 1500;
    loads.nodes[1].withdrawn = {Ipv4Address{7}, Ipv4Address{8}};
    loads.nodes[3] = {};
    std::string error;
    auto decoded = decodeLoadTable(encodeLoadTable(loads), error);
    ASSERT_TRUE(decoded) << error;
    EXPECT_EQ(*decoded, loads);
}

TEST(VipCodec, RefusesMalformedLoadCarriages) {
    LoadTable loads;
    loads.nodes[2].vipRates[Ipv4Address{1}] = 5;
    loads.nodes[2].withdrawn = {Ipv4Address{9}};
    auto bytes = encodeLoadTable(loads);
    std::string error;
    for (size_t cut = 0; cut < bytes.size(); ++cut) EXPECT_FALSE(decodeLoadTable(std::span(bytes).first(cut), error)) << cut;
    auto older = bytes;
    older[0] = 1;  // a peer still on the version without CPU and monitors
    EXPECT_FALSE(decodeLoadTable(older, error));
    EXPECT_EQ(error, "unknown load carriage version");
    auto hotCpu = bytes;
    hotCpu[1 + 2 + 2] = 0xff;  // the row's CPU permille, high byte: 65,280+
    EXPECT_FALSE(decodeLoadTable(hotCpu, error));
    EXPECT_EQ(error, "CPU load out of range");
    // The same VIP twice in the withdrawn list: refused, not merged.
    loads.nodes[2].withdrawn.clear();
    auto twice = encodeLoadTable(loads);
    twice.pop_back(), twice.pop_back();  // empty list (u16 0)
    for (uint8_t b : {0, 2, 0, 0, 0, 9, 0, 0, 0, 9}) twice.push_back(b);
    EXPECT_FALSE(decodeLoadTable(twice, error));
    EXPECT_EQ(error, "VIP withdrawn twice");
}

TEST(VipCodec, RefusesMalformedCarriages) {
    auto bytes = encodeVipTable(sample());
    std::string error;
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
        EXPECT_FALSE(decodeVipTable(std::span(bytes).first(cut), error)) << cut;
    }
    auto trailing = bytes;
    trailing.push_back(0);
    EXPECT_FALSE(decodeVipTable(trailing, error));
    EXPECT_EQ(error, "trailing bytes");
    auto badPersistence = bytes;
    badPersistence[1 + 8 + 2 + 4 + 2 + 2] = 2;  // first entry's persistence
    EXPECT_FALSE(decodeVipTable(badPersistence, error));
    EXPECT_EQ(error, "bad persistence");
    auto badVersion = bytes;
    badVersion[0] = 9;
    EXPECT_FALSE(decodeVipTable(badVersion, error));
}

TEST(VipCodec, RandomBytesNeverCrash) {
    std::mt19937 rng(7);
    std::string error;
    size_t accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        std::vector<uint8_t> junk(rng() % 64);
        for (auto& b : junk) b = static_cast<uint8_t>(rng());
        if (!junk.empty()) junk[0] = kVipCarriageVersion;
        accepted += decodeVipTable(junk, error).has_value();
        if (!junk.empty()) junk[0] = kLoadCarriageVersion;
        accepted += decodeLoadTable(junk, error).has_value();
    }
    EXPECT_LT(accepted, 20000u);  // most junk is refused; none of it crashes
}

}  // namespace
}  // namespace ringgate::vip
