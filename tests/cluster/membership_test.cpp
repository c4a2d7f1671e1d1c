// The membership core on a small lossless in-memory network: the hooks other components
// use (carriages changed by the token holder travel the ring; membership changes are
// announced), sequence numbers that wrap around, and the counters of the basic failures.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <queue>
#include <set>

#include "common/log.h"
#include "control/cluster/cluster_node.h"

namespace ringgate::cluster {
namespace {

using namespace std::chrono_literals;

// Delivers every datagram 200 us after it was sent, in order; nodes can be killed.
class Net {
public:
    explicit Net(int n, std::optional<uint32_t> firstSequence = std::nullopt,
                 std::map<NodeId, std::string> clusterNames = {}) {
        log::setAllLevels(log::Level::Error);
        for (int i = 1; i <= n; ++i) map_.push_back(static_cast<NodeId>(i));
        for (NodeId id : map_) {
            ClusterNode::Options o;
            o.self = id;
            o.nodeMap = map_;
            o.epoch = id;
            o.randomSeed = id * 7919;
            o.firstSequence = firstSequence;
            if (auto name = clusterNames.find(id); name != clusterNames.end()) o.clusterName = name->second;
            nodes_[id] = std::make_unique<ClusterNode>(o);
        }
        for (auto& [id, node] : nodes_) {
            node->start(now_);
            collect(id);
        }
    }

    ClusterNode& node(NodeId id) { return *nodes_.at(id); }
    void kill(NodeId id) { nodes_.erase(id); }
    // Datagrams from `from` to `to` are lost from now on (one direction only).
    void block(NodeId from, NodeId to) { blocked_.insert({from, to}); }
    Time now() const { return now_; }

