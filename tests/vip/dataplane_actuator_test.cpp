// The fast-path VIP actuator on PMD ports (pcap) with exception TAPs, in a network
// namespace this test creates for itself: start() gives each TAP the node's primary
// address on its subnet (nobody else can: the TAP exists only once the fast path made it)
// and puts every VIP of the subnet on it as a /32; the actuator's end takes the VIPs off
// again. Needs root (77 without).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

#include "common/asio.h"
#include "config/loader.h"
#include "control/vip/dataplane_actuator.h"
#include "dataplane/dataplane.h"
#include "tests/dataplane/eal_environment.h"
#include "tests/dataplane/pcap_file.h"

namespace ringgate::vip {
namespace {

// "address/prefix" of every IPv4 address on interface `name`.
std::set<std::string> addressesOn(const std::string& name) {
    std::set<std::string> out;
    ifaddrs* addresses = nullptr;
    if (::getifaddrs(&addresses) != 0) return out;
    for (ifaddrs* a = addresses; a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || name != a->ifa_name) continue;
        uint32_t address = ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
        uint32_t mask = ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_netmask)->sin_addr.s_addr);
        out.insert(Ipv4Address{address}.toString() + "/" + std::to_string(__builtin_popcount(mask)));
    }
    ::freeifaddrs(addresses);
    return out;
}

TEST(DataplaneActuator, AddressesTheExceptionTapsAndPutsEveryVipOnThem) {
    dataplane::test::PcapDir dir("actuator-test");
    dataplane::test::writePcap(dir / "ext-in.pcap", {});
    dataplane::test::writePcap(dir / "int-in.pcap", {});
    std::string yaml = R"(
cluster:
  name: act
  config_version: 1
  nodes:
    - { id: 1, addresses: { external: 198.18.0.1, internal: 198.19.0.1 } }
subnets:
  - { name: external, prefix: 198.18.0.0/24, vips: [ { address: 198.18.0.100 }, { address: 198.18.0.101 } ] }
  - { name: internal, prefix: 198.19.0.0/24 }
dataplane:
  lcores: [1]
  tables: { connections: 1024, neighbours: 64 }
)" + dir.ports("rgx-ext", "rgx-int");
    auto loaded = config::loadString(yaml, "actuator.yaml");
    ASSERT_TRUE(loaded.config) << loaded.errors[0].toString();
    dataplane::DataplaneOptions options;
    options.launchWorkers = false;
    auto started = dataplane::Dataplane::start(*loaded.config, 1, options);
    ASSERT_TRUE(started.ok()) << started.error().message;
    EXPECT_TRUE(addressesOn("rgx-ext").empty());  // a fresh TAP: nothing yet

    boost::asio::io_context io;
    {
        DataplaneActuator actuator(io, *loaded.config, 1, **started);
        auto ok = actuator.start();
        ASSERT_TRUE(ok) << ok.error().message;
        EXPECT_EQ(addressesOn("rgx-ext"),
                  (std::set<std::string>{"198.18.0.1/24", "198.18.0.100/32", "198.18.0.101/32"}));
        EXPECT_EQ(addressesOn("rgx-int"), (std::set<std::string>{"198.19.0.1/24"}));
    }
    // Without the actuator nothing may keep the host answering for a VIP.
    EXPECT_EQ(addressesOn("rgx-ext"), (std::set<std::string>{"198.18.0.1/24"}));
    started->reset();
}

}  // namespace
}  // namespace ringgate::vip

int main(int argc, char** argv) {
    return ringgate::dataplane::test::runInPrivateNetwork(argc, argv, "a private network namespace and TAPs");
}
