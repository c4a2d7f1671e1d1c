// Seed 000's Tables 1-5 as golden tests, run against the real SQLite and the real
// PostgreSQL (RINGGATE_TEST_STORE selects which; meson registers the program twice).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "control/registry/ring_view.h"
#include "tests/registry/store_fixture.h"

namespace ringgate::registry::test {
namespace {

const std::vector<ServerEntry> kTable1 = {row(1, 2, 3), row(2, 3, 1), row(3, 1, 2)};
const std::vector<ServerEntry> kTable2 = {row(1, 2, 3), row(2, 4, 1), row(3, 1, 4), row(4, 2, 3)};
const std::vector<ServerEntry> kTable3 = kTable2;  // the seed prints the same table again
const std::vector<ServerEntry> kTable4 = {row(1, 2, 4), row(2, 4, 1), row(4, 2, 1)};

using GoldenTest = StoreTest;

// Fig. 4 with NewServer = 4, RandomServer = 2, RandomBuddy = 3: Table 1 becomes Table 2.
TEST_F(GoldenTest, Table1AnnounceServer4BecomesTable2) {
    loadTable(kTable1);
    // The pick indexes the other servers in address order: 1 -> server 2.
    auto result = store_->announce(server(4), 1);
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_FALSE(result->alreadyPresent);
    EXPECT_EQ(result->buddyA, server(2));  // RandomServer
    EXPECT_EQ(result->buddyB, server(3));  // RandomBuddy
    EXPECT_EQ(table(), kTable2);
    EXPECT_TRUE(checkRing(table()).ok);
}

// Fig. 6: server 4 finds server 3 dead; Table 3 becomes Table 4; the buddies (1, 4) return.
TEST_F(GoldenTest, Table3DeleteServer3BecomesTable4) {
    loadTable(kTable3);
    auto result = store_->remove(server(3));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_TRUE(result->found);
    std::set<Ipv4Address> buddies{result->buddyA, result->buddyB};
    EXPECT_EQ(buddies, (std::set<Ipv4Address>{server(1), server(4)}));
    EXPECT_EQ(table(), kTable4);
    EXPECT_TRUE(checkRing(table()).ok);
}

// Claims 15-16: server 2 shuts down from Table 4; its buddies 4 and 1 become each other's.
TEST_F(GoldenTest, Table4NormalShutdownOfServer2) {
    loadTable(kTable4);
    auto result = store_->remove(server(2));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->buddyA, server(4));
    EXPECT_EQ(result->buddyB, server(1));
    EXPECT_EQ(table(), (std::vector<ServerEntry>{row(1, 4, 4), row(4, 1, 1)}));
    EXPECT_TRUE(checkRing(table()).ok);
}

// Table 5: a ring of n servers; the table reads as one ring in order 1..n.
TEST_F(GoldenTest, Table5IsOneRingOfN) {
    const uint32_t n = 12;
    std::vector<ServerEntry> table5;
    for (uint32_t k = 1; k <= n; ++k)
        table5.push_back(k == 1 ? row(1, 2, n) : k == n ? row(n, n - 1, 1) : row(k, k + 1, k - 1));
    loadTable(table5);
    auto check = checkRing(table());
    ASSERT_TRUE(check.ok) << check.problem;
    for (uint32_t k = 1; k <= n; ++k) EXPECT_EQ(check.order[k - 1], server(k));
    EXPECT_EQ(liveList(table()).size(), n);
    // A delete in the middle keeps one ring: 5's buddies 6 and 4 now watch each other.
    auto result = store_->remove(server(5));
    ASSERT_TRUE(result.ok());
    EXPECT_TRUE(checkRing(table()).ok);
    auto snapshot = table();
    EXPECT_EQ(snapshot[3], row(4, 6, 3));
    EXPECT_EQ(snapshot[4], row(6, 7, 4));
}

// Claim 8: the insertion point is a random server and its buddy A; every pick gives a
// valid ring, different picks give different rings, and picks wrap modulo the count.
TEST_F(GoldenTest, Claim8RandomInsertionPoint) {
    std::set<std::vector<ServerEntry>> outcomes;
    for (uint64_t pick = 0; pick < 3; ++pick) {
        loadTable(kTable1);
        auto result = store_->announce(server(4), pick);
        ASSERT_TRUE(result.ok());
        EXPECT_EQ(result->buddyA, server(static_cast<uint32_t>(pick + 1)));  // RandomServer
        auto check = checkRing(table());
        EXPECT_TRUE(check.ok) << check.problem;
        outcomes.insert(table());
    }
    EXPECT_EQ(outcomes.size(), 3u);
    loadTable(kTable1);
    ASSERT_TRUE(store_->announce(server(4), 1 + 3 * 1000).ok());
    EXPECT_EQ(table(), kTable2);
}

TEST_F(GoldenTest, FirstServersAreTheirOwnBuddiesThenARing) {
    auto first = store_->announce(server(1), 7);
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(first->buddyA, server(1));
    EXPECT_EQ(table(), (std::vector<ServerEntry>{row(1, 1, 1)}));
    auto second = store_->announce(server(2), 7);
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(table(), (std::vector<ServerEntry>{row(1, 2, 2), row(2, 1, 1)}));
    auto third = store_->announce(server(3), 0);
    ASSERT_TRUE(third.ok());
    EXPECT_TRUE(checkRing(table()).ok);
    EXPECT_EQ(table().size(), 3u);
    // Back down to one and to none.
    ASSERT_TRUE(store_->remove(server(2)).ok());
    ASSERT_TRUE(store_->remove(server(3)).ok());
    EXPECT_EQ(table(), (std::vector<ServerEntry>{row(1, 1, 1)}));
    ASSERT_TRUE(store_->remove(server(1)).ok());
    EXPECT_TRUE(table().empty());
}

TEST_F(GoldenTest, AnnounceAndDeleteAreIdempotent) {
    loadTable(kTable2, 5);
    auto again = store_->announce(server(3), 0);
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->alreadyPresent);
    EXPECT_EQ(again->buddyA, server(1));
    EXPECT_EQ(again->buddyB, server(4));
    EXPECT_EQ(again->version, 5u);
    EXPECT_EQ(table(), kTable2);
    auto gone = store_->remove(server(9));
    ASSERT_TRUE(gone.ok());
    EXPECT_FALSE(gone->found);
    EXPECT_EQ(table(), kTable2);
    auto removed = store_->remove(server(4));
    ASSERT_TRUE(removed.ok());
    EXPECT_EQ(removed->version, 6u);
    EXPECT_EQ(table(), kTable1);  // deleting the announced server undoes Fig. 4
}