    void runFor(Time duration) {
        Time end = now_ + duration;
        while (true) {
            Time next = end;
            if (!wire_.empty()) next = std::min(next, wire_.front().at);
            for (auto& [id, node] : nodes_)
                if (auto d = node->nextDeadline()) next = std::min(next, std::max(*d, now_));
            if (next >= end) break;
            now_ = next;
            while (!wire_.empty() && wire_.front().at <= now_) {
                auto d = std::move(wire_.front());
                wire_.pop_front();
                if (auto it = nodes_.find(d.to); it != nodes_.end()) {
                    it->second->onDatagram(now_, 0, d.bytes);
                    collect(d.to);
                }
            }
            for (auto& [id, node] : nodes_)
                if (auto d = node->nextDeadline(); d && *d <= now_) {
                    node->onTimer(now_);
                    collect(id);
                }
        }
        now_ = end;
    }

private:
    struct Wire {
        Time at;
        NodeId to;
        std::vector<uint8_t> bytes;
    };
    void collect(NodeId from) {
        for (auto& d : nodes_.at(from)->takeOutgoing())
            if (!blocked_.count({from, d.peer})) wire_.push_back(Wire{now_ + 200us, d.peer, std::move(d.bytes)});
    }
    std::vector<NodeId> map_;
    std::map<NodeId, std::unique_ptr<ClusterNode>> nodes_;
    std::deque<Wire> wire_;
    std::set<std::pair<NodeId, NodeId>> blocked_;
    Time now_{0};
};

// A rider of the train: counts its visits in a carriage, as the VIP manager will keep its table.
class Counter : public MembershipHooks {
public:
    void onTokenHeld(Time, Carriages& carriages, const std::vector<NodeId>&) override {
        uint32_t value = 0;
        if (auto* bytes = carriages.find(carriage::kTestPayload); bytes && bytes->size() == 4)
            value = (uint32_t{(*bytes)[0]} << 24) | (uint32_t{(*bytes)[1]} << 16) | (uint32_t{(*bytes)[2]} << 8) | (*bytes)[3];
        seen.push_back(value);
        ++value;
        carriages.set(carriage::kTestPayload, {static_cast<uint8_t>(value >> 24), static_cast<uint8_t>(value >> 16),
                                               static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)});
    }
    void onMembershipChanged(Time, const std::vector<NodeId>& members) override { changes.push_back(members); }
    std::vector<uint32_t> seen;
    std::vector<std::vector<NodeId>> changes;
};

TEST(Membership, RidersChangeCarriagesWhileHoldingTheToken) {
    Net net(3);
    Counter riders[3];
    for (NodeId id = 1; id <= 3; ++id) net.node(id).membership().setHooks(&riders[id - 1]);
    net.runFor(3s);
    // Every visit saw the value the previous holder wrote: one consistent counter shared
    // by the ring, advancing by exactly one per hop.
    std::vector<uint32_t> all;
    for (auto& r : riders) {
        ASSERT_GT(r.seen.size(), 10u);
        for (size_t i = 1; i < r.seen.size(); ++i) EXPECT_EQ(r.seen[i] - r.seen[i - 1], 3u);
        all.insert(all.end(), r.seen.begin(), r.seen.end());
    }
    std::sort(all.begin(), all.end());
    for (size_t i = 1; i < all.size(); ++i) EXPECT_EQ(all[i], all[i - 1] + 1);
}

TEST(Membership, RotationTakesTheConfiguredInterval) {
    Net net(4);
    net.runFor(3s);
    auto status = net.node(2).membership().status();
    ASSERT_TRUE(status.lastRotation);
    EXPECT_NEAR(static_cast<double>(status.lastRotation->count()), 100'000.0, 5'000.0);
}

TEST(Membership, KilledNodeIsDroppedAndRidersAreTold) {
    Net net(4);
    Counter rider;
    net.node(1).membership().setHooks(&rider);
    net.runFor(2s);
    EXPECT_EQ(net.node(1).membership().members(), (std::vector<NodeId>{1, 2, 3, 4}));
    net.kill(3);
    net.runFor(1s);
    for (NodeId id : {1u, 2u, 4u}) EXPECT_EQ(net.node(id).membership().members(), (std::vector<NodeId>{1, 2, 4}));
    ASSERT_FALSE(rider.changes.empty());
    EXPECT_EQ(rider.changes.back(), (std::vector<NodeId>{1, 2, 4}));
    uint64_t dropped = 0;
    for (NodeId id : {1u, 2u, 4u}) dropped += net.node(id).membership().counters().membersDropped;
    EXPECT_GE(dropped, 1u);
}

TEST(Membership, SequenceNumbersWrapAroundWithoutLosingTheToken) {
    Net net(3, 0xffffff00u);  // 256 hops before the wrap: about 9 s at 30 hops/s
    net.runFor(40s);
    auto stamp = net.node(1).membership().lastStamp();
    ASSERT_TRUE(stamp);
    EXPECT_LT(stamp->seq, 0x10000u) << "the sequence has wrapped past zero";
    for (NodeId id = 1; id <= 3; ++id) {
        EXPECT_EQ(net.node(id).membership().members(), (std::vector<NodeId>{1, 2, 3}));
        EXPECT_EQ(net.node(id).membership().counters().staleTokens, 0u);
        EXPECT_EQ(net.node(id).membership().counters().emergenciesSent, 0u);
    }
}

TEST(Membership, CleanLeavePassesTheTokenAtOnce) {
    Net net(4);
    net.runFor(2s);
    net.node(2).leave(net.now());
    net.runFor(150ms);  // at most one rotation for the token to reach node 2
    EXPECT_TRUE(net.node(2).left());
    for (NodeId id : {1u, 3u, 4u}) {
        EXPECT_EQ(net.node(id).membership().members(), (std::vector<NodeId>{1, 3, 4}));
        EXPECT_EQ(net.node(id).membership().counters().membersDropped, 0u) << "no timeout involved";
    }
}

// A node given another cluster's file (cluster.name differs) is never admitted, however
// it asks (join, 911, probe answers), and each side counts what it refused.
TEST(Membership, NodeOfAnotherClusterIsRefusedOnBothSides) {
    Net net(3, std::nullopt, {{1, "prod"}, {2, "prod"}, {3, "staging"}});
    net.runFor(3s);
    EXPECT_EQ(net.node(1).membership().members(), (std::vector<NodeId>{1, 2}));
    EXPECT_EQ(net.node(2).membership().members(), (std::vector<NodeId>{1, 2}));
    EXPECT_EQ(net.node(3).membership().members(), (std::vector<NodeId>{3}));
    EXPECT_GT(net.node(1).membership().counters().foreignCluster + net.node(2).membership().counters().foreignCluster, 0u);
    EXPECT_GT(net.node(3).membership().counters().foreignCluster, 0u);
}

TEST(Membership, NodesOfOneClusterNameFormOneRing) {
    Net net(3, std::nullopt, {{1, "prod"}, {2, "prod"}, {3, "prod"}});
    net.runFor(2s);
    for (NodeId id = 1; id <= 3; ++id) {
        EXPECT_EQ(net.node(id).membership().members(), (std::vector<NodeId>{1, 2, 3}));
        EXPECT_EQ(net.node(id).membership().counters().foreignCluster, 0u);
    }
}

// A node removed from the node map, stopped after every survivor runs the new map:
// nobody hands it the token any more, so the hand-off cannot drop it. Without the
// survivors knowing their map is the newest it stays a member for good (a ghost); with it
// (setMapCurrent, from the configuration's version on the token) it is dropped at once.
TEST(Membership, NodeRemovedFromTheMapLeavesNoGhost) {
    for (bool current : {false, true}) {
        Net net(3);
        net.runFor(1s);
        ASSERT_EQ(net.node(1).membership().members(), (std::vector<NodeId>{1, 2, 3}));
        // Nodes 1 and 2 restarted with the new map (rolling change); node 3, still on the
        // old one, is stopped last.
        for (NodeId id : {1u, 2u}) {
            net.node(id).membership().setNodeMap({1, 2});
            net.node(id).membership().setMapCurrent(current);
        }
        net.runFor(1s);
        net.kill(3);
        net.runFor(2s);
        auto expected = current ? std::vector<NodeId>{1, 2} : std::vector<NodeId>{1, 2, 3};
        EXPECT_EQ(net.node(1).membership().members(), expected) << "map current " << current;
        EXPECT_EQ(net.node(2).membership().members(), expected) << "map current " << current;
        if (current) {
            EXPECT_GT(net.node(1).membership().counters().ghostsDropped + net.node(2).membership().counters().ghostsDropped,
                      0u);
        }
    }
}

// While older maps still run (a node being added), a member outside this node's map stays.
TEST(Membership, MemberUnknownHereStaysWhileTheMapIsNotCurrent) {
    Net net(3);
    net.node(1).membership().setNodeMap({1, 2});  // node 1 runs the old map, nodes 2 and 3 the new
    net.runFor(3s);
    EXPECT_EQ(net.node(2).membership().members(), (std::vector<NodeId>{1, 2, 3}));
    EXPECT_EQ(net.node(1).membership().counters().ghostsDropped, 0u);
}

}  // namespace
}  // namespace ringgate::cluster

