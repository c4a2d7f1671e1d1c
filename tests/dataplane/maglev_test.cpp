#include "dataplane/maglev.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace ringgate::dataplane {
namespace {

std::vector<MaglevBackend> backends(size_t n) {
    std::vector<MaglevBackend> out;
    for (size_t i = 0; i < n; ++i)
        out.push_back({0xC6130000u + 50 + static_cast<uint32_t>(i), 80, 1});
    return out;
}

std::map<uint32_t, size_t> shares(const std::vector<MaglevBackend>& set,
                                  const std::vector<uint16_t>& table) {
    std::map<uint32_t, size_t> count;
    for (uint16_t entry : table) ++count[set.at(entry).address];
    return count;
}

TEST(Maglev, EveryBackendGetsAnEqualShare) {
    auto set = backends(7);
    auto table = buildMaglevTable(set, 65537);
    auto count = shares(set, table);
    ASSERT_EQ(count.size(), 7u);
    for (auto [address, n] : count) {
        EXPECT_GE(n, 65537u / 7) << address;
        EXPECT_LE(n, 65537u / 7 + 1) << address;
    }
}

TEST(Maglev, SameSetInAnyOrderGivesTheSameAssignment) {
    auto set = backends(10);
    auto table = buildMaglevTable(set, 4099);
    auto reversed = set;
    std::reverse(reversed.begin(), reversed.end());
    auto other = buildMaglevTable(reversed, 4099);
    for (size_t i = 0; i < table.size(); ++i)
        ASSERT_EQ(set[table[i]].address, reversed[other[i]].address) << i;
}

TEST(Maglev, LosingABackendMovesOnlyAFewOtherSlots) {
    auto set = backends(10);
    auto before = buildMaglevTable(set, 65537);
    auto fewer = set;
    uint32_t lost = fewer[3].address;
    fewer.erase(fewer.begin() + 3);
    auto after = buildMaglevTable(fewer, 65537);
    size_t ownedByLost = 0, movedOthers = 0;
    for (size_t i = 0; i < before.size(); ++i) {
        uint32_t was = set[before[i]].address;
        uint32_t now = fewer[after[i]].address;
        ASSERT_NE(now, lost);
        if (was == lost) ++ownedByLost;
        else if (was != now) ++movedOthers;
    }
    EXPECT_NEAR(static_cast<double>(ownedByLost), 65537.0 / 10, 2);
    // Maglev trades a little disruption for balance; the paper measures a few percent.
    EXPECT_LT(static_cast<double>(movedOthers), 0.03 * 65537) << movedOthers;
}

TEST(Maglev, WeightsSetTheShares) {
    auto set = backends(3);
    set[0].weight = 2;
    set[2].weight = 0;
    auto table = buildMaglevTable(set, 65537);
    auto count = shares(set, table);
    EXPECT_EQ(count.count(set[2].address), 0u);
    double ratio = static_cast<double>(count[set[0].address]) / count[set[1].address];
    EXPECT_NEAR(ratio, 2.0, 0.01);
}

TEST(Maglev, NoBackendsGiveAnEmptyTable) {
    auto table = buildMaglevTable({}, 251);
    EXPECT_TRUE(std::all_of(table.begin(), table.end(),
                            [](uint16_t e) { return e == kMaglevNoBackend; }));
}

}  // namespace
}  // namespace ringgate::dataplane