TEST_F(GoldenTest, ReplaceTakesOverTheRingPosition) {
    loadTable(kTable2);
    auto result = store_->replace(server(4), server(9));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->buddyA, server(2));
    EXPECT_EQ(result->buddyB, server(3));
    EXPECT_EQ(table(), (std::vector<ServerEntry>{row(1, 2, 3), row(2, 9, 1), row(3, 1, 9), row(9, 2, 3)}));
    EXPECT_FALSE(store_->replace(server(4), server(10)).ok());  // 4 is gone
    EXPECT_FALSE(store_->replace(server(1), server(2)).ok());   // 2 is taken
    auto entry = store_->entry(server(9));
    ASSERT_TRUE(entry.ok());
    EXPECT_TRUE(entry->found);
    EXPECT_EQ(entry->entry, row(9, 2, 3));
}

TEST_F(GoldenTest, RandomGrowthAndShrinkAlwaysOneRing) {
    std::mt19937_64 random(42);
    std::vector<uint32_t> members;
    for (uint32_t k = 1; k <= 60; ++k) {
        ASSERT_TRUE(store_->announce(server(k), random()).ok());
        members.push_back(k);
        auto check = checkRing(table());
        ASSERT_TRUE(check.ok) << "after announcing " << k << ": " << check.problem;
    }
    std::shuffle(members.begin(), members.end(), random);
    for (size_t i = 0; i < members.size(); ++i) {
        ASSERT_TRUE(store_->remove(server(members[i])).ok());
        auto check = checkRing(table());
        ASSERT_TRUE(check.ok) << "after deleting " << members[i] << ": " << check.problem;
        EXPECT_EQ(check.order.size(), members.size() - i - 1);
    }
}

// Many callers at once, each on its own connection: the result is still one ring.
TEST_F(GoldenTest, ConcurrentAnnouncesAndDeletesKeepOneRing) {
    constexpr uint32_t kThreads = 8, kEach = 25;
    auto run = [](auto body) {
        std::vector<std::thread> threads;
        for (uint32_t t = 0; t < kThreads; ++t) threads.emplace_back(body, t);
        for (auto& thread : threads) thread.join();
    };
    std::atomic<int> failures{0};
    run([&](uint32_t t) {
        auto store = StoreEnvironment::instance().open();
        if (!store) { ++failures; return; }
        std::mt19937_64 random(t);
        for (uint32_t i = 0; i < kEach; ++i)
            if (!store->announce(server(1 + t * kEach + i), random()).ok()) ++failures;
    });
    ASSERT_EQ(failures.load(), 0);
    auto check = checkRing(table());
    ASSERT_TRUE(check.ok) << check.problem;
    EXPECT_EQ(check.order.size(), kThreads * kEach);
    // Half of the servers die at once, reported by several discoverers (some twice).
    run([&](uint32_t t) {
        auto store = StoreEnvironment::instance().open();
        if (!store) { ++failures; return; }
        for (uint32_t i = 0; i < kEach; i += 2) {
            if (!store->remove(server(1 + t * kEach + i)).ok()) ++failures;
            if (!store->remove(server(1 + ((t + 1) % kThreads) * kEach + i)).ok()) ++failures;
        }
    });
    ASSERT_EQ(failures.load(), 0);
    check = checkRing(table());
    ASSERT_TRUE(check.ok) << check.problem;
    EXPECT_EQ(check.order.size(), kThreads * (kEach / 2));
}

}  // namespace
}  // namespace ringgate::registry::test
