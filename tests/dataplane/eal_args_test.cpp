// EAL arguments and port device arguments built from the configuration (no EAL started).
#include <gtest/gtest.h>

#include <algorithm>

#include "config/loader.h"
#include "dataplane/eal.h"

namespace ringgate::dataplane {
namespace {

config::Config load(const std::string& dataplane) {
    std::string yaml = R"(
cluster:
  name: eal
  config_version: 1
  nodes:
    - { id: 1, addresses: { external: 198.18.0.1 } }
    - { id: 2, addresses: { external: 198.18.0.2 } }
subnets:
  - { name: external, prefix: 198.18.0.0/24 }
)" + dataplane;
    auto loaded = config::loadString(yaml, "eal.yaml");
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.toString();
    return loaded.config ? *loaded.config : config::Config{};
}

bool has(const std::vector<std::string>& args, const std::string& a, const std::string& b = "") {
    auto it = std::find(args.begin(), args.end(), a);
    return it != args.end() && (b.empty() || (it + 1 != args.end() && *(it + 1) == b));
}

TEST(EalArguments, NoHugepagesMemoryLcoresAndAPrefixPerNode) {
    auto config = load(R"(
dataplane:
  memory_mb: 768
  lcores: [1]
  ports:
    - { name: ext, subnet: external, driver: af_xdp, interface: ext0 }
)");
    auto one = ealArguments(config, 1);
    auto two = ealArguments(config, 2);
    EXPECT_TRUE(has(one, "--no-huge"));
    EXPECT_TRUE(has(one, "-m", "768"));
    EXPECT_TRUE(has(one, "--main-lcore", "0"));
    EXPECT_TRUE(has(one, "--no-pci"));
    EXPECT_TRUE(has(one, "--file-prefix", "ringgate-eal-1"));
    EXPECT_TRUE(has(two, "--file-prefix", "ringgate-eal-2"));
}

TEST(EalArguments, HugepagesAndPciPorts) {
    auto config = load(R"(
dataplane:
  hugepages: true
  memory_mb: 1024
  lcores: [0, 2]
  ports:
    - { name: ext, subnet: external, driver: pci, pci_address: "0000:03:00.0" }
)");
    auto args = ealArguments(config, 1);
    EXPECT_FALSE(has(args, "--no-huge"));
    EXPECT_TRUE(has(args, "--socket-mem", "1024"));
    EXPECT_TRUE(has(args, "--main-lcore", "1"));  // the first CPU no worker uses
    EXPECT_FALSE(has(args, "--no-pci"));
    EXPECT_TRUE(has(args, "-a", "0000:03:00.0"));
}

TEST(VdevArguments, OnePerDriver) {
    config::Port port;
    port.interface = "ext0";
    port.driver = config::PortDriver::AfXdp;
    EXPECT_EQ(vdevArguments(port, 0, 2, "/x.o"),
              "net_af_xdp0,iface=ext0,start_queue=0,queue_count=2,xdp_prog=/x.o");
    port.driver = config::PortDriver::AfPacket;
    EXPECT_EQ(vdevArguments(port, 1, 1, ""), "net_af_packet1,iface=ext0,qpairs=1");
    port.driver = config::PortDriver::Pcap;
    port.pcapRx = "in.pcap";
    port.pcapTx = "out.pcap";
    EXPECT_EQ(vdevArguments(port, 2, 1, ""), "net_pcap2,rx_pcap=in.pcap,tx_pcap=out.pcap");
    port.driver = config::PortDriver::Ring;
    EXPECT_EQ(vdevArguments(port, 3, 1, ""), "net_ring3");
    port.driver = config::PortDriver::Pci;
    EXPECT_EQ(vdevArguments(port, 4, 1, ""), "");
}

}  // namespace
}  // namespace ringgate::dataplane
