// The exception path of a PMD port: a pcap port with an exception TAP interface. The host
// stack (in a network namespace this test creates for itself, so nothing touches the
// machine's own interfaces) gets an echo request and an ARP request for the node's own
// address through the TAP, and its answers leave through the port. Needs root (77 without).
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "config/loader.h"
#include "dataplane/dataplane.h"
#include "tests/dataplane/eal_environment.h"
#include "tests/dataplane/frame_builder.h"
#include "tests/dataplane/pcap_file.h"

namespace ringgate::dataplane {
namespace {

using test::ip;
using test::mac;

using test::readPcap;
using test::writePcap;

int sh(const std::string& command) { return std::system(command.c_str()); }

TEST(ExceptionPath, HostTrafficCrossesTheTapBothWays) {
    test::PcapDir dir("exception-test");
    test::FrameSpec ping;
    ping.srcMac = mac(0xc1);
    ping.dstMac = MacAddress::broadcast();  // whatever the port's MAC is, the host takes it
    ping.src = ip("198.18.0.10");
    ping.dst = ip("198.18.0.1");  // the node's own address
    ping.proto = kProtoIcmp;
    ping.icmpRest = 0x4242002a;
    ping.payload = {1, 2, 3, 4, 5, 6, 7, 8};
    auto arp = test::buildArp(MacAddress::broadcast(), {kArpRequest, mac(0xc2), ip("198.18.0.11"), {}, ip("198.18.0.1")});
    writePcap(dir / "ext-in.pcap", {test::buildFrame(ping), arp});
    writePcap(dir / "int-in.pcap", {});
    std::string yaml = R"(
cluster:
  name: exc
  config_version: 1
  nodes:
    - { id: 1, addresses: { external: 198.18.0.1, internal: 198.19.0.1 } }
subnets:
  - { name: external, prefix: 198.18.0.0/24, vips: [ { address: 198.18.0.100 } ] }
  - { name: internal, prefix: 198.19.0.0/24 }
dataplane:
  lcores: [1]
  tables: { connections: 1024, neighbours: 64 }
)" + dir.ports("rgx-ext");
    auto loaded = config::loadString(yaml, "exception.yaml");
    ASSERT_TRUE(loaded.config) << loaded.errors[0].toString();
    MacAddress portMac;
    {
        DataplaneOptions options;
        options.launchWorkers = false;
        auto started = Dataplane::start(*loaded.config, 1, options);
        ASSERT_TRUE(started.ok()) << started.error().message;
        Dataplane& dp = **started;
        portMac = dp.snapshot().ports[0].mac;
        // ringgated's VIP actuator addresses the TAP (tests/vip/dataplane_actuator_test);
        // this test drives the Dataplane alone, so it does that itself.
        // IPv6 off before the link comes up: its DAD and MLD frames would be counted as
        // the host's answers (the wait below counts frames, not which ones).
        ASSERT_EQ(sh("sysctl -qw net.ipv6.conf.rgx-ext.disable_ipv6=1; ip link set rgx-ext up && "
                     "ip addr add 198.18.0.1/24 dev rgx-ext && "
                     "ip neigh replace 198.18.0.10 lladdr 02:00:00:00:00:c1 dev rgx-ext"), 0);
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        uint32_t now = 1;
        auto fromHost = [&] { return dp.worker(0).counters().ports[0].fromHost.get(); };
        while (fromHost() < 2 && std::chrono::steady_clock::now() < deadline) {
            dp.worker(0).step(now++);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        // Whatever else the host still sends (on a loaded machine the answers may come
        // after another frame of its own) is taken for a while longer.
        for (auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
             std::chrono::steady_clock::now() < until;) {
            dp.worker(0).step(now++);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        EXPECT_EQ(dp.worker(0).counters().ports[0].toHost.get(), 2u);
        EXPECT_GE(fromHost(), 2u);
    }
    bool echoed = false, arpAnswered = false;
    for (const auto& frame : readPcap(dir / "ext-out.pcap")) {
        ParsedPacket p = parsePacket(frame);
        if (p.kind == PacketKind::Ipv4 && p.proto == kProtoIcmp && p.icmpType == kIcmpEchoReply &&
            p.src == ip("198.18.0.1") && p.dst == ip("198.18.0.10")) {
            echoed = true;
            EXPECT_EQ(MacAddress::load(&frame[6]), portMac);
        }
        if (p.kind == PacketKind::Arp && p.arpOp == kArpReply) {
            ArpFields reply = readArp(frame, p);
            if (reply.senderIp == ip("198.18.0.1")) {
                arpAnswered = true;
                EXPECT_EQ(reply.senderMac, portMac);  // the TAP carries the port's MAC
            }
        }
    }
    EXPECT_TRUE(echoed);
    EXPECT_TRUE(arpAnswered);
}

}  // namespace
}  // namespace ringgate::dataplane

int main(int argc, char** argv) {
    return ringgate::dataplane::test::runInPrivateNetwork(argc, argv, "a private network namespace and a TAP");
}
