// VipService between the train's carriages and an actuator. The actuator here records
// calls (a unit-test seam); tests/integration/vip_failover_test.py runs the real ones.
#include "control/vip/vip_service.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "config/loader.h"
#include "control/vip/vip_codec.h"
#include "control/vip/vip_commands.h"

namespace ringgate::vip {
namespace {

struct RecordingActuator : VipActuator {
    std::vector<std::string> calls;
    NodeLoad load;
    void claim(Ipv4Address vip, bool probe, NodeId handOverFrom) override {
        calls.push_back("claim " + vip.toString() + (probe ? " probe" : "") +
                        (handOverFrom != kNoNode ? " from " + std::to_string(handOverFrom) : ""));
    }
    void release(Ipv4Address vip) override { calls.push_back("release " + vip.toString()); }
    void announce(Ipv4Address vip) override { calls.push_back("announce " + vip.toString()); }
    NodeLoad measuredLoad() override { return load; }
    Expected<void> reconfigure() override {
        calls.push_back("reconfigure");
        return {};
    }
};

config::Config demoConfig() {
    auto loaded = config::loadFile(RINGGATE_SOURCE_ROOT "/config/examples/demo-3.yaml");
    EXPECT_TRUE(loaded.config);
    return *loaded.config;
}

TEST(VipService, FirstTokenPlacesVipsAndWritesCarriages) {
    config::Config config = demoConfig();
    RecordingActuator act;
    VipService service(config, 1, act);
    service.onLease(cluster::Time{0}, true);  // granted by the ring
    cluster::Carriages carriages;
    service.onTokenHeld(cluster::Time{0}, carriages, {1, 2, 3});
    // Node 1 prefers 198.18.0.100 and takes the unpreferred ones by spread; cold start probes.
    ASSERT_FALSE(act.calls.empty());
    EXPECT_EQ(act.calls[0], "claim 198.18.0.100 probe");
    std::string error;
    auto table = decodeVipTable(*carriages.find(cluster::carriage::kVipTable), error);
    ASSERT_TRUE(table) << error;
    EXPECT_EQ(table->find(*Ipv4Address::parse("198.18.0.101"))->current, 2u);
    ASSERT_NE(carriages.find(cluster::carriage::kNodeLoad), nullptr);

    // Node 2 receives the train and claims what the table gives it.
    RecordingActuator act2;
    VipService service2(config, 2, act2);
    service2.onLease(cluster::Time{0}, true);  // granted by the ring
    service2.onTokenHeld(cluster::Time{1000}, carriages, {1, 2, 3});
    EXPECT_NE(std::find(act2.calls.begin(), act2.calls.end(), "claim 198.18.0.101 probe"), act2.calls.end());
}

// A node answers only while it holds the lease: before the first grant its VIPs wait;
// losing it releases them at once; regaining it answers again without a token visit.
TEST(VipService, AnswersOnlyWhileItHoldsTheLease) {
    auto config = demoConfig();
    RecordingActuator act;
    VipService service(config, 1, act);
    cluster::Carriages carriages;
    service.onTokenHeld(cluster::Time{0}, carriages, {1});  // alone: every VIP is ours
    EXPECT_TRUE(act.calls.empty());
    EXPECT_TRUE(service.manager().answering().empty());
    size_t vips = service.table().entries.size();
    ASSERT_GT(vips, 0u);
    auto count = [&](const std::string& prefix) {
        return static_cast<size_t>(std::count_if(act.calls.begin(), act.calls.end(),
                                                 [&](const std::string& c) { return c.rfind(prefix, 0) == 0; }));
    };
    service.onLease(cluster::Time{1000}, true);
    EXPECT_EQ(count("claim "), vips);
    EXPECT_EQ(service.manager().answering().size(), vips);
    service.onLease(cluster::Time{2000}, false);
    EXPECT_EQ(count("release "), vips);
    EXPECT_TRUE(service.manager().answering().empty());
    service.onLease(cluster::Time{3000}, true);
    EXPECT_EQ(count("claim "), 2 * vips);
    EXPECT_EQ(service.manager().counters().leaseReleases, vips);
}

TEST(VipService, UndecodableCarriageKeepsLastGoodTable) {
    config::Config config = demoConfig();
    RecordingActuator act;
    VipService service(config, 1, act);
    service.onLease(cluster::Time{0}, true);  // granted by the ring
    cluster::Carriages carriages;
    service.onTokenHeld(cluster::Time{0}, carriages, {1});
    size_t owned = service.manager().answering().size();
    carriages.set(cluster::carriage::kVipTable, {1, 2, 3});
    service.onTokenHeld(cluster::Time{1000}, carriages, {1});
    EXPECT_EQ(service.counters().badCarriages, 1u);
    EXPECT_EQ(service.manager().answering().size(), owned);
    std::string error;
    EXPECT_TRUE(decodeVipTable(*carriages.find(cluster::carriage::kVipTable), error)) << "re-encoded";
}

TEST(VipService, ReportsTheTableAndQueuesOperatorCommands) {
    config::Config config = demoConfig();
    RecordingActuator act;
    VipService service(config, 1, act);
    service.onLease(cluster::Time{0}, true);  // granted by the ring
    cluster::Carriages carriages;
    service.onTokenHeld(cluster::Time{0}, carriages, {1, 2, 3});

    VipTableReport view = service.report();
    ASSERT_FALSE(view.vips.empty());
    EXPECT_EQ(view.vips[0].vip, "198.18.0.100");
    EXPECT_EQ(view.vips[0].currentHost, 1u);
    EXPECT_TRUE(view.vips[0].answeredHere);

    auto refused = service.submit(*parseCommand("vip", {"move", "198.18.0.100", "9"}), "test");
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("refused: node 9 is not in the node map"), std::string::npos);

