// Golden tests of VIP placement (seed 004 Table 1) on a small ring driver: input state,
// token visits, expected assignment. The randomised test at the end checks the safety
// invariant (never two nodes answering one VIP) and liveness (every open VIP answered
// by exactly one live node once faults stop) over many seeds.
#include "control/vip/vip_manager.h"

#include <gtest/gtest.h>

#include <random>

namespace ringgate::vip {
namespace {

Ipv4Address ip(const char* text) { return *Ipv4Address::parse(text); }

// N VipManagers passing one token (table + loads) around the live nodes in ring order.
class Ring {
public:
    Ring(std::vector<NodeId> nodeMap, VipTable table, LoadBalancing lb = {})
        : nodeMap_(nodeMap), table_(std::move(table)) {
        lb.cooldown = std::chrono::seconds(0);
        for (NodeId n : nodeMap) {
            managers_.emplace(n, VipManager(n, nodeMap, lb));
            live_.insert(n);
        }
    }

    std::vector<NodeId> members() const {
        std::vector<NodeId> m;
        for (NodeId n : nodeMap_)
            if (live_.count(n)) m.push_back(n);
        return m;
    }

    std::vector<Effect> visit(NodeId node, bool grew = false) {
        now_ += std::chrono::milliseconds(100);
        auto effects = managers_.at(node).onToken(now_, members(), grew, loadOf_[node], table_, loads_, fence);
        checkNoDoubleAnswer();
        return effects;
    }

    void rotate(int times = 1) {
        for (int i = 0; i < times; ++i)
            for (NodeId n : members()) visit(n);
    }

    void kill(NodeId node) {
        live_.erase(node);
        // A dead node answers nothing (its process is gone).
        managers_.at(node) = VipManager(node, nodeMap_, LoadBalancing{});
    }
    void revive(NodeId node) { live_.insert(node); }

    NodeId ownerOf(const char* vip) const {
        NodeId owner = kNoNode;
        for (const auto& [n, m] : managers_)
            if (live_.count(n) && m.answering().count(ip(vip))) {
                EXPECT_EQ(owner, kNoNode) << vip << " answered by two nodes";
                owner = n;
            }
        return owner;
    }

    size_t count(NodeId node) const { return managers_.at(node).answering().size(); }

    void checkNoDoubleAnswer() const {
        std::map<Ipv4Address, NodeId> seen;
        for (const auto& [n, m] : managers_) {
            if (!live_.count(n)) continue;
            for (Ipv4Address vip : m.answering()) {
                auto [it, fresh] = seen.emplace(vip, n);
                ASSERT_TRUE(fresh) << vip.toString() << " answered by " << it->second << " and " << n;
            }
        }
    }

