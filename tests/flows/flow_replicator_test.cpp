// The replicator between a few in-memory nodes: where records go, how the channel repairs
// loss, reordering and duplication, resyncs, re-homing, pulls and adoption, asks, the
// budget, the token's digests, and restarts.
#include "control/flows/flow_replicator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "control/flows/flow_carriage.h"
#include "tests/flows/flow_test_net.h"

namespace ringgate::flows {
namespace {

using testing::InFlight;
using testing::TestNet;

constexpr uint32_t kVip = 0xC6130001u;  // 198.19.0.1

FlowRecord flow(uint32_t n, NodeId handler, uint32_t vip = kVip) {
    FlowRecord r;
    r.forward = {0xC6120000u + n, vip, static_cast<uint16_t>(1024 + n % 60000), 80, 6};
    r.reverse = {0x0A000002u, r.forward.src, 80, r.forward.srcPort, 6};
    r.handler = handler;
    r.state = 1;
    return r;
}

std::vector<NodeId> holders(const FlowRecord& r, std::vector<NodeId> members) {
    RendezvousPick p = rendezvousPick(r.authority(), members);
    std::vector<NodeId> out;
    for (NodeId n : {p.first, p.second})
        if (n != 0 && n != r.handler) out.push_back(n);
    return out;
}

bool holds(FlowReplicator& node, const FlowRecord& r, Role role) {
    auto h = node.find(r.forward);
    return h && (h->roles & static_cast<Roles>(role)) && h->record.handler == r.handler;
}

size_t countChanges(const std::vector<Change>& changes, size_t index) {
    return std::count_if(changes.begin(), changes.end(), [index](const Change& c) { return c.index() == index; });
}

bool isData(const InFlight& f) { return f.header.kind == DatagramKind::Data; }

const std::vector<NodeId> kThree = {1, 2, 3};

// `members` started and settled.
void startCluster(TestNet& net, const std::vector<NodeId>& members) {
    for (NodeId n : members) net.add(n);
    net.setMembers(members);
    net.run(Time(20'000));
}

// `count` flows made on node 1, delivered.
std::vector<FlowRecord> createOnOne(TestNet& net, uint32_t count) {
    std::vector<FlowRecord> flows;
    for (uint32_t i = 0; i < count; ++i) {
        flows.push_back(flow(i, 1));
        net.at(1).localCreated(net.now, flows.back());
    }
    net.run(Time(20'000));
    return flows;
}

TEST(FlowReplicator, RecordsReachExactlyTheirHoldersAndEndsRemoveThem) {
    TestNet net;
    startCluster(net, kThree);
    auto flows = createOnOne(net, 200);
    size_t installs[4] = {};
    for (const FlowRecord& r : flows) {
        auto h = holders(r, kThree);
        for (NodeId n : {2u, 3u}) {
            bool holder = std::find(h.begin(), h.end(), n) != h.end();
            EXPECT_EQ(holds(net.at(n), r, Role::Replica), holder) << "flow " << r.forward.src << " node " << n;
            installs[n] += holder;
        }
        EXPECT_TRUE(holds(net.at(1), r, Role::Local));
    }
    EXPECT_EQ(net.at(1).localCount(), 200u);
    EXPECT_EQ(net.at(2).heldForOthers(), installs[2]);
    EXPECT_EQ(countChanges(net.changes(2), 0), installs[2]);  // InstallRemote
    EXPECT_EQ(net.at(1).counters().recordsSent, installs[2] + installs[3]);

    for (const FlowRecord& r : flows) net.at(1).localEnded(net.now, r.forward);
    net.run(Time(20'000));
    for (NodeId n : kThree) EXPECT_TRUE(net.at(n).sample(0, 1000).empty()) << "node " << n;
    EXPECT_EQ(countChanges(net.changes(2), 2), installs[2]);  // RemoveRemote
}

class TwoNodes : public ::testing::Test {
protected:
    void SetUp() override {
        net.add(1);
        net.add(2);
        net.setMembers({1, 2});
        net.run(Time(20'000));
    }
    // Enough flows for `batches` full datagrams from 1 to 2.
    std::vector<FlowRecord> create(size_t batches, uint32_t base = 0) {
        size_t per = recordsPerDatagram(ReplicatorOptions{}.maxDatagram, cluster::AuthKey());
        std::vector<FlowRecord> flows;
        for (uint32_t i = 0; i < batches * per; ++i) {
            flows.push_back(flow(base + i, 1));
            net.at(1).localCreated(net.now, flows.back());
        }
        return flows;
    }
    void expectAllAt2(const std::vector<FlowRecord>& flows) {
        for (const FlowRecord& r : flows) EXPECT_TRUE(holds(net.at(2), r, Role::Replica)) << r.forward.src;
        EXPECT_EQ(net.at(2).heldForOthers(), flows.size());
    }
    TestNet net;
};

TEST_F(TwoNodes, AGapIsNackedAndResent) {
    int data = 0;
    net.drop = [&data](const InFlight& f) { return isData(f) && ++data == 2; };
    auto flows = create(4);
    net.run(Time(10'000));
    expectAllAt2(flows);
    EXPECT_GE(net.at(2).counters().nacksSent, 1u);
    EXPECT_GE(net.at(2).counters().outOfOrder, 1u);
    EXPECT_GE(net.at(1).counters().nacksReceived, 1u);
    EXPECT_GT(net.at(1).counters().recordsResent, 0u);
    EXPECT_EQ(net.at(1).counters().resyncsSent, 1u);  // only the session's first
}

TEST_F(TwoNodes, ALostLastBatchIsResentAfterTheTimeout) {
    int data = 0;
    net.drop = [&data](const InFlight& f) { return isData(f) && ++data == 1; };
    auto flows = create(1);
    net.run(Time(10'000));
    EXPECT_EQ(net.at(2).heldForOthers(), 0u);  // nothing told node 2 of the gap
    net.run(Time(ReplicatorOptions{}.resendTimeout * 2));
    expectAllAt2(flows);
    EXPECT_EQ(net.at(2).counters().nacksSent, 0u);
    EXPECT_EQ(net.at(1).counters().recordsResent, flows.size());
}

TEST_F(TwoNodes, ReorderedBatchesApplyInOrder) {
    auto flows = create(3);
    // The last batch ends the first flow: applied before the first batch it would be lost.
    net.at(1).localEnded(net.now, flows[0].forward);
    net.at(1).tick(net.now + Time(5'000));
    auto batch = net.collect();
    std::reverse(batch.begin(), batch.end());
    for (const InFlight& f : batch) net.deliver(f);
    net.run(Time(20'000));
    EXPECT_FALSE(net.at(2).find(flows[0].forward));
    flows.erase(flows.begin());
    expectAllAt2(flows);
    EXPECT_GE(net.at(2).counters().outOfOrder, 3u);
}

TEST_F(TwoNodes, DuplicatesAndReplaysAreNotApplied) {
    auto flows = create(1);
    auto batch = net.collect();
    ASSERT_EQ(batch.size(), 1u);
    net.deliver(batch[0]);
    net.deliver(batch[0]);
    EXPECT_EQ(net.at(2).counters().duplicates, 1u);
    net.run(Time(10'000));
    for (const FlowRecord& r : flows) net.at(1).localEnded(net.now, r.forward);
    net.run(Time(10'000));
    EXPECT_EQ(net.at(2).heldForOthers(), 0u);
    // A replay of the old batch must not bring the ended flows back.
    net.deliver(batch[0]);
    EXPECT_EQ(net.at(2).heldForOthers(), 0u);
    EXPECT_EQ(net.at(2).counters().duplicates, 2u);
}

TEST_F(TwoNodes, ANackOutsideTheResendQueueStartsAResync) {
    ReplicatorOptions small;
    small.resendQueueBatches = 2;
    net.add(1, 1, small);
    net.add(2);
    net.setMembers({1, 2});
    net.run(Time(20'000));
    auto early = create(1);
    net.run(Time(10'000));
    expectAllAt2(early);
    bool cut = true;
    net.drop = [&cut](const InFlight& f) { return cut && f.datagram.peer == 2; };
    auto flows = create(5, 1000);
    for (size_t i = 0; i < 10; ++i) net.at(1).localEnded(net.now, early[i].forward);
    net.run(Time(5'000));
    cut = false;
    // Anything from node 1 now shows node 2 the gap; its NACK names batches long gone.
    net.at(1).localCreated(net.now, flow(5000, 1));
    flows.push_back(flow(5000, 1));
    net.run(Time(200'000));
    EXPECT_GE(net.at(1).counters().resyncsSent, 2u);
    EXPECT_GE(net.at(2).counters().resyncsReceived, 2u);
    flows.insert(flows.end(), early.begin() + 10, early.end());
    expectAllAt2(flows);
    for (size_t i = 0; i < 10; ++i) EXPECT_FALSE(net.at(2).find(early[i].forward));
}

TEST(FlowReplicator, RehomingSendsOnlyTheRecordsWhoseHoldersChanged) {
    TestNet net;
    std::vector<NodeId> four = {1, 2, 3, 4};
    for (NodeId n : four) net.add(n);
    net.setMembers(kThree);
    net.run(Time(20'000));
    std::vector<FlowRecord> flows;
    for (uint32_t i = 0; i < 300; ++i) {
        flows.push_back(flow(i, 1));
        net.at(1).localCreated(net.now, flows.back());
    }
    net.run(Time(20'000));
    uint64_t sentBefore = net.at(1).counters().recordsSent;
    uint64_t expected = 0;
    for (const FlowRecord& r : flows) {
        auto before = holders(r, kThree), after = holders(r, four);
        for (NodeId n : after) expected += std::find(before.begin(), before.end(), n) == before.end();
    }
    ASSERT_GT(expected, 0u);
    ASSERT_LT(expected, flows.size());
    net.setMembers(four);
    net.run(Time(20'000));
    EXPECT_EQ(net.at(1).counters().rehomed, expected);
    for (const FlowRecord& r : flows) {
        auto h = holders(r, four);
        for (NodeId n : {2u, 3u, 4u})
            EXPECT_EQ(holds(net.at(n), r, Role::Replica), std::find(h.begin(), h.end(), n) != h.end());
    }
    // The newcomer's first session (a resync) carries its records too, but nothing else does.
    uint64_t toFour = 0;
    for (const FlowRecord& r : flows) toFour += !holders(r, four).empty() && holders(r, four)[0] == 4;
    for (const FlowRecord& r : flows) toFour += holders(r, four).size() > 1 && holders(r, four)[1] == 4;
    EXPECT_EQ(net.at(1).counters().recordsSent - sentBefore, expected + toFour);
}

TEST(FlowReplicator, TheNewOwnerOfADeadHandlersVipAdoptsEveryFlowWithACopy) {
    TestNet net;
    for (NodeId n : kThree) net.add(n);
    net.setMembers(kThree);
    net.at(1).setOwnedVips(net.now, {kVip});
    net.run(Time(20'000));
    std::vector<FlowRecord> flows;
    for (uint32_t i = 0; i < 150; ++i) {
        flows.push_back(flow(i, 1));
        net.at(1).localCreated(net.now, flows.back());
    }
    // Another VIP's flows are not node 2's to adopt.
    FlowRecord other = flow(999, 1, kVip + 1);
    net.at(1).localCreated(net.now, other);
    net.run(Time(20'000));
    net.remove(1);  // kill -9
    net.setMembers({2, 3});
    net.at(2).setOwnedVips(net.now, {kVip});
    net.run(Time(50'000));
    EXPECT_EQ(net.at(2).counters().adopted, flows.size());
    EXPECT_EQ(countChanges(net.changes(2), 1), flows.size());  // Adopt
    EXPECT_GE(net.at(2).counters().pullsSent, 1u);
    EXPECT_GE(net.at(3).counters().pullsAnswered, 1u);
    for (FlowRecord r : flows) {
        r.handler = 2;
        EXPECT_TRUE(holds(net.at(2), r, Role::Local));
        for (NodeId n : holders(r, {2, 3})) EXPECT_TRUE(holds(net.at(n), r, Role::Replica)) << n;
    }
    EXPECT_EQ(net.at(2).localCount(), flows.size());
    auto o = net.at(2).find(other.forward);
    EXPECT_TRUE(!o || o->record.handler == 1);
}

// The fast path holds a taken-over VIP's unknown packets until VipSettled: it must come
// after the last adoption, only once every live peer has answered (or left).
TEST(FlowReplicator, AVipSettlesOnlyWhenEveryLivePeerHasAnsweredItsPull) {
    TestNet net;
    for (NodeId n : {1u, 2u, 3u, 4u}) net.add(n);
    net.setMembers({1, 2, 3, 4});
    net.at(1).setOwnedVips(net.now, {kVip});
    net.run(Time(20'000));
    for (uint32_t i = 0; i < 300; ++i) net.at(1).localCreated(net.now, flow(i, 1));
    net.run(Time(20'000));
    (void)net.changes(2);
    net.changes(2).clear();
    net.remove(1);
    net.setMembers({2, 3, 4});
    bool silence4 = true;  // node 4's answer is lost until it leaves
    net.drop = [&silence4](const InFlight& f) { return silence4 && f.from == 4; };
    net.at(2).setOwnedVips(net.now, {kVip});
    net.run(Time(50'000));
    auto settled = [&net] { return countChanges(net.changes(2), 3); };  // VipSettled
    EXPECT_EQ(settled(), 0u) << "settled while node 4 had not answered";
    EXPECT_EQ(net.at(2).counters().pullsCompleted, 0u);
    net.remove(4);
    net.setMembers({2, 3});  // (which pulls once more: node 4's flows need an adopter too)
    net.run(Time(20'000));
    ASSERT_GE(settled(), 1u);
    EXPECT_GE(net.at(2).counters().pullsCompleted, 1u);
    // Every adoption came before the VIP settled.
    const auto& changes = net.changes(2);
    auto at = std::find_if(changes.begin(), changes.end(), [](const Change& c) { return c.index() == 3; });
    EXPECT_EQ(std::count_if(at, changes.end(), [](const Change& c) { return c.index() == 1; }), 0);
    EXPECT_GT(net.at(2).counters().adopted, 0u);  // node 3's copies (node 4's went with it)
}

// Alone, a node has nobody to ask: the VIP settles at once.
TEST(FlowReplicator, AVipTakenOverAloneSettlesAtOnce) {
    TestNet net;
    net.add(1);
    net.setMembers({1});
    net.at(1).setOwnedVips(net.now, {kVip});
    EXPECT_EQ(countChanges(net.changes(1), 3), 1u);
}

TEST(FlowReplicator, AVipMovedLiveForwardsItsFlowsToTheirHandler) {
    TestNet net;
    startCluster(net, kThree);
    auto flows = createOnOne(net, 80);
    net.at(1).setOwnedVips(net.now, {});
    net.at(3).setOwnedVips(net.now, {kVip});
    net.run(Time(20'000));
    for (const FlowRecord& r : flows) EXPECT_TRUE(holds(net.at(3), r, Role::Forwarding));
    EXPECT_EQ(net.at(3).counters().adopted, 0u);
    // The fast path idle-expires a forwarding entry; a replica stays.
    for (const FlowRecord& r : flows) net.at(3).remoteExpired(net.now, r.forward);
    for (const FlowRecord& r : flows) {
        auto h = holders(r, kThree);
        bool replica = std::find(h.begin(), h.end(), 3u) != h.end();
        auto held = net.at(3).find(r.forward);
        EXPECT_EQ(held.has_value(), replica);
        if (held) {
            EXPECT_EQ(held->roles, static_cast<Roles>(Role::Replica));
        }
    }
}

TEST(FlowReplicator, AnAskIsAnsweredByTheAuthorityAndCached) {
    TestNet net;
    startCluster(net, kThree);
    // A flow whose authority is node 2, asked about by node 3 (neither holds it as handler).
    FlowRecord r;
    for (uint32_t i = 0;; ++i) {
        r = flow(i, 1);
        RendezvousPick pick = rendezvousPick(r.authority(), kThree);
        if (pick.first == 2 && pick.second == 1) break;
    }
    net.at(1).localCreated(net.now, r);
    net.run(Time(20'000));
    ASSERT_TRUE(holds(net.at(2), r, Role::Replica));
    net.at(3).ask(net.now, r.reverse);
    net.at(3).ask(net.now, r.reverse);  // in flight: not asked twice
    net.deliverAll();
    EXPECT_EQ(net.at(3).counters().asksSent, 1u);
    EXPECT_EQ(net.at(2).counters().asksAnswered, 1u);
    EXPECT_TRUE(holds(net.at(3), r, Role::Cache));
    // An answer nobody asked for plants nothing.
    FlowRecord forged = flow(77777, 1);
    auto bytes = encodeDatagram(DatagramHeader{DatagramKind::Answer, 2, 3, 1, 1, 0, 0, 0, 0},
                                std::vector<WireRecord>{{RecordOp::Upsert, forged}}, cluster::AuthKey());
    net.at(3).receive(net.now, 2, bytes);
    EXPECT_FALSE(net.at(3).find(forged.forward));
}

TEST(FlowReplicator, RecordsOverTheBudgetAreCountedNotKept) {
    TestNet net;
    net.add(1);
    ReplicatorOptions tight;
    tight.budgetRecords = 10;
    net.add(2, 1, tight);
    net.setMembers({1, 2});
    for (uint32_t i = 0; i < 30; ++i) net.at(1).localCreated(net.now, flow(i, 1));
    net.run(Time(20'000));
    EXPECT_EQ(net.at(2).heldForOthers(), 10u);
    EXPECT_EQ(net.at(2).counters().budgetDrops, 20u);
    EXPECT_EQ(net.at(1).localCount(), 30u);  // the handler's own flows never count
}

// The token ring in ring order, `visits` times round.
void rotate(TestNet& net, const std::vector<NodeId>& ring, std::vector<uint8_t>& carriage, int rounds) {
    for (int i = 0; i < rounds; ++i)
        for (NodeId n : ring) {
            net.at(n).onTokenHeld(net.now, carriage);
            net.run(Time(10'000));
        }
}

TEST(FlowReplicator, DigestsThatDisagreeAcrossTwoVisitsStartAResync) {
    TestNet net;
    net.add(1);
    net.add(2);
    net.setMembers({1, 2});
    std::vector<FlowRecord> flows;
    for (uint32_t i = 0; i < 20; ++i) {
        flows.push_back(flow(i, 1));
        net.at(1).localCreated(net.now, flows.back());
    }
    net.run(Time(20'000));
    std::vector<uint8_t> carriage;
    rotate(net, {1, 2}, carriage, 3);
    EXPECT_EQ(net.at(1).counters().resyncsSent, 1u);  // agreement: only the first session
    // Node 1 alone for a while (a partition as it sees it): it ends a flow and tells no one.
    net.at(1).setMembers(net.now, {1});
    net.at(1).localEnded(net.now, flows[0].forward);
    net.at(1).setMembers(net.now, {1, 2});
    net.run(Time(20'000));
    ASSERT_TRUE(net.at(2).find(flows[0].forward));  // the stale copy
    rotate(net, {1, 2}, carriage, 1);
    EXPECT_EQ(net.at(1).counters().resyncsSent, 1u);  // one disagreement is not enough
    rotate(net, {1, 2}, carriage, 2);
    EXPECT_EQ(net.at(1).counters().resyncsSent, 2u);
    EXPECT_FALSE(net.at(2).find(flows[0].forward));
    EXPECT_EQ(net.at(2).heldForOthers(), 19u);
    rotate(net, {1, 2}, carriage, 3);
    EXPECT_EQ(net.at(1).counters().resyncsSent, 2u);  // converged: no more
}

TEST(FlowReplicator, BadCarriageBytesAreReplaced) {
    TestNet net;
    net.add(1);
    net.add(2);
    net.setMembers({1, 2});
    std::vector<uint8_t> carriage = {0xde, 0xad, 0xbe, 0xef};
    net.at(1).onTokenHeld(net.now, carriage);
    auto decoded = decodeCarriage(carriage);
    ASSERT_TRUE(decoded);
    ASSERT_EQ(decoded->nodes.size(), 1u);
    EXPECT_EQ(decoded->nodes[0].node, 1u);
}

TEST_F(TwoNodes, ARestartedHolderIsResynced) {
    auto flows = create(2);
    net.run(Time(20'000));
    expectAllAt2(flows);
    net.add(2, 2);  // kill -9 and restart: empty, a new incarnation
    net.setMembers({1, 2});
    net.run(Time(100'000));
    expectAllAt2(flows);
    EXPECT_GE(net.at(1).counters().resyncsSent, 2u);
}

TEST_F(TwoNodes, AHolderRestartedUnnoticedTellsTheHandlerOnItsNextBatch) {
    auto flows = create(1);
    net.run(Time(20'000));
    net.add(2, 2);  // restarted, but has not spoken yet
    net.drop = [](const InFlight& f) { return f.from == 2 && f.header.kind == DatagramKind::ResyncBegin; };
    auto more = create(1, 5000);
    net.run(Time(100'000));
    EXPECT_GE(net.at(2).counters().staleIncarnation, 1u);
    flows.insert(flows.end(), more.begin(), more.end());
    expectAllAt2(flows);
}

TEST_F(TwoNodes, ARestartedHandlerRetractsItsEarlierLifesRecords) {
    auto flows = create(1);
    net.run(Time(20'000));
    expectAllAt2(flows);
    net.add(1, 2);
    net.setMembers({1, 2});
    net.run(Time(100'000));
    EXPECT_EQ(net.at(2).heldForOthers(), 0u);
    EXPECT_EQ(countChanges(net.changes(2), 2), flows.size());  // RemoveRemote
}

TEST(FlowReplicator, HostileDatagramsAreCountedAndChangeNothing) {
    TestNet net;
    ReplicatorOptions keyed;
    keyed.sharedKey = "k";
    net.add(1, 5, keyed);
    net.add(2, 1, keyed);
    net.setMembers({1, 2});
    net.run(Time(20'000));
    cluster::AuthKey key("k");
    std::vector<WireRecord> one = {{RecordOp::Upsert, flow(1, 1)}};
    DatagramHeader h{DatagramKind::Data, 1, 2, 5, 1, 100, 0, 0, 0};
    auto& c = net.at(2).counters();
    net.at(2).receive(net.now, 1, encodeDatagram(h, one, cluster::AuthKey("other")));
    EXPECT_EQ(c.unauthenticated, 1u);
    net.at(2).receive(net.now, 3, encodeDatagram(h, one, key));  // from 3, says 1
    EXPECT_EQ(c.spoofed, 1u);
    DatagramHeader elsewhere = h;
    elsewhere.receiver = 9;
    net.at(2).receive(net.now, 1, encodeDatagram(elsewhere, one, key));
    EXPECT_EQ(c.notForUs, 1u);
    DatagramHeader old = h;
    old.senderIncarnation = 4;
    net.at(2).receive(net.now, 1, encodeDatagram(old, one, key));
    EXPECT_EQ(c.staleIncarnation, 1u);
    auto future = encodeDatagram(h, one, key);
    future[2] = 2;
    net.at(2).receive(net.now, 1, future);
    EXPECT_EQ(c.badVersion, 1u);
    net.at(2).receive(net.now, 1, std::vector<uint8_t>(10, 0));
    EXPECT_EQ(c.malformed, 1u);
    // A record that claims another handler than its sender is not taken.
    std::vector<WireRecord> foreign = {{RecordOp::Upsert, flow(2, 3)}};
    DatagramHeader next = h;
    next.seq = 3;  // after the first session's ResyncBegin (1) and ResyncEnd (2)
    net.at(2).receive(net.now, 1, encodeDatagram(next, foreign, key));
    EXPECT_FALSE(net.at(2).find(flow(2, 3).forward));
    EXPECT_EQ(net.at(2).heldForOthers(), 0u);
    EXPECT_EQ(c.foreignRecords, 1u);
    EXPECT_EQ(c.datagramsReceived - c.datagramsAccepted,
              c.malformed + c.badVersion + c.unauthenticated + c.notForUs + c.staleIncarnation + c.spoofed);
}

}  // namespace
}  // namespace ringgate::flows
