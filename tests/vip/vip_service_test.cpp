// VipService between the train's carriages and an actuator. The actuator here records
// calls (a unit-test seam); tests/integration/vip_failover_test.py runs the real ones.
#include "control/vip/vip_service.h"

#include <gtest/gtest.h>

#include "config/loader.h"
#include "control/vip/vip_codec.h"

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
};

config::Config demoConfig() {
    auto loaded = config::loadFile(RINGGATE_SOURCE_ROOT "/config/examples/demo-3.yaml");
    EXPECT_TRUE(loaded.config);
    return *loaded.config;
}

management::Request request(std::string command, std::vector<std::string> args, bool json = false) {
    return {json ? management::Format::Json : management::Format::Text, std::move(command), std::move(args)};
}

TEST(VipService, FirstTokenPlacesVipsAndWritesCarriages) {
    config::Config config = demoConfig();
    RecordingActuator act;
    VipService service(config, 1, act);
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
    service2.onTokenHeld(cluster::Time{1000}, carriages, {1, 2, 3});
    EXPECT_NE(std::find(act2.calls.begin(), act2.calls.end(), "claim 198.18.0.101 probe"), act2.calls.end());
}

TEST(VipService, UndecodableCarriageKeepsLastGoodTable) {
    config::Config config = demoConfig();
    RecordingActuator act;
    VipService service(config, 1, act);
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

TEST(VipService, CommandsAndViewThroughTheCommandTable) {
    config::Config config = demoConfig();
    RecordingActuator act;
    VipService service(config, 1, act);
    management::CommandTable commands;
    service.registerCommands(commands);
    cluster::Carriages carriages;
    service.onTokenHeld(cluster::Time{0}, carriages, {1, 2, 3});

    auto view = commands.dispatch(request("vips", {}, true));
    EXPECT_TRUE(view.ok);
    EXPECT_NE(view.body.find(R"("vip":"198.18.0.100","current_host":1)"), std::string::npos) << view.body;

    auto refused = commands.dispatch(request("vip", {"move", "198.18.0.100", "9"}));
    EXPECT_FALSE(refused.ok);
    EXPECT_NE(refused.body.find("refused: node 9 is not in the node map"), std::string::npos);
    auto bad = commands.dispatch(request("vip", {"move"}));
    EXPECT_FALSE(bad.ok);
    EXPECT_NE(bad.body.find("usage"), std::string::npos);

    auto accepted = commands.dispatch(request("vip", {"move", "198.18.0.100", "2"}, true));
    EXPECT_TRUE(accepted.ok) << accepted.body;
    EXPECT_NE(accepted.body.find(R"("accepted":"move 198.18.0.100 to node 2")"), std::string::npos);
    act.calls.clear();
    service.onTokenHeld(cluster::Time{1000}, carriages, {1, 2, 3});
    EXPECT_EQ(act.calls, std::vector<std::string>{"release 198.18.0.100"});
}

TEST(VipService, LeavingTheRingReleasesEverything) {
    config::Config config = demoConfig();
    RecordingActuator act;
    VipService service(config, 1, act);
    cluster::Carriages carriages;
    service.onTokenHeld(cluster::Time{0}, carriages, {1});
    size_t owned = service.manager().answering().size();
    ASSERT_GT(owned, 0u);
    act.calls.clear();
    service.onMembershipChanged(cluster::Time{5000}, {2, 3});
    EXPECT_EQ(act.calls.size(), owned);
    EXPECT_TRUE(service.manager().answering().empty());
}

}  // namespace
}  // namespace ringgate::vip