    auto accepted = service.submit(*parseCommand("vip", {"move", "198.18.0.100", "2"}), "test");
    ASSERT_TRUE(accepted) << accepted.error().message;
    EXPECT_EQ(accepted->what, "move 198.18.0.100 to node 2");
    act.calls.clear();
    service.onTokenHeld(cluster::Time{1000}, carriages, {1, 2, 3});
    EXPECT_EQ(act.calls, std::vector<std::string>{"release 198.18.0.100"});
}

TEST(VipService, LeavingTheRingReleasesEverything) {
    config::Config config = demoConfig();
    RecordingActuator act;
    VipService service(config, 1, act);
    service.onLease(cluster::Time{0}, true);  // granted by the ring
    cluster::Carriages carriages;
    service.onTokenHeld(cluster::Time{0}, carriages, {1});
    size_t owned = service.manager().answering().size();
    ASSERT_GT(owned, 0u);
    act.calls.clear();
    service.onMembershipChanged(cluster::Time{5000}, {2, 3});
    EXPECT_EQ(act.calls.size(), owned);
    EXPECT_TRUE(service.manager().answering().empty());
}

// A live reload (config/reload.h) edits the VIP table at this node's next token visit:
// an added VIP is placed like any unowned one, a removed one is released by its owner.
TEST(VipService, ReconfigureAddsAndRemovesVipsAtTheNextVisit) {
    config::Config config = demoConfig();
    RecordingActuator act;
    VipService service(config, 1, act);
    service.onLease(cluster::Time{0}, true);  // granted by the ring
    cluster::Carriages carriages;
    service.onTokenHeld(cluster::Time{0}, carriages, {1});  // alone: every VIP is ours
    ASSERT_TRUE(service.manager().answering().count(*Ipv4Address::parse("198.18.0.102")));

    config::Config before = config;
    auto& vips = config.subnets[0].vips;
    vips.erase(vips.begin() + 2);  // 198.18.0.102 removed
    vips.push_back(config::Vip{*Ipv4Address::parse("198.18.0.103"), std::nullopt, config::Persistence::Movable});
    vips[1].persistence = config::Persistence::StickyPreferred;  // 198.18.0.101 preferred by 2 already
    service.reconfigure(before);
    ASSERT_NE(service.table().find(*Ipv4Address::parse("198.18.0.103")), nullptr);  // our copy at once

    act.calls.clear();
    service.onTokenHeld(cluster::Time{100'000}, carriages, {1});
    EXPECT_NE(std::find(act.calls.begin(), act.calls.end(), "release 198.18.0.102"), act.calls.end());
    EXPECT_NE(std::find(act.calls.begin(), act.calls.end(), "claim 198.18.0.103 probe"), act.calls.end());
    std::string error;
    auto table = decodeVipTable(*carriages.find(cluster::carriage::kVipTable), error);
    ASSERT_TRUE(table) << error;
    EXPECT_EQ(table->find(*Ipv4Address::parse("198.18.0.102")), nullptr);
    ASSERT_NE(table->find(*Ipv4Address::parse("198.18.0.103")), nullptr);
    EXPECT_EQ(table->find(*Ipv4Address::parse("198.18.0.101"))->persistence, config::Persistence::StickyPreferred);

    // Applying the same edit again (another node that took the change) changes nothing.
    uint64_t version = table->version;
    EXPECT_FALSE(applyEdit(tableEdit(before, config), *table));
    EXPECT_EQ(table->version, version);
}

}  // namespace
}  // namespace ringgate::vip
