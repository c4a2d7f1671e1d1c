// The connection table on a real rte_hash and rte_rcu_qsbr (EAL without hugepages).
#include "dataplane/conn_table.h"

#include <gtest/gtest.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "tests/dataplane/eal_environment.h"

namespace ringgate::dataplane {
namespace {

class ConnTable : public ::testing::Test {
protected:
    void SetUp() override {
        size_t size = rte_rcu_qsbr_get_memsize(1);
        rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("rcu", size, 64));
        ASSERT_NE(rcu_, nullptr);
        rte_rcu_qsbr_init(rcu_, 1);
        rte_rcu_qsbr_thread_register(rcu_, 0);
        rte_rcu_qsbr_thread_online(rcu_, 0);
        static int serial = 0;
        ConnectionTableConfig config{"ct" + std::to_string(serial++), 64, 1};
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

}  // namespace
}  // namespace ringgate::dataplane

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new ringgate::dataplane::test::EalEnvironment());
    return RUN_ALL_TESTS();
}
