// pcap in -> pcap out: Dataplane::start creates net_pcap ports from the configuration
// (driver: pcap), a worker pass reads the input capture, and the output capture holds the
// answers. Exercises the same port creation path as ringgated, without root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

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

TEST(PcapPorts, ArpAndEchoAnsweredBackEndsResolvedMalformedCounted) {
    test::PcapDir dir("pcap-test");
    test::FrameSpec ping;
    ping.srcMac = mac(0xc1);
    ping.src = ip("198.18.0.10");
    ping.dst = ip("198.18.0.100");
    ping.proto = kProtoIcmp;
    ping.payload = {1, 2, 3, 4};
    auto truncated = test::buildFrame(ping);
    truncated.resize(30);
    writePcap(dir / "ext-in.pcap",
              {test::buildArp(MacAddress::broadcast(), {kArpRequest, mac(0xc1), ip("198.18.0.10"), {}, ip("198.18.0.100")}),
               test::buildFrame(ping), truncated});
    writePcap(dir / "int-in.pcap", {});

    std::string yaml = R"(
cluster:
  name: pcaptest
  config_version: 1
  nodes:
    - { id: 1, addresses: { external: 198.18.0.1, internal: 198.19.0.1 } }
subnets:
  - { name: external, prefix: 198.18.0.0/24, vips: [ { address: 198.18.0.100 } ] }
  - { name: internal, prefix: 198.19.0.0/24, vips: [ { address: 198.19.0.100 } ] }
pools:
  - name: web
    backends:
      - { address: 198.19.0.51, port: 80 }
      - { address: 198.19.0.52, port: 80 }
services:
  - { name: web, vip: 198.18.0.100, port: 80, protocol: tcp, pool: web, nat: dnat }
dataplane:
  lcores: [1]
  tables: { connections: 1024, neighbours: 64 }
)" + dir.ports();
    auto loaded = config::loadString(yaml, "pcap.yaml");
    ASSERT_TRUE(loaded.config) << loaded.errors[0].toString();
    {
        DataplaneOptions options;
        options.launchWorkers = false;
        auto started = Dataplane::start(*loaded.config, 1, options);
        ASSERT_TRUE(started.ok()) << started.error().message;
        Dataplane& dp = **started;
        for (uint32_t now = 1; now < 10; ++now) dp.worker(0).step(now);
        EXPECT_EQ(dp.portDrops(0, DropReason::Truncated), 1u);
    }  // closing the ports flushes the output captures

    auto ext = readPcap(dir / "ext-out.pcap");
    ASSERT_EQ(ext.size(), 2u);
    ArpFields reply = readArp(ext[0], parsePacket(ext[0]));
    EXPECT_EQ(reply.op, kArpReply);
    EXPECT_EQ(reply.senderIp, ip("198.18.0.100"));
    EXPECT_EQ(reply.targetMac, mac(0xc1));
    ParsedPacket echo = parsePacket(ext[1]);
    EXPECT_EQ(echo.icmpType, kIcmpEchoReply);
    EXPECT_EQ(echo.dst, ip("198.18.0.10"));
    EXPECT_TRUE(test::checksumsValid(ext[1]));

    auto in = readPcap(dir / "int-out.pcap");
    std::vector<uint32_t> asked;
    for (const auto& frame : in) {
        ArpFields request = readArp(frame, parsePacket(frame));
        EXPECT_EQ(request.op, kArpRequest);
        EXPECT_EQ(request.senderIp, 0u);  // RFC 5227 probe form: the answer is addressed to 0.0.0.0, which XDP gives the fast path
        asked.push_back(request.targetIp);
    }
    std::sort(asked.begin(), asked.end());
    EXPECT_EQ(asked, (std::vector<uint32_t>{ip("198.19.0.51"), ip("198.19.0.52")}));
}

}  // namespace
}  // namespace ringgate::dataplane

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new ringgate::dataplane::test::EalEnvironment({}, 256));
    return RUN_ALL_TESTS();
}
