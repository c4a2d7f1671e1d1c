// The link prober against the real kernel (rtnetlink needs no privilege to read):
// loopback is up, a name nobody has is "no such interface", and truncated or foreign
// netlink bytes are skipped, never read past.
#include "control/monitors/link_prober.h"

#include <gtest/gtest.h>

#include <linux/rtnetlink.h>

#include "control/monitors/cpu_meter.h"

namespace ringgate::monitors {
namespace {

std::optional<LinkReply> ask(const std::string& name) {
    boost::asio::io_context io;
    LinkProber prober(io);
    std::optional<LinkReply> got;
    auto opened = prober.open([&](LinkReply reply) { got = std::move(reply); io.stop(); });
    EXPECT_TRUE(opened) << (opened ? "" : opened.error().message);
    auto sequence = prober.query(name);
    EXPECT_TRUE(sequence);
    io.run_for(std::chrono::seconds(2));
    if (got) {
        EXPECT_EQ(got->sequence, *sequence);
    }
    return got;
}

TEST(LinkProber, LoopbackIsUp) {
    auto reply = ask("lo");
    ASSERT_TRUE(reply);
    ASSERT_TRUE(reply->state) << reply->state.error().message;
    EXPECT_TRUE(reply->state->healthy());
    EXPECT_EQ(reply->state->describe(), "up");
}

TEST(LinkProber, AMissingInterfaceFails) {
    auto reply = ask("rgnosuch0");
    ASSERT_TRUE(reply);
    ASSERT_FALSE(reply->state);
    EXPECT_EQ(reply->state.error().message, "no such interface");
}

TEST(LinkProber, DescribesWhyALinkIsDown) {
    EXPECT_EQ((LinkState{false, false, 2}).describe(), "administratively down");
    EXPECT_EQ((LinkState{true, false, 3}).describe(), "no carrier (operstate lowerlayerdown)");
    EXPECT_FALSE((LinkState{true, false, 3}).healthy());
}

TEST(LinkProber, TruncatedAndForeignMessagesAreSkipped) {
    std::vector<uint8_t> bytes(sizeof(nlmsghdr) + sizeof(ifinfomsg), 0);
    auto* header = reinterpret_cast<nlmsghdr*>(bytes.data());
    header->nlmsg_len = static_cast<uint32_t>(bytes.size());
    header->nlmsg_type = RTM_NEWLINK;
    header->nlmsg_seq = 9;
    int calls = 0;
    for (size_t cut = 0; cut < bytes.size(); ++cut)
        parseLinkReplies(std::span(bytes.data(), cut), [&](LinkReply) { ++calls; });
    EXPECT_EQ(calls, 0) << "a cut message is never parsed";
    header->nlmsg_len = 4096;  // claims more than it has
    parseLinkReplies(bytes, [&](LinkReply) { ++calls; });
    EXPECT_EQ(calls, 0);
    header->nlmsg_len = static_cast<uint32_t>(bytes.size());
    header->nlmsg_type = RTM_NEWADDR;  // not a link
    parseLinkReplies(bytes, [&](LinkReply) { ++calls; });
    EXPECT_EQ(calls, 0);
    header->nlmsg_type = RTM_NEWLINK;
    parseLinkReplies(bytes, [&](LinkReply r) {
        ++calls;
        EXPECT_EQ(r.sequence, 9u);
        ASSERT_TRUE(r.state);
        EXPECT_FALSE(r.state->healthy());
    });
    EXPECT_EQ(calls, 1);
}

TEST(CpuMeter, PermilleOfOneCpuOverTheWindow) {
    using namespace std::chrono_literals;
    CpuMeter meter;
    CpuMeter::Clock::time_point t{};
    EXPECT_EQ(meter.update(t, 0us), 0u);
    EXPECT_EQ(meter.update(t + 100ms, 90ms), 0u) << "under the window: the previous value";
    EXPECT_EQ(meter.update(t + 1s, 250ms), 250u);
    EXPECT_EQ(meter.update(t + 2s, 2250ms), 2000u) << "two CPUs busy";
    EXPECT_EQ(meter.update(t + 3s, 2000ms), 0u) << "a clock going back counts as idle";
}

TEST(CpuMeter, ProcessCpuTimeGrowsWithWork) {
    auto before = processCpuTime();
    volatile uint64_t sink = 0;
    for (uint64_t i = 0; i < 50'000'000; ++i) sink = sink + i;
    EXPECT_GT(processCpuTime(), before);
}

}  // namespace
}  // namespace ringgate::monitors
