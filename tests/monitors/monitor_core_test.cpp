// The local fault monitors' decisions, without I/O: verdicts from results (fall, rise),
// scheduling, and which subnets a node withdraws from (WO 00/62502 Figure 5).
#include "control/monitors/monitor_core.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace ringgate::monitors {
namespace {

using namespace std::chrono_literals;
using config::MonitorKind;

MonitorSpec spec(std::string name, MonitorKind kind, std::vector<std::string> subnets, uint32_t fall = 3,
                 uint32_t rise = 2, uint32_t intervalMs = 1000) {
    config::MonitorTiming timing;
    timing.fall = fall;
    timing.rise = rise;
    timing.intervalMs = intervalMs;
    timing.timeoutMs = intervalMs / 2;
    return {std::move(name), kind, std::move(subnets), timing};
}

const Clock::time_point t0{};

TEST(MonitorCore, FallFailuresInARowMakeItDownRiseSuccessesUpAgain) {
    MonitorCore core({spec("link ext0", MonitorKind::Link, {"external"}, 3, 2)}, t0);
    EXPECT_FALSE(core.onResult(t0, 0, true, "up"));
    EXPECT_EQ(core.monitors()[0].verdict, Verdict::Up);
    EXPECT_FALSE(core.onResult(t0, 0, false, "no carrier"));
    EXPECT_FALSE(core.onResult(t0, 0, false, "no carrier"));
    EXPECT_EQ(core.monitors()[0].verdict, Verdict::Up) << "two of three failures";
    EXPECT_TRUE(core.onResult(t0 + 3s, 0, false, "no carrier"));
    EXPECT_EQ(core.monitors()[0].verdict, Verdict::Down);
    EXPECT_EQ(core.withdrawnSubnets(), (std::set<std::string>{"external"}));
    EXPECT_FALSE(core.onResult(t0 + 4s, 0, true, "up"));
    EXPECT_EQ(core.monitors()[0].verdict, Verdict::Down) << "one of two successes";
    EXPECT_FALSE(core.onResult(t0 + 5s, 0, false, "no carrier")) << "a failure restarts the count";
    EXPECT_FALSE(core.onResult(t0 + 6s, 0, true, "up"));
    EXPECT_TRUE(core.onResult(t0 + 7s, 0, true, "up"));
    EXPECT_EQ(core.monitors()[0].verdict, Verdict::Up);
    EXPECT_TRUE(core.withdrawnSubnets().empty());
    EXPECT_EQ(core.monitors()[0].transitions, 2u);
    EXPECT_EQ(core.monitors()[0].probes, 8u);
    EXPECT_EQ(core.monitors()[0].failures, 4u);
    EXPECT_EQ(core.monitors()[0].since, t0 + 7s);
}

TEST(MonitorCore, InterruptedFailuresNeverMakeItDown) {
    MonitorCore core({spec("tcp 127.0.0.1:80", MonitorKind::Tcp, {"a"}, 2, 1)}, t0);
    for (int i = 0; i < 20; ++i) {
        core.onResult(t0, 0, false, "no answer");
        core.onResult(t0, 0, true, "ok");
    }
    EXPECT_EQ(core.monitors()[0].verdict, Verdict::Up);
    EXPECT_TRUE(core.withdrawnSubnets().empty());
}

TEST(MonitorCore, UnknownWithdrawsNothingUntilFallFailures) {
    MonitorCore core({spec("link ext0", MonitorKind::Link, {"external"}, 2)}, t0);
    EXPECT_TRUE(core.withdrawnSubnets().empty());
    core.onResult(t0, 0, false, "no such interface");
    EXPECT_EQ(core.monitors()[0].verdict, Verdict::Unknown);
    EXPECT_TRUE(core.withdrawnSubnets().empty());
    EXPECT_TRUE(core.onResult(t0, 0, false, "no such interface"));
    EXPECT_EQ(core.monitors()[0].verdict, Verdict::Down);
    EXPECT_EQ(core.monitors()[0].transitions, 0u) << "the first verdict is not a transition";
}

TEST(MonitorCore, OneAnsweringRouterKeepsTheSubnet) {
    MonitorCore core({spec("ping 198.18.0.253", MonitorKind::Ping, {"external"}, 1, 1),
                      spec("ping 198.18.0.254", MonitorKind::Ping, {"external"}, 1, 1),
                      spec("ping 198.19.0.254", MonitorKind::Ping, {"internal"}, 1, 1)},
                     t0);
    EXPECT_FALSE(core.onResult(t0, 0, false, "no answer"));
    EXPECT_TRUE(core.withdrawnSubnets().empty()) << "198.18.0.254 has not failed";
    EXPECT_TRUE(core.onResult(t0, 1, false, "no answer"));
    EXPECT_EQ(core.withdrawnSubnets(), (std::set<std::string>{"external"}));
    auto why = core.withdrawals();
    EXPECT_EQ(why["external"], (std::vector<std::string>{"ping 198.18.0.253", "ping 198.18.0.254"}));
    EXPECT_TRUE(core.onResult(t0, 2, false, "no answer"));
    EXPECT_EQ(core.withdrawnSubnets(), (std::set<std::string>{"external", "internal"}));
    EXPECT_TRUE(core.onResult(t0, 0, true, "ok"));  // one router answers again (rise 1)
    EXPECT_EQ(core.withdrawnSubnets(), (std::set<std::string>{"internal"}));
}

TEST(MonitorCore, AnApplicationWithdrawsEveryOneOfItsSubnets) {
    MonitorCore core({spec("http 127.0.0.1:8080/health", MonitorKind::Http, {"external", "internal"}, 1),
                      spec("link ext0", MonitorKind::Link, {"external"}, 1)},
                     t0);
    core.onResult(t0, 1, false, "no carrier");
    EXPECT_TRUE(core.onResult(t0, 0, false, "no answer"));
    EXPECT_EQ(core.withdrawnSubnets(), (std::set<std::string>{"external", "internal"}));
    EXPECT_EQ(core.withdrawals()["external"], (std::vector<std::string>{"http 127.0.0.1:8080/health", "link ext0"}));
}

TEST(MonitorCore, SchedulesEachMonitorOncePerIntervalAndNeverTwiceInFlight) {
    MonitorCore core({spec("a", MonitorKind::Link, {"x"}, 3, 2, 1000), spec("b", MonitorKind::Link, {"x"}, 3, 2, 300)},
                     t0);
    EXPECT_EQ(core.due(t0), (std::vector<size_t>{0, 1}));
    EXPECT_TRUE(core.due(t0 + 5s).empty()) << "both still in flight";
    EXPECT_EQ(core.nextDue(), Clock::time_point::max());
    core.onResult(t0 + 10ms, 1, true, "ok");
    EXPECT_EQ(core.nextDue(), t0 + 300ms);
    EXPECT_TRUE(core.due(t0 + 299ms).empty());
    EXPECT_EQ(core.due(t0 + 300ms), (std::vector<size_t>{1}));
    core.onResult(t0 + 310ms, 1, true, "ok");
    EXPECT_EQ(core.nextDue(), t0 + 600ms);
    // A stalled thread: the next probe comes one interval after the late start, no burst.
    core.onResult(t0 + 20ms, 0, true, "ok");
    EXPECT_EQ(core.due(t0 + 5s), (std::vector<size_t>{0, 1}));
    core.onResult(t0 + 5s, 0, true, "ok");
    core.onResult(t0 + 5s, 1, true, "ok");
    EXPECT_EQ(core.nextDue(), t0 + 5300ms);
    EXPECT_TRUE(core.due(t0 + 5s).empty());
}

TEST(MonitorCore, ResultForAnUnknownIndexIsIgnored) {
    MonitorCore core({spec("a", MonitorKind::Link, {"x"})}, t0);
    EXPECT_FALSE(core.onResult(t0, 7, false, "?"));
    EXPECT_EQ(core.monitors()[0].probes, 0u);
}

TEST(MonitorSpecs, SubnetsComeFromTheConfiguration) {
    auto loaded = config::loadString(R"(
cluster:
  name: m
  config_version: 1
  nodes:
    - { id: 1, addresses: { ext: 198.18.0.1, int: 198.19.0.1 } }
subnets:
  - { name: ext, prefix: 198.18.0.0/24, vips: [ { address: 198.18.0.100 } ] }
  - { name: int, prefix: 198.19.0.0/24 }
local_monitors:
  fall: 4
  nics: [ext0, { interface: veth7, subnets: [int], rise: 5 }]
  ping_targets: [198.19.0.254]
  applications:
    - { kind: http, target: 127.0.0.1, port: 8080, path: /health }
    - { kind: tcp, target: 127.0.0.1, port: 22, subnets: [ext] }
dataplane:
  ports:
    - { name: ext, subnet: ext, driver: af_xdp, interface: ext0 }
)", "inline.yaml");
    ASSERT_TRUE(loaded.config) << loaded.report("test");
    auto specs = specsOf(*loaded.config);
    ASSERT_EQ(specs.size(), 5u);
    EXPECT_EQ(specs[0].name, "link ext0");
    EXPECT_EQ(specs[0].subnets, (std::vector<std::string>{"ext"}));
    EXPECT_EQ(specs[0].timing.fall, 4u);
    EXPECT_EQ(specs[1].name, "link veth7");
    EXPECT_EQ(specs[1].subnets, (std::vector<std::string>{"int"}));
    EXPECT_EQ(specs[1].timing.rise, 5u);
    EXPECT_EQ(specs[2].name, "ping 198.19.0.254");
    EXPECT_EQ(specs[2].subnets, (std::vector<std::string>{"int"}));
    EXPECT_EQ(specs[3].name, "http 127.0.0.1:8080/health");
    EXPECT_EQ(specs[3].subnets, (std::vector<std::string>{"ext", "int"}));
    EXPECT_EQ(specs[4].subnets, (std::vector<std::string>{"ext"}));
}

}  // namespace
}  // namespace ringgate::monitors
