// The connection index alone (no EAL): placement, bounded neighbourhoods, churn, and
// writers racing each other and readers.
#include "dataplane/flow_index.h"
#include "dataplane/packet.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <chrono>
#include <thread>
#include <vector>

namespace ringgate::dataplane {
namespace {

// Keys by number; the index stores the number as its value, as the connection table
// stores entry indices.
std::vector<FlowKey> makeKeys(size_t count, uint32_t salt = 0) {
    std::vector<FlowKey> keys(count);
    for (size_t i = 0; i < count; ++i)
        keys[i] = FlowKey{0x64400000u + static_cast<uint32_t>(i / 50000) + salt, 0xC6120064,
                          static_cast<uint16_t>(10000 + i % 50000), 80, kProtoTcp};
    return keys;
}

struct Fixture {
    explicit Fixture(size_t capacity, uint64_t seed = 7) : keys(makeKeys(capacity)) {
        auto created = FlowIndex::create(capacity, seed);
        EXPECT_TRUE(created.ok());
        index = std::move(*created);
    }
    uint32_t find(const FlowKey& key) const {
        return index.find(key, index.position(key), [this](uint32_t v) -> const FlowKey& { return keys[v]; });
    }
    bool insert(uint32_t i) { return index.insert(index.position(keys[i]), i); }
    bool erase(uint32_t i) { return index.erase(index.position(keys[i]), i); }
    std::vector<FlowKey> keys;
    FlowIndex index;
};

TEST(FlowIndex, FindsWhatWasInsertedAndNothingElse) {
    Fixture f(1000);
    for (uint32_t i = 0; i < 500; ++i) ASSERT_TRUE(f.insert(i));
    for (uint32_t i = 0; i < 1000; ++i) EXPECT_EQ(f.find(f.keys[i]), i < 500 ? i : FlowIndex::kNone) << i;
    ASSERT_TRUE(f.erase(7));
    EXPECT_EQ(f.find(f.keys[7]), FlowIndex::kNone);
    EXPECT_FALSE(f.erase(7));  // gone: erasing again finds nothing
    EXPECT_EQ(f.find(f.keys[8]), 8u);
}

TEST(FlowIndex, FillsToCapacityWithoutRefusalAndSurvivesChurn) {
    // At capacity random keys never fill an 8-bucket neighbourhood in practice (a refusal
    // here would mean the sizing or probing is wrong).
    constexpr size_t kCapacity = 1 << 18;
    Fixture f(kCapacity, 12345);
    for (uint32_t i = 0; i < kCapacity; ++i) ASSERT_TRUE(f.insert(i)) << i;
    for (uint32_t i = 0; i < kCapacity; ++i) ASSERT_EQ(f.find(f.keys[i]), i);
    // Churn: remove a random half and put it back, three times; nothing is lost and the
    // index stays as usable as when it was new (no tombstones).
    std::mt19937 random(1);
    for (int round = 0; round < 3; ++round) {
        std::vector<uint32_t> out;
        for (uint32_t i = 0; i < kCapacity; ++i)
            if (random() & 1) out.push_back(i);
        for (uint32_t i : out) ASSERT_TRUE(f.erase(i));
        for (uint32_t i : out) ASSERT_EQ(f.find(f.keys[i]), FlowIndex::kNone);
        for (uint32_t i : out) ASSERT_TRUE(f.insert(i));
    }
    for (uint32_t i = 0; i < kCapacity; ++i) ASSERT_EQ(f.find(f.keys[i]), i);
    auto other = makeKeys(1000, 0x1000);
    for (const FlowKey& key : other) EXPECT_EQ(f.find(key), FlowIndex::kNone);
}

TEST(FlowIndex, AFullNeighbourhoodIsRefusedAndFreedSlotsAreReused) {
    Fixture f(1000);
    // Keys forced to one home bucket (as a flood aimed at one bucket would be, were the
    // seed known): the home and the seven buckets after it hold 56, then no more.
    FlowIndex::Position pos{5, 0x80000001u};
    unsigned slots = FlowIndex::kSlots * FlowIndex::kNeighbourhood;
    for (uint32_t v = 0; v < slots; ++v) ASSERT_TRUE(f.index.insert(pos, v)) << v;
    EXPECT_FALSE(f.index.insert(pos, 999));
    EXPECT_TRUE(f.index.insert(FlowIndex::Position{6, 0x80000002u}, 998));  // its neighbourhood reaches past the run
    ASSERT_TRUE(f.index.erase(pos, 20));  // in the third bucket
    EXPECT_TRUE(f.index.insert(pos, 999));
    // Every value is still found by its signature (keyOf accepts any value here).
    FlowKey any{};
    std::vector<FlowKey> same(1000, any);
    auto keyOf = [&](uint32_t v) -> const FlowKey& { return same[v]; };
    EXPECT_NE(f.index.find(any, pos, keyOf), FlowIndex::kNone);
    EXPECT_EQ(f.index.find(any, FlowIndex::Position{5, 0x80000003u}, keyOf), FlowIndex::kNone);
}

TEST(FlowIndex, BulkLookupMatchesSingleLookups) {
    Fixture f(4096);
    for (uint32_t i = 0; i < 4096; i += 3) ASSERT_TRUE(f.insert(i));
    const FlowKey* pointers[64];
    uint32_t values[64];
    for (uint32_t base = 0; base < 4096; base += 64) {
        for (unsigned i = 0; i < 64; ++i) pointers[i] = &f.keys[(base + i * 37) % 4096];
        unsigned prefetched = 0;
        uint64_t hits = f.index.findBulk(
            pointers, 64, values, [&](uint32_t v) -> const FlowKey& { return f.keys[v]; },
            [&](uint32_t) { ++prefetched; });
        for (unsigned i = 0; i < 64; ++i) {
            uint32_t expected = f.find(*pointers[i]);
            ASSERT_EQ(static_cast<bool>(hits >> i & 1), expected != FlowIndex::kNone) << base + i;
            if (hits >> i & 1) {
                EXPECT_EQ(values[i], expected);
            }
        }
        EXPECT_GE(prefetched, static_cast<unsigned>(__builtin_popcountll(hits)));
    }
}

// Two writers insert and erase their own keys while a reader looks keys up: every key a
// writer has published (and not yet erased) is found, with its own value; keys never
// inserted are never found. Published means: inserted before the writer's release store
// of its progress counter, which the reader loads with acquire.
TEST(FlowIndex, WritersRaceEachOtherAndReadersWithoutLossOrTearing) {
    constexpr uint32_t kPerWriter = 100000;
    constexpr uint32_t kWindow = 20000;  // keys a writer keeps inserted behind its progress
    Fixture f(2 * kWindow + 1000);
    f.keys = makeKeys(2 * kPerWriter + 1000);
    struct alignas(64) Progress {
        std::atomic<uint32_t> inserted{0};
    } progress[2];
    std::atomic<bool> failed{false};
    std::atomic<uint64_t> checked{0};
    auto writer = [&](unsigned w) {
        auto giveUpAt = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        for (uint32_t n = 0; n < kPerWriter; ++n) {
            // Keep in step with the reader (a few checks per thousand inserts): on a loaded
            // machine with two cores for three threads, the writers could otherwise finish
            // before the reader ran at all, and the race would not be tested.
            if (n % 1000 == 0)
                while (checked.load(std::memory_order_relaxed) < uint64_t{n} / 100 &&
                       std::chrono::steady_clock::now() < giveUpAt)
                    std::this_thread::yield();
            uint32_t id = 2 * n + w;  // interleaved: both writers hit the same buckets
            if (!f.insert(id)) failed = true;
            progress[w].inserted.store(n + 1, std::memory_order_release);
            if (n >= kWindow && !f.erase(2 * (n - kWindow) + w)) failed = true;
        }
    };
    auto reader = [&] {
        std::mt19937 random(3);
        auto keyOf = [&](uint32_t v) -> const FlowKey& { return f.keys[v]; };
        while (progress[0].inserted.load(std::memory_order_acquire) < kPerWriter ||
               progress[1].inserted.load(std::memory_order_acquire) < kPerWriter) {
            unsigned w = random() & 1;
            uint32_t done = progress[w].inserted.load(std::memory_order_acquire);
            // Keys behind the writer's progress and inside its window are present.
            if (done < 2) continue;
            uint32_t low = done > kWindow ? done - kWindow : 0;
            uint32_t n = low + random() % (done - low);
            uint32_t id = 2 * n + w;
            uint32_t v = f.index.find(f.keys[id], f.index.position(f.keys[id]), keyOf);
            // The writer may have moved on and erased it meanwhile: it erases key n only
            // after publishing progress n + kWindow + 1, so a miss is an error unless the
            // progress read after the lookup is past that.
            uint32_t after = progress[w].inserted.load(std::memory_order_acquire);
            if (v != id && (v != FlowIndex::kNone || after <= n + kWindow)) failed = true;
            // A key no writer ever inserts.
            const FlowKey& never = f.keys[2 * kPerWriter + random() % 1000];
            if (f.index.find(never, f.index.position(never), keyOf) != FlowIndex::kNone) failed = true;
            checked.fetch_add(1, std::memory_order_relaxed);
        }
    };
    std::thread r(reader), a(writer, 0), b(writer, 1);
    a.join();
    b.join();
    r.join();
    EXPECT_FALSE(failed.load());
    EXPECT_GT(checked.load(), 1000u);
    // What remains is exactly the last window of each writer.
    for (unsigned w = 0; w < 2; ++w)
        for (uint32_t n = 0; n < kPerWriter; ++n)
            ASSERT_EQ(f.find(f.keys[2 * n + w]), n >= kPerWriter - kWindow ? 2 * n + w : FlowIndex::kNone) << n;
}

}  // namespace
}  // namespace ringgate::dataplane
