// ringgate's XDP program, loaded from its skeleton and run by the kernel on crafted frames
// (bpf_prog_test_run_opts): what goes to the fast path, what to the host. Needs root (or
// CAP_BPF) to load programs; without it the test is skipped (exit 77).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "bpf/ringgate_xdp.h"
#include "bpf/ringgate_xdp.skel.h"
#include "bpf/xdp_maps.h"
#include "tests/dataplane/frame_builder.h"

namespace ringgate::dataplane {
namespace {

using test::ip;
using test::mac;

ringgate_xdp_bpf* skeleton = nullptr;

uint64_t stat(uint32_t which) {
    int cpus = libbpf_num_possible_cpus();
    std::vector<uint64_t> values(static_cast<size_t>(cpus));
    if (bpf_map_lookup_elem(bpf_map__fd(skeleton->maps.rg_stats), &which, values.data()) != 0) return 0;
    uint64_t total = 0;
    for (uint64_t v : values) total += v;
    return total;
}

// Runs the program on `frame`; returns which counter moved. No AF_XDP socket is in
// xsks_map here, as after ringgated dies: what is meant for the fast path must then be
// dropped (fail closed, the host carries every VIP), and the rest passed to the host.
int decide(std::vector<uint8_t> frame) {
    uint64_t before[RG_STAT_COUNT];
    for (uint32_t s = 0; s < RG_STAT_COUNT; ++s) before[s] = stat(s);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = static_cast<uint32_t>(frame.size()),
                .repeat = 1);
    int rc = bpf_prog_test_run_opts(bpf_program__fd(skeleton->progs.ringgate_xdp), &opts);
    EXPECT_EQ(rc, 0);
    int moved = -1;
    for (uint32_t s = 0; s < RG_STAT_COUNT; ++s)
        if (stat(s) == before[s] + 1) moved = static_cast<int>(s);
    uint32_t verdict = moved == RG_STAT_TO_HOST ? XDP_PASS : XDP_DROP;
    EXPECT_EQ(opts.retval, verdict) << "stat " << moved;
    return moved;
}

std::vector<uint8_t> ipv4(uint32_t src, uint32_t dst, uint8_t proto = kProtoTcp, uint16_t dport = 80) {
    test::FrameSpec s;
    s.src = src;
    s.dst = dst;
    s.proto = proto;
    s.srcPort = 40000;
    s.dstPort = dport;
    return test::buildFrame(s);
}

std::vector<uint8_t> arp(uint16_t op, uint32_t sender, uint32_t target) {
    return test::buildArp(MacAddress::broadcast(), {op, mac(7), sender, {}, target});
}

TEST(XdpProgram, SteersVipsAndTransitToTheFastPathAndTheRestToTheHost) {
    bpf::XdpAddresses addresses;
    addresses.vips = {ip("198.18.0.100"), ip("198.19.0.100")};
    addresses.locals = {ip("198.18.0.1"), ip("198.19.0.1")};
    addresses.natPortFirst = 10000;
    addresses.natPortLast = 17589;
    ASSERT_TRUE(bpf::fillXdpMaps(bpf_map__fd(skeleton->maps.rg_addrs), bpf_map__fd(skeleton->maps.rg_config),
                                 addresses).ok());
    auto ipv6 = ipv4(1, 2);
    store16(&ipv6[12], 0x86dd);
    // The kernel runs XDP only on frames of at least an Ethernet header: 14 bytes saying
    // "ARP" with no ARP body is the shortest lie a frame can tell.
    std::vector<uint8_t> runt(14, 0);
    store16(&runt[12], kEtherTypeArp);
    struct Case {
        const char* what;
        std::vector<uint8_t> frame;
        int expected;
    };
    std::vector<Case> cases = {
        {"ARP request for a VIP", arp(kArpRequest, ip("198.18.0.10"), ip("198.18.0.100")), RG_STAT_ARP_TO_FASTPATH},
        {"gratuitous ARP of a peer claiming a VIP", arp(kArpRequest, ip("198.18.0.100"), ip("198.18.0.100")), RG_STAT_ARP_TO_FASTPATH},
        {"ARP reply from a peer owning a VIP", arp(kArpReply, ip("198.19.0.100"), ip("198.19.0.1")), RG_STAT_ARP_TO_FASTPATH},
        {"ARP request for the node's own address", arp(kArpRequest, ip("198.18.0.10"), ip("198.18.0.1")), RG_STAT_TO_HOST},
        {"ARP reply to the fast path's probe-form request", arp(kArpReply, ip("198.19.0.51"), 0), RG_STAT_ARP_TO_FASTPATH},
        {"ARP reply to the host's own request", arp(kArpReply, ip("198.19.0.51"), ip("198.19.0.1")), RG_STAT_TO_HOST},
        {"ARP between two other hosts", arp(kArpRequest, ip("198.18.0.10"), ip("198.18.0.11")), RG_STAT_TO_HOST},
        {"TCP to a VIP", ipv4(ip("198.18.0.10"), ip("198.18.0.100")), RG_STAT_IPV4_TO_FASTPATH},
        {"UDP to the internal VIP (fullnat replies)", ipv4(ip("198.19.0.51"), ip("198.19.0.100"), kProtoUdp), RG_STAT_IPV4_TO_FASTPATH},
        {"SSH to the node's own address", ipv4(ip("198.18.0.10"), ip("198.18.0.1"), kProtoTcp, 22), RG_STAT_TO_HOST},
        {"cluster messaging to the internal address", ipv4(ip("198.19.0.2"), ip("198.19.0.1"), kProtoUdp, 7100), RG_STAT_TO_HOST},
        {"fullnat TCP reply to the node's own address", ipv4(ip("198.19.0.51"), ip("198.19.0.1"), kProtoTcp, 10000), RG_STAT_IPV4_TO_FASTPATH},
        {"fullnat UDP reply, last NAT port", ipv4(ip("198.19.0.51"), ip("198.19.0.1"), kProtoUdp, 17589), RG_STAT_IPV4_TO_FASTPATH},
        {"the host's own connection (ephemeral port)", ipv4(ip("198.19.0.51"), ip("198.19.0.1"), kProtoTcp, 40000), RG_STAT_TO_HOST},
        {"another node's NAT block", ipv4(ip("198.19.0.51"), ip("198.19.0.1"), kProtoTcp, 17590), RG_STAT_TO_HOST},
        {"dnat reply routed through the gateway", ipv4(ip("198.19.0.51"), ip("198.18.0.10")), RG_STAT_IPV4_TO_FASTPATH},
        {"limited broadcast", ipv4(ip("198.18.0.10"), 0xffffffff, kProtoUdp), RG_STAT_TO_HOST},
        {"multicast (VRRP)", ipv4(ip("198.18.0.10"), ip("224.0.0.18"), 112), RG_STAT_TO_HOST},
        {"IPv6", ipv6, RG_STAT_TO_HOST},
        {"ARP type without an ARP body", runt, RG_STAT_TO_HOST},
    };
    for (const auto& c : cases) EXPECT_EQ(decide(c.frame), c.expected) << c.what;

    addresses.steerTransit = false;
    ASSERT_TRUE(bpf::fillXdpMaps(bpf_map__fd(skeleton->maps.rg_addrs), bpf_map__fd(skeleton->maps.rg_config),
                                 addresses).ok());
    EXPECT_EQ(decide(ipv4(ip("198.19.0.51"), ip("198.18.0.10"))), RG_STAT_TO_HOST);
}

// mode http: TCP to an owned VIP's proxied port goes to the host stack; the rest of the
// VIP (other ports, ARP, UDP on that port) stays on the fast path; a release removes it.
TEST(XdpProgram, HostPortsOfAnOwnedHttpServiceGoToTheHost) {
    bpf::XdpAddresses addresses;
    addresses.vips = {ip("198.18.0.100"), ip("198.18.0.101")};
    addresses.locals = {ip("198.18.0.1")};
    int hostPorts = bpf_map__fd(skeleton->maps.rg_host_ports);
    ASSERT_TRUE(bpf::fillXdpMaps(bpf_map__fd(skeleton->maps.rg_addrs), bpf_map__fd(skeleton->maps.rg_config),
                                 addresses).ok());
    auto owned = *Ipv4Endpoint::parse("198.18.0.100:80");
    ASSERT_TRUE(bpf::fillHostPorts(hostPorts, {owned, *Ipv4Endpoint::parse("198.18.0.100:8080")}).ok());
    auto fragment = ipv4(ip("198.18.0.10"), ip("198.18.0.100"));
    store16(&fragment[14 + 6], 0x0010);  // a later fragment: no TCP header, no port to match
    struct Case {
        const char* what;
        std::vector<uint8_t> frame;
        int expected;
    } cases[] = {
        {"TCP to the proxied VIP:port", ipv4(ip("198.18.0.10"), ip("198.18.0.100"), kProtoTcp, 80), RG_STAT_TO_HOST},
        {"TCP to the second proxied port", ipv4(ip("198.18.0.10"), ip("198.18.0.100"), kProtoTcp, 8080), RG_STAT_TO_HOST},
        {"TCP to another port of the VIP", ipv4(ip("198.18.0.10"), ip("198.18.0.100"), kProtoTcp, 443), RG_STAT_IPV4_TO_FASTPATH},
        {"UDP to the proxied port number", ipv4(ip("198.18.0.10"), ip("198.18.0.100"), kProtoUdp, 80), RG_STAT_IPV4_TO_FASTPATH},
        {"TCP to port 80 of a VIP owned elsewhere", ipv4(ip("198.18.0.10"), ip("198.18.0.101"), kProtoTcp, 80), RG_STAT_IPV4_TO_FASTPATH},
        {"a later fragment to the VIP", fragment, RG_STAT_IPV4_TO_FASTPATH},
        {"ARP for the VIP", arp(kArpRequest, ip("198.18.0.10"), ip("198.18.0.100")), RG_STAT_ARP_TO_FASTPATH},
    };
    for (const auto& c : cases) EXPECT_EQ(decide(c.frame), c.expected) << c.what;

    // Released (or moved away): the fast path takes the port again.
    ASSERT_TRUE(bpf::fillHostPorts(hostPorts, {*Ipv4Endpoint::parse("198.18.0.100:8080")}).ok());
    EXPECT_EQ(decide(ipv4(ip("198.18.0.10"), ip("198.18.0.100"), kProtoTcp, 80)), RG_STAT_IPV4_TO_FASTPATH);
    EXPECT_EQ(decide(ipv4(ip("198.18.0.10"), ip("198.18.0.100"), kProtoTcp, 8080)), RG_STAT_TO_HOST);
    ASSERT_TRUE(bpf::fillHostPorts(hostPorts, {}).ok());
    EXPECT_EQ(decide(ipv4(ip("198.18.0.10"), ip("198.18.0.100"), kProtoTcp, 8080)), RG_STAT_IPV4_TO_FASTPATH);
}

}  // namespace
}  // namespace ringgate::dataplane

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ringgate::dataplane::skeleton = ringgate_xdp_bpf__open_and_load();
    if (!ringgate::dataplane::skeleton) {
        if (geteuid() != 0) {
            std::fprintf(stderr, "loading BPF programs needs root; skipping\n");
            return 77;
        }
        std::fprintf(stderr, "cannot load ringgate_xdp: %s\n", std::strerror(errno));
        return 1;
    }
    int status = RUN_ALL_TESTS();
    ringgate_xdp_bpf__destroy(ringgate::dataplane::skeleton);
    return status;
}