namespace ringgate::cluster {
namespace {

// Records the lease as the riders see it, and what the node holding the token would tell
// the new owner of a dropped node's VIPs.
class LeaseWatcher : public MembershipHooks {
public:
    explicit LeaseWatcher(const Membership& m) : membership(m) {}
    void onTokenHeld(Time now, Carriages&, const std::vector<NodeId>& members) override {
        for (NodeId n : last)
            if (std::find(members.begin(), members.end(), n) == members.end())
                fences.push_back({n, now, membership.fenceFor(n, now)});
        last = members;
    }
    void onMembershipChanged(Time, const std::vector<NodeId>&) override {}
    void onLease(Time now, bool valid) override { changes.push_back({now, valid}); }
    struct Fence {
        NodeId owner;
        Time at;
        Time wait;
    };
    const Membership& membership;
    std::vector<NodeId> last;
    std::vector<std::pair<Time, bool>> changes;
    std::vector<Fence> fences;
};

// A watcher on each of nodes 1..n.
std::vector<std::unique_ptr<LeaseWatcher>> watch(Net& net, NodeId n) {
    std::vector<std::unique_ptr<LeaseWatcher>> watchers;
    for (NodeId id = 1; id <= n; ++id) {
        watchers.push_back(std::make_unique<LeaseWatcher>(net.node(id).membership()));
        net.node(id).membership().setHooks(watchers.back().get());
    }
    return watchers;
}

TEST(MembershipLease, EveryMemberOfAQuietRingHoldsItsLease) {
    Net net(4);
    auto watchers = watch(net, 4);
    net.runFor(3s);
    for (NodeId id = 1; id <= 4; ++id) {
        const auto& w = *watchers[id - 1];
        ASSERT_EQ(w.changes.size(), 1u) << "node " << id << ": gained once, never lost";
        EXPECT_TRUE(w.changes[0].second);
        EXPECT_LT(w.changes[0].first, 1s);
        EXPECT_TRUE(net.node(id).membership().leaseValid(net.now()));
        EXPECT_EQ(net.node(id).membership().counters().leaseLapses, 0u);
        EXPECT_GT(net.node(id).membership().counters().leaseGrants, 100u);
    }
}

// A node that stops hearing the ring (everything to it is lost) stops answering no later
// than the moment the node that drops it lets anyone else claim its VIPs.
TEST(MembershipLease, ACutOffNodeLosesItsLeaseBeforeItsVipsMayBeClaimed) {
    Net net(4);
    auto watchers = watch(net, 4);
    net.runFor(2s);
    for (NodeId id : {1u, 2u, 4u}) net.block(id, 3);
    Time cut = net.now();
    net.runFor(2s);
    const auto& three = *watchers[2];
    ASSERT_GE(three.changes.size(), 2u);
    auto lost = std::find_if(three.changes.begin(), three.changes.end(),
                             [&](const auto& c) { return c.first >= cut && !c.second; });
    ASSERT_NE(lost, three.changes.end()) << "node 3 kept its lease";
    // The first node to see 3 gone computes the fence: the claim waits until then.
    std::optional<Time> claimable;
    for (const auto& w : watchers)
        for (const auto& f : w->fences)
            if (f.owner == 3 && (!claimable || f.at + f.wait < *claimable)) claimable = f.at + f.wait;
    ASSERT_TRUE(claimable) << "nobody dropped node 3";
    EXPECT_LE(lost->first, *claimable);
    EXPECT_LE(*claimable - cut, 1s);
    EXPECT_FALSE(net.node(3).membership().leaseValid(net.now())) << "alone, but a minority: no lease";
    EXPECT_FALSE(net.node(3).membership().status().primary);
}

// A killed node's VIPs are not claimed later for the lease: its predecessor stopped
// granting it when the hand-off began, so the fence is spent by the time it is dropped.
TEST(MembershipLease, FailoverAfterAKillWaitsForNoFence) {
    Net net(4);
    auto watchers = watch(net, 4);
    net.runFor(2s);
    net.kill(3);
    net.runFor(1s);
    std::optional<LeaseWatcher::Fence> first;
    for (NodeId id : {1u, 2u, 4u})
        for (const auto& f : watchers[id - 1]->fences)
            if (f.owner == 3 && (!first || f.at < first->at)) first = f;
    ASSERT_TRUE(first) << "nobody dropped node 3";
    EXPECT_EQ(first->wait, Time{0}) << "the first holder after the drop is the dropper";
}

}  // namespace
}  // namespace ringgate::cluster
