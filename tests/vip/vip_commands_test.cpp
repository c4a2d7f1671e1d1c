#include "control/vip/vip_commands.h"

#include <gtest/gtest.h>

#include "control/management/render.h"

namespace ringgate::vip {
namespace {

Ipv4Address ip(const char* text) { return *Ipv4Address::parse(text); }

TEST(VipCommands, ParsesEveryCommand) {
    auto move = parseCommand("vip", {"move", "198.18.0.100", "2"});
    ASSERT_TRUE(move);
    EXPECT_EQ(move->kind, CommandKind::Move);
    EXPECT_EQ(move->vip, ip("198.18.0.100"));
    EXPECT_EQ(move->node, 2u);
    EXPECT_EQ(parseCommand("vip", {"prefer", "198.18.0.1", "3"})->kind, CommandKind::SetPreference);
    EXPECT_EQ(parseCommand("vip", {"unprefer", "198.18.0.1"})->kind, CommandKind::ClearPreference);
    EXPECT_EQ(parseCommand("vip", {"close", "198.18.0.1"})->kind, CommandKind::Close);
    EXPECT_EQ(parseCommand("vip", {"open", "198.18.0.1"})->kind, CommandKind::Open);
    auto persist = parseCommand("vip", {"persistence", "198.18.0.1", "3"});
    ASSERT_TRUE(persist);
    EXPECT_EQ(persist->persistence, Persistence::StickyPreferred);
    EXPECT_EQ(parseCommand("drain", {"2"})->kind, CommandKind::Drain);
    EXPECT_EQ(parseCommand("undrain", {"2"})->node, 2u);
    EXPECT_EQ(describe(*move), "move 198.18.0.100 to node 2");
}

TEST(VipCommands, RefusesBadArgumentsWithUsage) {
    auto message = [](const std::string& word, std::vector<std::string> args) {
        auto r = parseCommand(word, args);
        EXPECT_FALSE(r);
        return r ? std::string() : r.error().message;
    };
    EXPECT_NE(message("vip", {}).find("usage: vip move"), std::string::npos);
    EXPECT_NE(message("vip", {"fly", "1.2.3.4"}).find("usage"), std::string::npos);
    EXPECT_NE(message("vip", {"move", "1.2.3"}).find("usage: vip move VIP NODE"), std::string::npos);
    EXPECT_NE(message("vip", {"move", "1.2.3.999", "2"}).find("not an IPv4 address"), std::string::npos);
    EXPECT_NE(message("vip", {"move", "1.2.3.4", "zero"}).find("not a node id"), std::string::npos);
    EXPECT_NE(message("vip", {"persistence", "1.2.3.4", "2"}).find("0, 1 or 3"), std::string::npos);
    EXPECT_NE(message("drain", {}).find("usage: drain NODE"), std::string::npos);
}

TEST(VipCommands, RendersTable1TextAndJson) {
    VipTable table;
    table.version = 7;
    table.entries = {{ip("198.18.0.100"), 1, 1, Persistence::StickyPreferred, kNoNode, false},
                     {ip("198.18.0.101"), 2, kNoNode, Persistence::Movable, 3, false},
                     {ip("198.18.0.102"), kNoNode, kNoNode, Persistence::StickyCurrent, kNoNode, true}};
    table.drained = {3};
    LoadTable loads;
    loads.nodes[1].vipRates[ip("198.18.0.100")] = 12345;
    std::set<Ipv4Address> answering{ip("198.18.0.100")};
    VipView view{1, 4, &table, &loads, {1, 2, 3}, &answering};

    VipTableReport report = vipReport(view);
    ASSERT_EQ(report.vips.size(), 3u);
    EXPECT_EQ(report.vips[1].movingTo, 3u);
    EXPECT_EQ(report.vips[2].currentHost, std::nullopt);
    EXPECT_EQ(report.vips[2].state, "closed");
    EXPECT_FALSE(report.vips[1].answeredHere);

    auto text = management::render(report, management::Format::Text);
    EXPECT_TRUE(text.ok);
    EXPECT_NE(text.body.find("198.18.0.100     1        1         3           owned               12345"),
              std::string::npos) << text.body;
    EXPECT_NE(text.body.find("moving->3"), std::string::npos);
    EXPECT_NE(text.body.find("closed"), std::string::npos);
    EXPECT_NE(text.body.find("table version 7, config version 4, drained: 3"), std::string::npos);

    auto json = management::render(report, management::Format::Json);
    EXPECT_NE(json.body.find(R"({"vip":"198.18.0.100","current_host":1,"preferred_host":1,"persistence":3,"moving_to":null,"state":"owned","answered_here":true,"bytes_per_second":12345})"),
              std::string::npos) << json.body;
    EXPECT_NE(json.body.find(R"("current_host":null)"), std::string::npos);
    EXPECT_NE(json.body.find(R"("drained":[3])"), std::string::npos);
}

}  // namespace
}  // namespace ringgate::vip