    VipManager& manager(NodeId n) { return managers_.at(n); }
    FenceOf fence;  // what visits are told of dropped owners' leases (none: no wait)
    VipTable& table() { return table_; }
    void setLoad(NodeId n, const char* vip, uint64_t rate) { loadOf_[n].vipRates[ip(vip)] = rate; }
    void clearLoad(NodeId n) { loadOf_[n].vipRates.clear(); }
    void setCpu(NodeId n, uint32_t permille) { loadOf_[n].cpuPermille = permille; }
    // What node n's local monitors say (VipService turns failed subnets into their VIPs).
    void withdraw(NodeId n, const char* vip) { loadOf_[n].withdrawn.insert(ip(vip)); }
    void restore(NodeId n) { loadOf_[n].withdrawn.clear(); }
    bool isWithdrawn(NodeId n, Ipv4Address vip) { return loadOf_[n].withdrawn.count(vip) > 0; }

private:
    std::vector<NodeId> nodeMap_;
    VipTable table_;
    LoadTable loads_;
    std::map<NodeId, NodeLoad> loadOf_;
    std::map<NodeId, VipManager> managers_;
    std::set<NodeId> live_;
    Clock::time_point now_{};
};

VipTable demoTable() {
    VipTable t;
    t.version = 1;
    t.entries = {
        {ip("198.18.0.100"), kNoNode, 1, Persistence::StickyPreferred, kNoNode, false},
        {ip("198.18.0.101"), kNoNode, 2, Persistence::StickyCurrent, kNoNode, false},
        {ip("198.18.0.102"), kNoNode, kNoNode, Persistence::Movable, kNoNode, false},
    };
    return t;
}

TEST(VipManager, ColdStartPlacesByPreferenceThenSpreads) {
    Ring ring({1, 2, 3}, demoTable());
    ring.rotate(2);
    EXPECT_EQ(ring.ownerOf("198.18.0.100"), 1u);
    EXPECT_EQ(ring.ownerOf("198.18.0.101"), 2u);
    EXPECT_EQ(ring.ownerOf("198.18.0.102"), 3u);
}

TEST(VipManager, ColdStartClaimsProbeFirstFailoverDoesNot) {
    Ring ring({1, 2}, demoTable());
    auto first = ring.visit(1);
    ASSERT_FALSE(first.empty());
    for (const Effect& e : first) {
        EXPECT_EQ(e.kind, EffectKind::Claim);
        EXPECT_TRUE(e.probeFirst) << e.vip.toString();
    }
    ring.rotate(2);
    ring.kill(2);
    auto failover = ring.visit(1);
    ASSERT_FALSE(failover.empty());
    for (const Effect& e : failover) {
        EXPECT_FALSE(e.probeFirst) << e.vip.toString();
        EXPECT_EQ(e.handOverFrom, kNoNode) << "a dead owner's flows cannot be handed over";
    }
}

TEST(VipManager, AloneNodeClaimsEverything) {
    Ring ring({1, 2, 3}, demoTable());
    ring.kill(2);
    ring.kill(3);
    ring.rotate();
    EXPECT_EQ(ring.count(1), 3u);
}

TEST(VipManager, Persistence3ReturnsToPreferredHost) {
    Ring ring({1, 2, 3}, demoTable());
    ring.rotate(2);
    ring.kill(1);
    ring.rotate(2);
    NodeId interim = ring.ownerOf("198.18.0.100");
    EXPECT_TRUE(interim == 2u || interim == 3u);
    ring.revive(1);
    ring.rotate(2);
    EXPECT_EQ(ring.ownerOf("198.18.0.100"), 1u);
}

TEST(VipManager, Persistence1SticksToNewHostAfterFailover) {
    Ring ring({1, 2, 3}, demoTable());
    ring.rotate(2);
    ring.kill(2);
    ring.rotate(2);
    NodeId interim = ring.ownerOf("198.18.0.101");
    ASSERT_NE(interim, kNoNode);
    ASSERT_NE(interim, 2u);
    ring.revive(2);
    ring.rotate(3);
    EXPECT_EQ(ring.ownerOf("198.18.0.101"), interim);
}

TEST(VipManager, DeadNodesVipsAreSpreadNotHeaped) {
    VipTable t;
    for (int i = 0; i < 12; ++i)
        t.entries.push_back({Ipv4Address{0xC6120064u + static_cast<uint32_t>(i)}, kNoNode, kNoNode,
                             Persistence::Movable, kNoNode, false});
    Ring ring({1, 2, 3, 4, 5}, t);
    ring.rotate(2);
    ring.kill(3);
    ring.rotate(2);
    std::vector<size_t> counts;
    for (NodeId n : {1, 2, 4, 5}) counts.push_back(ring.count(n));
    EXPECT_EQ(counts[0] + counts[1] + counts[2] + counts[3], 12u);
    EXPECT_LE(*std::max_element(counts.begin(), counts.end()) -
                  *std::min_element(counts.begin(), counts.end()), 1u);
}

// Four movable VIPs preferring `node` (the configuration's preference places them there).
VipTable fourOn(NodeId node) {
    VipTable t;
    for (int i = 0; i < 4; ++i)
        t.entries.push_back({Ipv4Address{0xC6120064u + static_cast<uint32_t>(i)}, kNoNode, node,
                             Persistence::Movable, kNoNode, false});
    return t;
}

TEST(VipManager, LoadBalancingTakesOneVipPerVisitAndSettles) {
    Ring ring({1, 2}, fourOn(1));
    ring.rotate(2);
    ASSERT_EQ(ring.count(1), 4u);
    // Preferences from the configuration pin them; clear them as an operator would.
    for (VipEntry& e : ring.table().entries) e.preferred = kNoNode;
    for (int i = 0; i < 4; ++i)
        ring.setLoad(1, Ipv4Address{0xC6120064u + static_cast<uint32_t>(i)}.toString().c_str(), 10'000'000);
    ring.rotate();
    EXPECT_EQ(ring.manager(2).counters().loadBalanceTakes, 1u);  // one per visit
    for (int round = 0; round < 6; ++round) {
        // The fast path reports rates per owner.
        ring.clearLoad(1);
        ring.clearLoad(2);
        for (const VipEntry& e : ring.table().entries)
            ring.setLoad(e.current, e.address.toString().c_str(), 10'000'000);
        ring.rotate();
    }
    EXPECT_EQ(ring.count(1), 2u);
    EXPECT_EQ(ring.count(2), 2u);
    uint64_t takes = ring.manager(1).counters().loadBalanceTakes + ring.manager(2).counters().loadBalanceTakes;
    EXPECT_EQ(takes, 2u) << "VIPs kept moving after the load was even";
}

TEST(VipManager, SmallImbalanceMovesNothing) {
    VipTable t = demoTable();
    for (VipEntry& e : t.entries) e.persistence = Persistence::Movable, e.preferred = kNoNode;
    Ring ring({1, 2}, t);
    ring.rotate(2);
    ring.setLoad(1, "198.18.0.100", 500'000);  // below min_imbalance
    ring.rotate(3);
    EXPECT_EQ(ring.manager(1).counters().loadBalanceTakes + ring.manager(2).counters().loadBalanceTakes, 0u);
}

TEST(VipManager, MonitorWithdrawalMovesTheVipAwayAndRecoveryBringsItBack) {
    Ring ring({1, 2, 3}, demoTable());
    ring.rotate(2);
    ASSERT_EQ(ring.ownerOf("198.18.0.100"), 1u);  // preferred host, persistence 3
    ring.withdraw(1, "198.18.0.100");
    ring.rotate(2);
    NodeId stand = ring.ownerOf("198.18.0.100");
    EXPECT_NE(stand, 1u);
    EXPECT_NE(stand, kNoNode);
    EXPECT_EQ(ring.ownerOf("198.18.0.101"), 2u) << "only the withdrawn VIP moves";
    ring.rotate(5);  // persistence 3 does not pull it back while the monitor fails
    EXPECT_EQ(ring.ownerOf("198.18.0.100"), stand);
    ring.restore(1);
    ring.rotate(3);
    EXPECT_EQ(ring.ownerOf("198.18.0.100"), 1u);
}

TEST(VipManager, StickyCurrentLeavesAWithdrawnNodeAndStaysWhereItWent) {
    Ring ring({1, 2, 3}, demoTable());
    ring.rotate(2);
    ASSERT_EQ(ring.ownerOf("198.18.0.101"), 2u);  // persistence 1
    ring.withdraw(2, "198.18.0.101");
    ring.rotate(2);
    NodeId stand = ring.ownerOf("198.18.0.101");
    EXPECT_TRUE(stand == 1u || stand == 3u) << stand;
    ring.restore(2);
    ring.rotate(3);
    EXPECT_EQ(ring.ownerOf("198.18.0.101"), stand);  // sticky to its current host
}

TEST(VipManager, FailoverSkipsAWithdrawnNode) {
    Ring ring({1, 2, 3}, demoTable());
    ring.rotate(2);
    ring.withdraw(3, "198.18.0.101");
    ring.withdraw(3, "198.18.0.100");
    ring.rotate();
    ring.kill(2);
    ring.rotate(2);
    EXPECT_EQ(ring.ownerOf("198.18.0.101"), 1u);
    ring.kill(1);  // only the withdrawn node is left: it answers rather than nobody
    ring.rotate(2);
    EXPECT_EQ(ring.ownerOf("198.18.0.100"), 3u);
    EXPECT_EQ(ring.ownerOf("198.18.0.101"), 3u);
}

TEST(VipManager, WithdrawnEverywhereStaysWhereItIs) {
    Ring ring({1, 2}, demoTable());
    ring.rotate(2);
    NodeId owner = ring.ownerOf("198.18.0.102");
    ASSERT_NE(owner, kNoNode);
    ring.withdraw(1, "198.18.0.102");
    ring.withdraw(2, "198.18.0.102");
    // One rotation carries both rows round (the first to visit may still see the other
    // fit, and hand it over once); from then on it stays.
    ring.rotate();
    owner = ring.ownerOf("198.18.0.102");
    EXPECT_NE(owner, kNoNode);
    uint64_t version = ring.table().version;
    ring.rotate(4);
    EXPECT_EQ(ring.ownerOf("198.18.0.102"), owner);
    EXPECT_EQ(ring.table().version, version) << "no move back and forth";
}

TEST(VipManager, LoadBalancingNeverTakesAVipItsMonitorsWithdrew) {
    Ring ring({1, 2}, fourOn(1));
    ring.rotate(2);
    for (VipEntry& e : ring.table().entries) e.preferred = kNoNode;
    for (const VipEntry& e : ring.table().entries) {
        ring.setLoad(1, e.address.toString().c_str(), 10'000'000);
        ring.withdraw(2, e.address.toString().c_str());
    }
    ring.rotate(4);
    EXPECT_EQ(ring.count(1), 4u);
    EXPECT_EQ(ring.manager(2).counters().loadBalanceTakes, 0u);
}

TEST(VipManager, CpuAloneBalancesWhenBytesWeighNothing) {
    LoadBalancing lb;
    lb.byteWeight = 0;  // only CPU counts
    Ring ring({1, 2}, fourOn(1), lb);
    ring.rotate(2);
    for (VipEntry& e : ring.table().entries) e.preferred = kNoNode;
    // Small, equal byte rates (they only share the CPU out among the VIPs); node 1 at 80 %.
    for (const VipEntry& e : ring.table().entries) ring.setLoad(1, e.address.toString().c_str(), 1000);
    ring.setCpu(1, 800);
    ring.setCpu(2, 50);
    ring.rotate();
    EXPECT_EQ(ring.manager(2).counters().loadBalanceTakes, 1u);  // one per visit
    ring.rotate(4);
    EXPECT_EQ(ring.count(1), 2u);
    EXPECT_EQ(ring.count(2), 2u);
    EXPECT_EQ(ring.manager(2).counters().loadBalanceTakes, 2u) << "and then it settles";
}

TEST(VipManager, CpuWithoutTrafficMovesNothing) {
    Ring ring({1, 2}, fourOn(1));
    ring.rotate(2);
    for (VipEntry& e : ring.table().entries) e.preferred = kNoNode;
    ring.setCpu(1, 900);  // busy with something no VIP carries
    ring.rotate(4);
    EXPECT_EQ(ring.count(1), 4u);
}

TEST(VipManager, LoadBalancingSwitchedOffMovesNothing) {
    LoadBalancing lb;
    lb.enabled = false;
    Ring ring({1, 2}, fourOn(1), lb);
    ring.rotate(2);
    for (VipEntry& e : ring.table().entries) e.preferred = kNoNode;
    for (const VipEntry& e : ring.table().entries) ring.setLoad(1, e.address.toString().c_str(), 50'000'000);
    ring.setCpu(1, 900);
    ring.rotate(4);
    EXPECT_EQ(ring.count(1), 4u);
}

TEST(VipManager, OperatorMoveSetsPreferenceAndMovesReleaseFirst) {
    Ring ring({1, 2, 3}, demoTable());
    ring.rotate(2);
    ASSERT_EQ(ring.ownerOf("198.18.0.102"), 3u);
    ASSERT_TRUE(ring.manager(1).queue({CommandKind::Move, ip("198.18.0.102"), 2}, ring.table(), ring.members()));
    ring.visit(1);  // marks the move
    EXPECT_EQ(ring.ownerOf("198.18.0.102"), 3u);
    ring.visit(2);  // not yet released by 3
    EXPECT_EQ(ring.ownerOf("198.18.0.102"), 3u);
    auto released = ring.visit(3);
    EXPECT_EQ(released, (std::vector<Effect>{{EffectKind::Release, ip("198.18.0.102"), false}}));
    EXPECT_EQ(ring.ownerOf("198.18.0.102"), kNoNode);
    ring.visit(1);
    auto claimed = ring.visit(2);
    // Node 3 is alive and keeps the VIP's older flows: node 2 sends their packets on to it.
    EXPECT_EQ(claimed, (std::vector<Effect>{{EffectKind::Claim, ip("198.18.0.102"), false, 3}}));
    EXPECT_EQ(ring.table().find(ip("198.18.0.102"))->preferred, 2u);
}

// Issue 16: the owner that was dropped may still run, cut off, until its lease runs out.
// Its VIPs are claimed only after the fence the dropping node computed, and the fence is
// cleared once the new owner has taken it into account.
TEST(VipManager, AVipOfADroppedOwnerIsClaimedOnlyAfterItsFence) {
    using namespace std::chrono_literals;
    VipTable table = demoTable();
    LoadTable loads;
    VipManager one(1, {1, 2}, {}), two(2, {1, 2}, {});
    Clock::time_point t{};
    two.onToken(t, {2}, false, {}, table, loads);  // alone: node 2 answers everything
    ASSERT_EQ(two.answering().size(), 3u);
    t += 200ms;
    std::vector<NodeId> fencedOwners;
    FenceOf fence = [&](NodeId owner) -> Clock::duration {
        fencedOwners.push_back(owner);
        return 100ms;
    };
    EXPECT_TRUE(one.onToken(t, {1}, false, {}, table, loads, fence).empty());  // node 2 dropped
    EXPECT_EQ(fencedOwners, (std::vector<NodeId>{2, 2, 2}));
    EXPECT_TRUE(one.answering().empty());
    for (const VipEntry& e : table.entries) EXPECT_EQ(e.fenceMs, 0u) << "taken into account, cleared";
    ASSERT_TRUE(one.nextDeadline());
    EXPECT_EQ(*one.nextDeadline(), t + 100ms);
    EXPECT_TRUE(one.onTimer(t + 99ms).empty());
    auto claims = one.onTimer(t + 100ms);
    EXPECT_EQ(claims.size(), 3u);
    EXPECT_EQ(one.answering().size(), 3u);
    EXPECT_EQ(one.counters().fencedClaims, 3u);
    EXPECT_FALSE(one.nextDeadline());
}

// The fence travels on the token: a node other than the dropping one waits it out from its
// own visit (never sooner than the dropping node meant).
TEST(VipManager, TheFenceIsWaitedOutByTheOwnerItNames) {
    using namespace std::chrono_literals;
    Ring ring({1, 2, 3}, demoTable());
    ring.rotate(2);
    ASSERT_EQ(ring.ownerOf("198.18.0.102"), 3u);
    ring.fence = [](NodeId) -> Clock::duration { return 250ms; };
    ring.kill(3);
    ring.visit(2);  // drops 3: .102 goes to node 1 with a 250 ms fence
    EXPECT_EQ(ring.table().find(ip("198.18.0.102"))->current, 1u);
    EXPECT_EQ(ring.table().find(ip("198.18.0.102"))->fenceMs, 250u);
    ring.visit(1);  // sees it: answers 250 ms from now
    EXPECT_EQ(ring.ownerOf("198.18.0.102"), kNoNode);
    EXPECT_EQ(ring.table().find(ip("198.18.0.102"))->fenceMs, 0u);
    ring.visit(2);
    ring.visit(1);  // 200 ms later: still waiting
    EXPECT_EQ(ring.ownerOf("198.18.0.102"), kNoNode);
    ring.visit(2);
    ring.visit(1);  // 400 ms later
    EXPECT_EQ(ring.ownerOf("198.18.0.102"), 1u);
}

// A live move needs no fence: the owner released before the target heard of it.
TEST(VipManager, ALiveMoveIsNotFenced) {
    using namespace std::chrono_literals;
    Ring ring({1, 2, 3}, demoTable());
    ring.fence = [](NodeId) -> Clock::duration { return 250ms; };
    ring.rotate(2);
    ASSERT_TRUE(ring.manager(1).queue({CommandKind::Move, ip("198.18.0.102"), 2}, ring.table(), ring.members()));
    ring.rotate(2);
    EXPECT_EQ(ring.ownerOf("198.18.0.102"), 2u);
    EXPECT_EQ(ring.manager(2).counters().fencedClaims, 0u);
}

TEST(VipManager, CloseOpenDrainUndrain) {
    Ring ring({1, 2, 3}, demoTable());
    ring.rotate(2);
    ASSERT_TRUE(ring.manager(2).queue({CommandKind::Close, ip("198.18.0.100")}, ring.table(), ring.members()));
    ring.rotate(2);
    EXPECT_EQ(ring.ownerOf("198.18.0.100"), kNoNode);
    ASSERT_TRUE(ring.manager(3).queue({CommandKind::Open, ip("198.18.0.100")}, ring.table(), ring.members()));
    ring.rotate(2);
    EXPECT_EQ(ring.ownerOf("198.18.0.100"), 1u);

    ASSERT_TRUE(ring.manager(1).queue({CommandKind::Drain, {}, 1}, ring.table(), ring.members()));
    ring.rotate(2);
    EXPECT_EQ(ring.count(1), 0u) << "a drained node keeps no VIPs, not even persistence 3 ones";
    EXPECT_NE(ring.ownerOf("198.18.0.100"), kNoNode);
    ASSERT_TRUE(ring.manager(1).queue({CommandKind::Undrain, {}, 1}, ring.table(), ring.members()));
    ring.rotate(2);
    EXPECT_EQ(ring.ownerOf("198.18.0.100"), 1u);
}

TEST(VipManager, RefusedCommandsSayWhy) {
    Ring ring({1, 2, 3}, demoTable());
    ring.rotate(2);
    ring.kill(3);
    VipManager& m = ring.manager(1);
    auto why = [&](Command c) {
        auto r = m.queue(c, ring.table(), ring.members());
        EXPECT_FALSE(r);
        return r ? std::string() : r.error().message;
    };
    EXPECT_NE(why({CommandKind::Move, ip("198.18.0.250"), 2}).find("not a VIP"), std::string::npos);
    EXPECT_NE(why({CommandKind::Move, ip("198.18.0.102"), 9}).find("not in the node map"), std::string::npos);
    EXPECT_NE(why({CommandKind::Move, ip("198.18.0.102"), 3}).find("not a live member"), std::string::npos);
    EXPECT_NE(why({CommandKind::SetPersistence, ip("198.18.0.102"), kNoNode, Persistence::StickyPreferred})
                  .find("needs a preferred host"), std::string::npos);
    EXPECT_NE(why({CommandKind::ClearPreference, ip("198.18.0.100")}).find("persistence 3"), std::string::npos);
    ASSERT_TRUE(m.queue({CommandKind::Drain, {}, 2}, ring.table(), ring.members()));
    ring.rotate();
    EXPECT_NE(why({CommandKind::Drain, {}, 1}).find("no live node"), std::string::npos);
    EXPECT_EQ(m.pendingCommands(), 0u);
}

TEST(VipManager, MergeReannouncesAndLeavingRingReleasesAll) {
    Ring ring({1, 2}, demoTable());
    ring.rotate(2);
    auto effects = ring.visit(1, /*grew=*/true);
    ASSERT_FALSE(effects.empty());
    for (const Effect& e : effects) EXPECT_EQ(e.kind, EffectKind::Announce);
    auto released = ring.manager(1).onLeftRing();
    EXPECT_EQ(released.size(), effects.size());
    EXPECT_TRUE(ring.manager(1).answering().empty());
}

TEST(VipManager, TableVersionRisesOnlyOnChange) {
    Ring ring({1, 2, 3}, demoTable());
    ring.rotate(2);
    uint64_t settled = ring.table().version;
    ring.rotate(3);
    EXPECT_EQ(ring.table().version, settled);
    ring.kill(2);
    ring.rotate();
    EXPECT_GT(ring.table().version, settled);
}

// Random kills, revivals, operator moves and loads; after every visit no VIP has two
// answering nodes; once faults stop, every open VIP has exactly one live owner.
TEST(VipManager, RandomisedSafetyAndLiveness) {
    for (uint32_t seed = 1; seed <= 300; ++seed) {
        std::mt19937 rng(seed);
        VipTable t;
        for (int i = 0; i < 8; ++i)
            t.entries.push_back({Ipv4Address{0xC6120064u + static_cast<uint32_t>(i)}, kNoNode,
                                 static_cast<NodeId>(rng() % 6), static_cast<Persistence>(std::array{0, 1, 3}[rng() % 3]),
                                 kNoNode, false});
        for (VipEntry& e : t.entries)
            if (e.preferred == kNoNode && e.persistence == Persistence::StickyPreferred) e.preferred = 1;
        Ring ring({1, 2, 3, 4, 5}, t);
        for (int step = 0; step < 60; ++step) {
            auto members = ring.members();
            switch (rng() % 8) {
                case 0:
                    if (members.size() > 1) ring.kill(members[rng() % members.size()]);
                    break;
                case 1:
                    ring.revive(1 + rng() % 5);
                    break;
                case 2: {
                    NodeId from = members[rng() % members.size()];
                    NodeId to = members[rng() % members.size()];
                    (void)ring.manager(from).queue({CommandKind::Move, t.entries[rng() % 8].address, to},
                                                   ring.table(), members);
                    break;
                }
                case 3:
                    ring.setLoad(members[rng() % members.size()], t.entries[rng() % 8].address.toString().c_str(),
                                 rng() % 50'000'000);
                    break;
                case 4:  // a local monitor fails on some node
                    ring.withdraw(1 + rng() % 5, t.entries[rng() % 8].address.toString().c_str());
                    break;
                case 5:
                    ring.restore(1 + rng() % 5);
                    break;
                default:
                    break;
            }
            members = ring.members();
            ring.visit(members[rng() % members.size()]);
            if (HasFatalFailure()) {
                ADD_FAILURE() << "seed " << seed << " step " << step;
                return;
            }
        }
        ring.rotate(4);
        for (const VipEntry& e : ring.table().entries) {
            NodeId owner = ring.ownerOf(e.address.toString().c_str());
            EXPECT_NE(owner, kNoNode) << "seed " << seed << ": " << e.address.toString() << " unowned";
            // Withdrawn from it while a live member may hold it: it must have moved.
            bool fitElsewhere = false;
            for (NodeId m : ring.members()) fitElsewhere |= !ring.isWithdrawn(m, e.address) && !ring.table().isDrained(m);
            if (owner != kNoNode && fitElsewhere) {
                EXPECT_FALSE(ring.isWithdrawn(owner, e.address))
                    << "seed " << seed << ": " << e.address.toString() << " stays on withdrawn node " << owner;
            }
        }
    }
}

}  // namespace
}  // namespace ringgate::vip

namespace ringgate::vip {
namespace {

TEST(VipManager, CommandsAreJudgedAfterTheOnesQueuedBeforeThem) {
    Ring ring({1, 2, 3}, demoTable());
    ring.rotate(2);
    VipManager& m = ring.manager(1);
    // 198.18.0.100 has persistence 3: unprefer alone is refused...
    EXPECT_FALSE(m.queue({CommandKind::ClearPreference, ip("198.18.0.100")}, ring.table(), ring.members()));
    // ...but not after a queued "persistence 0", even before the token has come by.
    ASSERT_TRUE(m.queue({CommandKind::SetPersistence, ip("198.18.0.100"), kNoNode, Persistence::Movable},
                        ring.table(), ring.members()));
    EXPECT_TRUE(m.queue({CommandKind::ClearPreference, ip("198.18.0.100")}, ring.table(), ring.members()));
    ring.rotate();
    EXPECT_EQ(ring.table().find(ip("198.18.0.100"))->preferred, kNoNode);
    EXPECT_EQ(ring.table().find(ip("198.18.0.100"))->persistence, Persistence::Movable);
}

}  // namespace
}  // namespace ringgate::vip
