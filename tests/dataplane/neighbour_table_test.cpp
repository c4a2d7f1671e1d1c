#include "dataplane/neighbour_table.h"

#include <gtest/gtest.h>

#include <thread>

namespace ringgate::dataplane {
namespace {

MacAddress mac(uint8_t last) { return {{0x02, 0, 0, 0, 0, last}}; }

TEST(NeighbourTable, LearnsRefreshesAndAges) {
    NeighbourTimers timers{1000, 500, 100};
    NeighbourTable table(64, timers);
    EXPECT_FALSE(table.lookup(0xC6130033, 0));
    table.learn(0xC6130033, mac(1), 10);
    auto found = table.lookup(0xC6130033, 20);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->mac, mac(1));
    EXPECT_FALSE(found->needsRefresh);
    EXPECT_TRUE(table.lookup(0xC6130033, 600)->needsRefresh);
    table.learn(0xC6130033, mac(2), 900);  // the MAC moved
    EXPECT_EQ(table.lookup(0xC6130033, 950)->mac, mac(2));
    EXPECT_FALSE(table.lookup(0xC6130033, 2000));  // aged out
}

TEST(NeighbourTable, RequestsAreRateLimited) {
    NeighbourTable table(64, {1000, 500, 100});
    EXPECT_TRUE(table.shouldRequest(7, 1000));
    EXPECT_FALSE(table.shouldRequest(7, 1050));
    EXPECT_TRUE(table.shouldRequest(7, 1101));
    EXPECT_FALSE(table.lookup(7, 1101));  // a request alone resolves nothing
}

TEST(NeighbourTable, ManyAddressesInASmallTableReuseStaleSlots) {
    NeighbourTable table(16, {1000, 500, 100});
    for (uint32_t i = 1; i <= 16; ++i) table.learn(i, mac(static_cast<uint8_t>(i)), 0);
    size_t known = 0;
    for (uint32_t i = 1; i <= 16; ++i) known += table.lookup(i, 1).has_value();
    EXPECT_GE(known, 12u);  // probing windows may collide; most fit
    // Once the old entries expired, any 8 new addresses fit: every 8-slot probing window
    // still holds an expired slot.
    for (uint32_t i = 100; i < 108; ++i) table.learn(i, mac(9), 5000);
    for (uint32_t i = 100; i < 108; ++i) EXPECT_TRUE(table.lookup(i, 5001)) << i;
    EXPECT_EQ(table.list(5001).size(), 8u);
}

TEST(NeighbourTable, ConcurrentWritersNeverTearAnEntry) {
    NeighbourTable table(64);
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        for (uint32_t n = 0; !stop; ++n) table.learn(42, n % 2 ? mac(0x11) : mac(0x22), 1);
    });
    for (int i = 0; i < 200000; ++i) {
        auto found = table.lookup(42, 1);
        if (found) {
            ASSERT_TRUE(found->mac == mac(0x11) || found->mac == mac(0x22));
        }
    }
    stop = true;
    writer.join();
}

}  // namespace
}  // namespace ringgate::dataplane
