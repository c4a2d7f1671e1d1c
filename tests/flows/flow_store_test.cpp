// The replicator's store against a reference map: inserts, erases and updates in random
// order, enough to grow the indexes and fill them with tombstones.
#include "control/flows/flow_store.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace ringgate::flows {
namespace {

FlowRecord recordFor(uint32_t n, uint32_t salt = 0) {
    FlowRecord r;
    r.forward = {n, 0xC6130001u, static_cast<uint16_t>(n), 80, 6};
    r.reverse = {0x0A000002u, n, 80, static_cast<uint16_t>(n ^ salt), 6};
    r.handler = 1 + n % 5;
    return r;
}

TEST(FlowStore, AgreesWithAReferenceMap) {
    FlowStore store;
    std::map<uint32_t, FlowRecord> reference;
    std::mt19937 rng(7);
    for (int step = 0; step < 200000; ++step) {
        uint32_t n = rng() % 5000;
        FlowRecord r = recordFor(n);
        uint32_t slot = store.find(r.forward);
        ASSERT_EQ(slot != FlowStore::kNone, reference.count(n) == 1) << "step " << step;
        switch (rng() % 3) {
            case 0:
                if (slot == FlowStore::kNone) {
                    store.insert(r, 2);
                    reference[n] = r;
                }
                break;
            case 1:
                if (slot != FlowStore::kNone) {
                    store.erase(slot);
                    reference.erase(n);
                }
                break;
            default:
                if (slot != FlowStore::kNone) {
                    FlowRecord changed = recordFor(n, step & 0xff);  // a new reply tuple
                    store.update(slot, changed);
                    reference[n] = changed;
                }
        }
    }
    EXPECT_EQ(store.size(), reference.size());
    for (const auto& [n, r] : reference) {
        uint32_t slot = store.find(r.forward);
        ASSERT_NE(slot, FlowStore::kNone);
        EXPECT_EQ(store.at(slot).record, r);
        EXPECT_EQ(store.findReverse(r.reverse), slot);
    }
    size_t live = 0;
    for (uint32_t s = 0; s < store.slotCount(); ++s) live += store.at(s).roles != 0;
    EXPECT_EQ(live, reference.size());
}

TEST(FlowStore, ReverseIndexKeepsTheFirstOfTwoFlowsWithOneReplyTuple) {
    FlowStore store;
    FlowRecord a = recordFor(1), b = recordFor(2);
    b.reverse = a.reverse;  // a peer's error
    uint32_t sa = store.insert(a, 2);
    uint32_t sb = store.insert(b, 2);
    EXPECT_EQ(store.findReverse(a.reverse), sa);
    store.erase(sb);
    EXPECT_EQ(store.findReverse(a.reverse), sa);
    store.erase(sa);
    EXPECT_EQ(store.findReverse(a.reverse), FlowStore::kNone);
    EXPECT_EQ(store.size(), 0u);
}

// Only records kept for other handlers answer asks by their reply tuple; a node's own
// flows stay out of the reverse index, whatever roles a record passes through.
TEST(FlowStore, OnlyRecordsKeptForOthersAreFoundByTheirReplyTuple) {
    FlowStore store;
    FlowRecord a = recordFor(1);
    uint32_t slot = store.insert(a, static_cast<Roles>(Role::Local));
    EXPECT_EQ(store.find(a.forward), slot);
    EXPECT_EQ(store.findReverse(a.reverse), FlowStore::kNone);
    store.setRoles(slot, static_cast<Roles>(Role::Replica) | static_cast<Roles>(Role::Forwarding));
    EXPECT_EQ(store.findReverse(a.reverse), slot);
    FlowRecord moved = a;
    moved.reverse.dstPort ^= 1;  // another NAT port
    store.update(slot, moved);
    EXPECT_EQ(store.findReverse(a.reverse), FlowStore::kNone);
    EXPECT_EQ(store.findReverse(moved.reverse), slot);
    store.setRoles(slot, static_cast<Roles>(Role::Local));  // adopted
    EXPECT_EQ(store.findReverse(moved.reverse), FlowStore::kNone);
    store.update(slot, a);
    EXPECT_EQ(store.findReverse(a.reverse), FlowStore::kNone);
    store.erase(slot);
    EXPECT_EQ(store.find(a.forward), FlowStore::kNone);
}

}  // namespace
}  // namespace ringgate::flows
