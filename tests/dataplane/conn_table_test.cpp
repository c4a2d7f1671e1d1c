// The connection table on a real rte_rcu_qsbr (EAL without hugepages): both directions,
// refusals, grace periods, expiry, sampling, and two owners inserting while a reader looks.
#include "dataplane/conn_table.h"

#include <gtest/gtest.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <atomic>
#include <thread>

#include "tests/dataplane/eal_environment.h"

namespace ringgate::dataplane {
namespace {

class ConnTable : public ::testing::Test {
protected:
    // RCU thread ids: one per owner, and one more for a reader thread.
    static constexpr unsigned kThreads = 3;
    void SetUp() override {
        size_t size = rte_rcu_qsbr_get_memsize(kThreads);
        rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("rcu", size, 64));
        ASSERT_NE(rcu_, nullptr);
        rte_rcu_qsbr_init(rcu_, kThreads);
        for (unsigned t = 0; t < kThreads; ++t) rte_rcu_qsbr_thread_register(rcu_, t);
        rte_rcu_qsbr_thread_online(rcu_, 0);
        remake(64, 1);
    }
    void remake(uint32_t capacity, unsigned owners, uint64_t seed = 0) {
        table_.reset();
        static int serial = 0;
        ConnectionTableConfig config{"ct" + std::to_string(serial++), capacity, owners, seed};
        auto created = ConnectionTable::create(config, rcu_);
        ASSERT_TRUE(created.ok()) << created.error().message;
        table_ = std::move(*created);
    }
    void TearDown() override {
        table_.reset();
        rte_rcu_qsbr_thread_offline(rcu_, 0);
        rte_free(rcu_);
    }
    ConnectionInit flow(uint16_t clientPort, uint32_t now = 0) {
        ConnectionInit init;
        init.forward = {0xC612000A, 0xC6120064, clientPort, 80, kProtoTcp};
        init.reverse = {0xC6130033, 0xC6130064, 8080, static_cast<uint16_t>(1024 + clientPort), kProtoTcp};
        init.state = FlowState::SynSent;
        init.nowMs = now;
        init.service = 3;
        return init;
    }
    rte_rcu_qsbr* rcu_ = nullptr;
    std::unique_ptr<ConnectionTable> table_;
};

TEST_F(ConnTable, FindsAConnectionFromBothDirections) {
    Connection* conn = nullptr;
    ASSERT_EQ(table_->insert(0, flow(40000), &conn), InsertResult::Inserted);
    auto a = table_->lookup(flow(40000).forward);
    auto b = table_->lookup(flow(40000).reverse);
    EXPECT_EQ(a.conn, conn);
    EXPECT_FALSE(a.fromBackend);
    EXPECT_EQ(b.conn, conn);
    EXPECT_TRUE(b.fromBackend);
    EXPECT_EQ(conn->service, 3);
    EXPECT_EQ(table_->size(), 1u);
    EXPECT_FALSE(table_->lookup(flow(40001).forward).conn);
}

TEST_F(ConnTable, BulkLookupReportsHitsByMask) {
    for (uint16_t p = 0; p < 10; p += 2) ASSERT_EQ(table_->insert(0, flow(p)), InsertResult::Inserted);
    FlowKey keys[10];
    const FlowKey* pointers[10];
    for (uint16_t p = 0; p < 10; ++p) {
        keys[p] = p % 4 == 1 ? flow(p - 1).reverse : flow(p).forward;
        pointers[p] = &keys[p];
    }
    ConnectionTable::Hit hits[10];
    uint64_t mask = table_->lookupBulk(pointers, 10, hits);
    // Even ports exist; odd slots ask for the reverse key of the even port before them when
    // p % 4 == 1, and for a missing forward key otherwise.
    for (unsigned p = 0; p < 10; ++p) {
        bool expected = p % 2 == 0 || p % 4 == 1;
        EXPECT_EQ(static_cast<bool>(mask >> p & 1), expected) << p;
        if (p % 4 == 1) {
            EXPECT_TRUE(hits[p].fromBackend);
        }
    }
}

TEST_F(ConnTable, ReverseKeyInUseIsRefused) {
    ASSERT_EQ(table_->insert(0, flow(1)), InsertResult::Inserted);
    ConnectionInit clash = flow(2);
    clash.reverse = flow(1).reverse;
    EXPECT_EQ(table_->insert(0, clash), InsertResult::ReverseTaken);
    EXPECT_FALSE(table_->contains(clash.forward));
}

TEST_F(ConnTable, FillsToCapacityThenRefuses) {
    for (uint16_t p = 0; p < 64; ++p) ASSERT_EQ(table_->insert(0, flow(p)), InsertResult::Inserted) << p;
    EXPECT_EQ(table_->insert(0, flow(100)), InsertResult::Full);
    EXPECT_EQ(table_->size(), 64u);
}

TEST_F(ConnTable, ExpiryRespectsTimeoutsBudgetAndGracePeriod) {
    FlowTimeouts timeouts;
    timeouts.synMs = 100;
    for (uint16_t p = 0; p < 64; ++p) ASSERT_EQ(table_->insert(0, flow(p, 0)), InsertResult::Inserted);
    Connection* fresh = table_->lookup(flow(63).forward).conn;  // the last entry scanned
    fresh->lastSeenMs = 150;
    EXPECT_EQ(table_->expire(0, 99, timeouts, 64), 0u);  // not yet
    // A budget of 10 looks at 10 entries only: the loop never stalls on a big table.
    EXPECT_EQ(table_->expire(0, 200, timeouts, 10), 10u);
    EXPECT_EQ(table_->expire(0, 200, timeouts, 64), 53u);
    EXPECT_EQ(table_->size(), 1u);
    EXPECT_TRUE(table_->contains(flow(63).forward));
    EXPECT_FALSE(table_->contains(flow(8).forward));
    EXPECT_FALSE(table_->contains(flow(8).reverse));
    // Entries come back only after the reader (this thread) passed a quiescent state.
    EXPECT_EQ(table_->insert(0, flow(200)), InsertResult::Full);
    rte_rcu_qsbr_quiescent(rcu_, 0);
    table_->reclaim(0);
    EXPECT_EQ(table_->insert(0, flow(200)), InsertResult::Inserted);
}

TEST_F(ConnTable, ARemovedEntryIsReusedOnlyAfterAGracePeriod) {
    for (uint16_t p = 0; p < 64; ++p) ASSERT_EQ(table_->insert(0, flow(p)), InsertResult::Inserted);
    Connection* gone = table_->lookup(flow(5).forward).conn;
    ASSERT_NE(gone, nullptr);
    table_->remove(0, gone);
    EXPECT_FALSE(table_->contains(flow(5).forward));
    EXPECT_FALSE(table_->contains(flow(5).reverse));
    EXPECT_EQ(table_->size(), 63u);
    // A reader (this thread) may still hold the entry: not reusable yet, even on demand.
    table_->reclaim(0);
    EXPECT_EQ(table_->insert(0, flow(100)), InsertResult::Full);
    rte_rcu_qsbr_quiescent(rcu_, 0);
    table_->reclaim(0);
    Connection* reused = nullptr;
    ASSERT_EQ(table_->insert(0, flow(100), &reused), InsertResult::Inserted);
    EXPECT_EQ(reused, gone);
    EXPECT_EQ(table_->lookup(flow(100).reverse).conn, gone);
    EXPECT_TRUE(table_->lookup(flow(100).reverse).fromBackend);
    EXPECT_FALSE(table_->contains(flow(5).forward));
    EXPECT_EQ(table_->neighbourhoodFull(), 0u);
}

TEST_F(ConnTable, AFullNeighbourhoodIsRefusedAndCounted) {
    // With the seed known, pick client ports whose forward keys share one home bucket
    // (what a flood aimed at one bucket would need): the 8-bucket neighbourhood takes 56
    // keys at most, long before the table is full.
    constexpr uint64_t kSeed = 99;
    remake(1024, 1, kSeed);
    auto index = FlowIndex::create(2 * 1024, kSeed);  // the table's index has these parameters
    ASSERT_TRUE(index.ok());
    uint32_t home = index->position(flow(0).forward).home;
    InsertResult result = InsertResult::Inserted;
    unsigned inserted = 0;
    ConnectionInit refused;
    for (uint32_t n = 0; n < 1000000 && result == InsertResult::Inserted; ++n) {
        ConnectionInit init = flow(static_cast<uint16_t>(n % 60000));
        init.forward.src += n / 60000;
        init.reverse.dst += n / 60000;
        if (index->position(init.forward).home != home) continue;
        refused = init;
        result = table_->insert(0, refused);
        if (result == InsertResult::Inserted) ++inserted;
    }
    EXPECT_EQ(result, InsertResult::Full);
    EXPECT_LE(inserted, FlowIndex::kSlots * FlowIndex::kNeighbourhood);
    EXPECT_GE(inserted, FlowIndex::kSlots);
    EXPECT_EQ(table_->neighbourhoodFull(), 1u);
    EXPECT_EQ(table_->size(), inserted);
    EXPECT_FALSE(table_->contains(refused.forward));
    EXPECT_FALSE(table_->contains(refused.reverse));
    // Other flows still go in.
    ConnectionInit other = flow(1);
    other.forward.src = 0x0A000001;
    other.reverse.dst = 0x0A000001;
    if (index->position(other.forward).home != home) {
        EXPECT_EQ(table_->insert(0, other), InsertResult::Inserted);
    }
}

TEST_F(ConnTable, SampleCopiesEntriesInUseForOneVipOrAll) {
    remake(1024, 2);
    for (uint16_t p = 0; p < 40; ++p) {
        ConnectionInit init = flow(p);
        if (p % 4 == 0) init.forward.dst = 0xC6120065;
        init.backend = p;
        ASSERT_EQ(table_->insert(p % 2, init), InsertResult::Inserted);
    }
    table_->remove(0, table_->lookup(flow(2).forward).conn);
    auto all = table_->sample(0, 1000, 1 << 20);
    EXPECT_EQ(all.size(), 39u);
    auto one = table_->sample(0xC6120065, 1000, 1 << 20);
    ASSERT_EQ(one.size(), 10u);
    for (const auto& s : one) {
        EXPECT_EQ(s.forward.dst, 0xC6120065u);
        EXPECT_EQ(s.backend % 4, 0);
        EXPECT_EQ(s.reverse, flow(s.backend).reverse);
        EXPECT_EQ(s.state, FlowState::SynSent);
        EXPECT_EQ(s.service, 3);
    }
    EXPECT_EQ(table_->sample(0, 5, 1 << 20).size(), 5u);
    EXPECT_LT(table_->sample(0, 1000, 20).size(), 20u);  // examines only the first 20 entries
    for (const auto& s : all) EXPECT_NE(s.forward, flow(2).forward);
}

// Two owners insert and remove their flows on their own threads (each reporting quiescent
// states and reclaiming, as workers do) while a third thread looks flows up from both
// directions, one by one and in bulk: every flow an owner has published is found, whole
// (its keys and fields belong together), and no flow is found twice or after the owner
// is far past removing it.
TEST_F(ConnTable, TwoOwnersInsertWhileAReaderLooksWithoutLossOrTearing) {
    constexpr uint32_t kPerOwner = 60000;
    constexpr uint32_t kWindow = 4000;  // flows an owner keeps, as expiry would
    remake(4 * kWindow, 2);
    rte_rcu_qsbr_thread_offline(rcu_, 0);  // the owners' threads take ids 0 and 1
    auto flowOf = [](unsigned owner, uint32_t n) {
        ConnectionInit init;
        uint32_t client = 0x64400000u + owner * 0x100000 + n / 50000;
        init.forward = {client, 0xC6120064, static_cast<uint16_t>(10000 + n % 50000), 80, kProtoTcp};
        init.reverse = {0xC6130033, client, 8080, static_cast<uint16_t>(10000 + n % 50000), kProtoTcp};
        init.service = static_cast<uint16_t>(n);
        init.backend = static_cast<uint16_t>(n >> 16);
        init.vip = static_cast<uint16_t>(owner);
        init.state = FlowState::Established;
        return init;
    };
    struct alignas(64) Progress {
        std::atomic<uint32_t> published{0};
    } progress[2];
    std::atomic<bool> failed{false};
    auto owner = [&](unsigned o) {
        rte_rcu_qsbr_thread_online(rcu_, o);
        for (uint32_t n = 0; n < kPerOwner; ++n) {
            // Full only while the reader, descheduled, holds back grace periods: wait for
            // it as a worker would (there it drops the packet), for at most 10 s.
            InsertResult result;
            for (unsigned wait = 0; (result = table_->insert(o, flowOf(o, n))) == InsertResult::Full && wait < 10000;
                 ++wait) {
                rte_rcu_qsbr_quiescent(rcu_, o);
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
                table_->reclaim(o);
            }
            if (result != InsertResult::Inserted) failed = true;
            progress[o].published.store(n + 1, std::memory_order_release);
            if (n >= kWindow) {
                auto hit = table_->lookup(flowOf(o, n - kWindow).forward);
                if (!hit.conn || table_->ownerOf(hit.conn) != o) failed = true;
                else table_->remove(o, hit.conn);
            }
            rte_rcu_qsbr_quiescent(rcu_, o);
            table_->reclaim(o);
        }
        rte_rcu_qsbr_thread_offline(rcu_, o);
    };
    std::atomic<uint64_t> checked{0};
    auto reader = [&] {
        rte_rcu_qsbr_thread_online(rcu_, 2);
        uint32_t seed = 1;
        auto next = [&] { return seed = seed * 1103515245u + 12345u; };
        auto isWhole = [&](const Connection* conn, unsigned o, uint32_t n) {
            ConnectionInit want = flowOf(o, n);
            return conn->forward == want.forward && conn->reverse == want.reverse && conn->service == want.service &&
                   conn->backend == want.backend && conn->vip == o &&
                   conn->state.load(std::memory_order_relaxed) == static_cast<uint8_t>(FlowState::Established);
        };
        while (progress[0].published.load(std::memory_order_acquire) < kPerOwner ||
               progress[1].published.load(std::memory_order_acquire) < kPerOwner) {
            FlowKey keys[16];
            const FlowKey* pointers[16];
            unsigned owners[16];
            uint32_t numbers[16];
            bool inFlight[16];
            for (unsigned k = 0; k < 16; ++k) {
                unsigned o = next() >> 16 & 1;
                uint32_t done = progress[o].published.load(std::memory_order_acquire);
                uint32_t low = done > kWindow ? done - kWindow : 0;
                uint32_t n = done == 0 ? 0 : low + (next() >> 8) % (done - low);
                // A quarter of the keys: the flow the owner is inserting right now. It
                // may be missing, but if it is found it must be whole: an entry whose
                // key appeared before its fields were written would show here.
                inFlight[k] = k % 4 == 2;
                if (inFlight[k]) n = done;
                ConnectionInit init = flowOf(o, n);
                keys[k] = k % 2 ? init.reverse : init.forward;
                pointers[k] = &keys[k];
                owners[k] = o;
                numbers[k] = done == 0 && !inFlight[k] ? UINT32_MAX : n;
            }
            ConnectionTable::Hit hits[16];
            uint64_t found = table_->lookupBulk(pointers, 16, hits);
            for (unsigned k = 0; k < 16; ++k) {
                if (numbers[k] == UINT32_MAX) continue;
                ConnectionTable::Hit single = table_->lookup(keys[k]);
                uint32_t after = progress[owners[k]].published.load(std::memory_order_acquire);
                bool mayBeGone = inFlight[k] || after > numbers[k] + kWindow;
                for (const ConnectionTable::Hit& hit : {found >> k & 1 ? hits[k] : ConnectionTable::Hit{}, single}) {
                    if (!hit.conn) {
                        if (!mayBeGone) failed = true;
                        continue;
                    }
                    if (hit.fromBackend != (k % 2 == 1) || !isWhole(hit.conn, owners[k], numbers[k])) failed = true;
                }
            }
            rte_rcu_qsbr_quiescent(rcu_, 2);
            checked.fetch_add(1, std::memory_order_relaxed);
        }
        rte_rcu_qsbr_thread_offline(rcu_, 2);
    };
    std::thread r(reader), a(owner, 0), b(owner, 1);
    a.join();
    b.join();
    r.join();
    rte_rcu_qsbr_thread_online(rcu_, 0);
    EXPECT_FALSE(failed.load());
    EXPECT_GT(checked.load(), 100u);
    EXPECT_EQ(table_->size(), 2 * kWindow);
    EXPECT_EQ(table_->neighbourhoodFull(), 0u);
    for (unsigned o = 0; o < 2; ++o)
        for (uint32_t n = 0; n < kPerOwner; ++n) {
            bool kept = n >= kPerOwner - kWindow;
            ASSERT_EQ(table_->contains(flowOf(o, n).forward), kept) << o << " " << n;
            ASSERT_EQ(table_->contains(flowOf(o, n).reverse), kept) << o << " " << n;
        }
}

}  // namespace
}  // namespace ringgate::dataplane

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new ringgate::dataplane::test::EalEnvironment());
    return RUN_ALL_TESTS();
}
