// Packet tests of the whole fast path: frames built by frame_builder.h go into the RX
// rings of two net_ring ports (external and internal), one worker pass runs on this
// thread with a test clock, and what the ports transmit is compared with the expected
// frames. EAL without hugepages; nothing here needs root.
#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "config/loader.h"
#include "control/management/render.h"
#include "dataplane/dataplane.h"
#include "tests/dataplane/eal_environment.h"
#include "tests/dataplane/frame_builder.h"

namespace ringgate::dataplane {
namespace {

using test::buildFrame;
using test::checksumsValid;
using test::FrameSpec;
using test::ip;
using test::mac;

const char* kConfig = R"(
cluster:
  name: packet
  config_version: 1
  nodes:
    - { id: 1, addresses: { external: 198.18.0.1, internal: 198.19.0.1 } }
subnets:
  - name: external
    prefix: 198.18.0.0/24
    vips:
      - { address: 198.18.0.100 }
      - { address: 198.18.0.101 }
  - name: internal
    prefix: 198.19.0.0/24
    vips:
      - { address: 198.19.0.100 }
pools:
  - name: web
    backends:
      - { address: 198.19.0.51, port: 8080 }
      - { address: 198.19.0.52, port: 8080 }
  - name: dns
    backends:
      - { address: 198.19.0.61, port: 5353 }
services:
  - { name: web, vip: 198.18.0.100, port: 80, protocol: tcp, pool: web, nat: fullnat }
  - { name: webd, vip: 198.18.0.101, port: 80, protocol: tcp, pool: web, nat: dnat }
  - { name: dns, vip: 198.18.0.101, port: 53, protocol: udp, pool: dns, nat: dnat }
dataplane:
  lcores: [1]
  tables: { connections: 4096, neighbours: 256 }
  ports:
    - { name: ext, subnet: external, driver: ring }
    - { name: int, subnet: internal, driver: ring }
)";

constexpr unsigned kExt = 0;
constexpr unsigned kInt = 1;
const MacAddress kClientRouter = mac(0xc1);
const MacAddress kBackendMac[] = {mac(0x51), mac(0x52), mac(0x61)};
const uint32_t kBackends[] = {ip("198.19.0.51"), ip("198.19.0.52"), ip("198.19.0.61")};

class FastPath : public ::testing::Test {
protected:
    void SetUp() override {
        static int serial = 0;
        std::string tag = std::to_string(serial++);
        auto loaded = config::loadString(kConfig, "packet.yaml");
        ASSERT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].toString());
        config_ = *loaded.config;
        pool_ = rte_pktmbuf_pool_create(("tpool" + tag).c_str(), 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
        ASSERT_NE(pool_, nullptr);
        std::vector<uint16_t> ports;
        for (unsigned p = 0; p < 2; ++p) {
            std::string name = "t" + tag + "_" + std::to_string(p);
            rx_[p] = rte_ring_create((name + "rx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
            tx_[p] = rte_ring_create((name + "tx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
            int id = rte_eth_from_rings(name.c_str(), &rx_[p], 1, &tx_[p], 1, 0);
            ASSERT_GE(id, 0);
            ports_[p] = static_cast<uint16_t>(id);
            ports.push_back(ports_[p]);
        }
        DataplaneOptions options;
        options.launchWorkers = launchWorkers_;
        options.maglevSize = 251;
        options.timeouts.synMs = 1000;
        options.timeouts.establishedMs = 5000;
        options.timeouts.finMs = 2000;
        options.timeouts.closedMs = 500;
        options.timeouts.udpMs = 3000;
        auto started = Dataplane::startOnPorts(config_, 1, ports, options);
        ASSERT_TRUE(started.ok()) << started.error().message;
        dp_ = std::move(*started);
        portMac_[kExt] = dp_->snapshot().ports[kExt].mac;
        portMac_[kInt] = dp_->snapshot().ports[kInt].mac;
    }
    void TearDown() override {
        for (unsigned p = 0; p < 2; ++p) drain(p);
        dp_.reset();
        for (unsigned p = 0; p < 2; ++p) {
            rte_eth_dev_close(ports_[p]);
            rte_ring_free(rx_[p]);
            rte_ring_free(tx_[p]);
        }
        rte_mempool_free(pool_);
    }

    void inject(unsigned port, const std::vector<uint8_t>& frame) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool_);
        ASSERT_NE(m, nullptr);
        void* data = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
        std::memcpy(data, frame.data(), frame.size());
        ASSERT_EQ(rte_ring_enqueue(rx_[port], m), 0);
    }
    std::vector<std::vector<uint8_t>> drain(unsigned port) {
        std::vector<std::vector<uint8_t>> out;
        void* m;
        while (rte_ring_dequeue(tx_[port], &m) == 0) {
            auto* mbuf = static_cast<rte_mbuf*>(m);
            auto* data = rte_pktmbuf_mtod(mbuf, uint8_t*);
            out.emplace_back(data, data + rte_pktmbuf_data_len(mbuf));
            rte_pktmbuf_free(mbuf);
        }
        return out;
    }
    // One worker pass at `now`; returns what each port sent.
    struct Sent {
        std::vector<std::vector<uint8_t>> ext, in;
    };
    // Waits until `predicate` holds, or fails after five seconds.
    template <typename Predicate>
    bool waitFor(Predicate predicate) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!predicate()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        return true;
    }
    Sent step(uint32_t now) {
        dp_->worker(0).step(now);
        return {drain(kExt), drain(kInt)};
    }
    // Idle passes until expiry has looked at every entry of the table (a pass looks at a
    // bounded number so that it never stalls).
    void sweep(uint32_t now) {
        for (size_t i = 0; i <= dp_->connections().capacity() / 64; ++i) step(now);
    }
    // Back ends answer the ARP requests the dataplane sent at start.
    void resolveBackends(uint32_t now = 1) {
        Sent sent = step(now);
        EXPECT_EQ(sent.in.size(), 3u);  // one request per configured back end
        for (const auto& frame : sent.in) {
            ParsedPacket p = parsePacket(frame);
            ASSERT_EQ(p.kind, PacketKind::Arp);
            ArpFields request = readArp(frame, p);
            for (size_t b = 0; b < 3; ++b) {
                if (request.targetIp != kBackends[b]) continue;
                inject(kInt, test::buildArp(portMac_[kInt],
                                            {kArpReply, kBackendMac[b], kBackends[b], portMac_[kInt], request.senderIp}));
            }
        }
        Sent after = step(now);
        EXPECT_TRUE(after.ext.empty() && after.in.empty());
    }
    FrameSpec fromClient(uint32_t vip, uint16_t port, uint8_t proto, uint8_t flags, uint16_t clientPort = 40000) {
        FrameSpec s;
        s.srcMac = kClientRouter;
        s.dstMac = portMac_[kExt];
        s.src = ip("198.18.0.10");
        s.dst = vip;
        s.srcPort = clientPort;
        s.dstPort = port;
        s.proto = proto;
        s.tcpFlags = flags;
        s.payload = {'h', 'i'};
        return s;
    }
    // The back end's answer to `seen` (a frame the gateway sent to it).
    FrameSpec replyTo(const std::vector<uint8_t>& seen, uint8_t flags) {
        ParsedPacket p = parsePacket(seen);
        FrameSpec s;
        s.srcMac = MacAddress::load(&seen[0]);
        s.dstMac = portMac_[kInt];
        s.src = p.dst;
        s.dst = p.src;
        s.srcPort = p.dstPort;
        s.dstPort = p.srcPort;
        s.proto = p.proto;
        s.tcpFlags = flags;
        s.payload = {'o', 'k'};
        return s;
    }
    uint64_t drops(unsigned port, DropReason reason) { return dp_->portDrops(port, reason); }

    bool launchWorkers_ = false;
    config::Config config_;
    rte_mempool* pool_ = nullptr;
    rte_ring* rx_[2] = {};
    rte_ring* tx_[2] = {};
    uint16_t ports_[2] = {};
    MacAddress portMac_[2];
    std::unique_ptr<Dataplane> dp_;
};

TEST_F(FastPath, ArpAnswersOwnedVipsAndPrimaryAddressesOnly) {
    struct Case {
        const char* what;
        unsigned port;
        const char* target;
        bool answered;
    };
    std::vector<Case> cases = {
        {"owned VIP on its subnet's port", kExt, "198.18.0.100", true},
        {"second owned VIP", kExt, "198.18.0.101", true},
        {"primary address of the port", kExt, "198.18.0.1", true},
        {"internal VIP on the internal port", kInt, "198.19.0.100", true},
        {"internal VIP asked on the external port", kExt, "198.19.0.100", false},
        {"an address nobody configured", kExt, "198.18.0.77", false},
        {"the internal primary on the external port", kExt, "198.19.0.1", false},
    };
    for (const auto& c : cases) {
        uint32_t asker = c.port == kExt ? ip("198.18.0.10") : ip("198.19.0.9");
        inject(c.port, test::buildArp(MacAddress::broadcast(), {kArpRequest, mac(0x77), asker, {}, ip(c.target)}));
        Sent sent = step(5);
        auto& out = c.port == kExt ? sent.ext : sent.in;
        ASSERT_EQ(out.size(), c.answered ? 1u : 0u) << c.what;
        if (!c.answered) continue;
        ArpFields reply = readArp(out[0], parsePacket(out[0]));
        EXPECT_EQ(reply.op, kArpReply) << c.what;
        EXPECT_EQ(reply.senderIp, ip(c.target)) << c.what;
        EXPECT_EQ(reply.senderMac, portMac_[c.port]) << c.what;
        EXPECT_EQ(reply.targetMac, mac(0x77)) << c.what;
        EXPECT_EQ(MacAddress::load(&out[0][0]), mac(0x77)) << c.what;
    }
    // The askers were learned as neighbours.
    EXPECT_TRUE(dp_->neighbours().lookup(ip("198.18.0.10"), 6));
}

TEST_F(FastPath, OwnershipChangesWithoutStoppingTheWorker) {
    resolveBackends();
    ASSERT_TRUE(dp_->setOwnedVips({*Ipv4Address::parse("198.18.0.101")}).ok());
    inject(kExt, test::buildArp(MacAddress::broadcast(), {kArpRequest, mac(0x77), ip("198.18.0.10"), {}, ip("198.18.0.100")}));
    inject(kExt, buildFrame(fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpSyn)));
    Sent sent = step(10);
    EXPECT_TRUE(sent.ext.empty());
    EXPECT_TRUE(sent.in.empty());
    EXPECT_EQ(drops(kExt, DropReason::NotOurs), 1u);
    EXPECT_FALSE(dp_->sendGratuitousArp(*Ipv4Address::parse("198.18.0.100")).ok());

    ASSERT_TRUE(dp_->setOwnedVips({*Ipv4Address::parse("198.18.0.100")}).ok());
    inject(kExt, test::buildArp(MacAddress::broadcast(), {kArpRequest, mac(0x77), ip("198.18.0.10"), {}, ip("198.18.0.100")}));
    EXPECT_EQ(step(11).ext.size(), 1u);
    EXPECT_FALSE(dp_->setOwnedVips({*Ipv4Address::parse("198.18.0.55")}).ok());  // not configured
    EXPECT_EQ(dp_->ownedVips().size(), 1u);  // refused change left the old set
}

// A worker on its own lcore (EAL lcore 1), running its real loop with idle back-off, while
// the control thread changes ownership under it through RCU.
class LiveWorker : public FastPath {
protected:
    void SetUp() override {
        launchWorkers_ = true;
        FastPath::SetUp();
    }
    uint64_t arpIn() {
        uint64_t total = 0;
        total += dp_->worker(0).counters().ports[kExt].arpIn.get();
        return total;
    }
    std::vector<std::vector<uint8_t>> drainUntil(unsigned port, size_t count) {
        std::vector<std::vector<uint8_t>> out;
        waitFor([&] {
            auto more = drain(port);
            out.insert(out.end(), more.begin(), more.end());
            return out.size() >= count;
        });
        return out;
    }
};

TEST_F(LiveWorker, OwnershipChangesWhileTheWorkerRuns) {
    auto ask = [&] {
        inject(kExt, test::buildArp(MacAddress::broadcast(),
                                    {kArpRequest, mac(0x77), ip("198.18.0.10"), {}, ip("198.18.0.100")}));
    };
    for (int round = 0; round < 20; ++round) {
        bool owned = round % 2 == 0;
        std::vector<Ipv4Address> vips = {*Ipv4Address::parse("198.18.0.101")};
        if (owned) vips.push_back(*Ipv4Address::parse("198.18.0.100"));
        ASSERT_TRUE(dp_->setOwnedVips(vips).ok());  // returns once no worker can see the old set
        uint64_t before = arpIn();
        ask();
        ASSERT_TRUE(waitFor([&] { return arpIn() > before; })) << "worker never took the ARP";
        // The pass that took it has ended (and flushed) once two more passes began.
        uint64_t loops = dp_->worker(0).counters().loops.get();
        ASSERT_TRUE(waitFor([&] { return dp_->worker(0).counters().loops.get() >= loops + 2; }));
        auto sent = owned ? drainUntil(kExt, 1) : drain(kExt);
        size_t replies = 0;
        for (const auto& f : sent)
            if (readArp(f, parsePacket(f)).op == kArpReply) ++replies;
        EXPECT_EQ(replies, owned ? 1u : 0u) << "round " << round;
    }
}

TEST_F(FastPath, GratuitousArpOnCommand) {
    ASSERT_TRUE(dp_->sendGratuitousArp(*Ipv4Address::parse("198.18.0.100")).ok());
    Sent sent = step(1);
    std::vector<uint8_t> garp;
    for (auto& f : sent.ext)
        if (readArp(f, parsePacket(f)).targetIp == ip("198.18.0.100")) garp = f;
    ASSERT_FALSE(garp.empty());
    ArpFields arp = readArp(garp, parsePacket(garp));
    EXPECT_EQ(arp.senderIp, ip("198.18.0.100"));
    EXPECT_EQ(arp.senderMac, portMac_[kExt]);
    EXPECT_EQ(MacAddress::load(&garp[0]), MacAddress::broadcast());
}

TEST_F(FastPath, IcmpEchoForOwnedVipsOnly) {
    FrameSpec ping = fromClient(ip("198.18.0.100"), 0, kProtoIcmp, 0);
    ping.payload = {1, 2, 3, 4, 5, 6, 7, 8};
    inject(kExt, buildFrame(ping));
    ping.dst = ip("198.18.0.99");
    inject(kExt, buildFrame(ping));
    Sent sent = step(1);
    ASSERT_EQ(sent.ext.size(), 1u);
    ParsedPacket reply = parsePacket(sent.ext[0]);
    EXPECT_EQ(reply.icmpType, kIcmpEchoReply);
    EXPECT_EQ(reply.src, ip("198.18.0.100"));
    EXPECT_EQ(reply.dst, ip("198.18.0.10"));
    EXPECT_TRUE(checksumsValid(sent.ext[0]));
    EXPECT_EQ(MacAddress::load(&sent.ext[0][0]), kClientRouter);
    EXPECT_EQ(drops(kExt, DropReason::NotOurs), 1u);
}

TEST_F(FastPath, FullnatTcpBothDirectionsWithStatesAndExpiry) {
    resolveBackends();
    inject(kExt, buildFrame(fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpSyn)));
    Sent sent = step(100);
    ASSERT_EQ(sent.in.size(), 1u);
    const auto& syn = sent.in[0];
    ParsedPacket out = parsePacket(syn);
    EXPECT_TRUE(checksumsValid(syn));
    EXPECT_EQ(out.src, ip("198.19.0.100"));  // the internal VIP is the fullnat source
    EXPECT_GE(out.srcPort, dp_->snapshot().natPorts.first);
    EXPECT_LE(out.srcPort, dp_->snapshot().natPorts.last);
    EXPECT_TRUE(out.dst == kBackends[0] || out.dst == kBackends[1]);
    EXPECT_EQ(out.dstPort, 8080);
    EXPECT_EQ(out.ttl, 63);
    EXPECT_EQ(out.tcpFlags, kTcpSyn);
    EXPECT_EQ(MacAddress::load(&syn[0]), out.dst == kBackends[0] ? kBackendMac[0] : kBackendMac[1]);
    EXPECT_EQ(MacAddress::load(&syn[6]), portMac_[kInt]);

    struct Step {
        bool fromClient;
        uint8_t flags;
        FlowState state;
    };
    std::vector<Step> steps = {
        {false, kTcpSyn | kTcpAck, FlowState::SynReceived},
        {true, kTcpAck, FlowState::Established},
        {false, kTcpAck, FlowState::Established},
        {true, kTcpFin | kTcpAck, FlowState::FinFromClient},
        {false, kTcpFin | kTcpAck, FlowState::TimeWait},
    };
    uint32_t now = 100;
    for (const auto& s : steps) {
        now += 10;
        if (s.fromClient) {
            inject(kExt, buildFrame(fromClient(ip("198.18.0.100"), 80, kProtoTcp, s.flags)));
            Sent r = step(now);
            ASSERT_EQ(r.in.size(), 1u);
            ParsedPacket p = parsePacket(r.in[0]);
            EXPECT_EQ(p.srcPort, out.srcPort);  // the same translation for the whole flow
            EXPECT_EQ(p.dst, out.dst);
            EXPECT_TRUE(checksumsValid(r.in[0]));
        } else {
            inject(kInt, buildFrame(replyTo(syn, s.flags)));
            Sent r = step(now);
            ASSERT_EQ(r.ext.size(), 1u);
            ParsedPacket p = parsePacket(r.ext[0]);
            EXPECT_EQ(p.src, ip("198.18.0.100"));
            EXPECT_EQ(p.srcPort, 80);
            EXPECT_EQ(p.dst, ip("198.18.0.10"));
            EXPECT_EQ(p.dstPort, 40000);
            EXPECT_EQ(p.tcpFlags, s.flags);
            EXPECT_TRUE(checksumsValid(r.ext[0]));
            EXPECT_EQ(MacAddress::load(&r.ext[0][0]), kClientRouter);
            EXPECT_EQ(MacAddress::load(&r.ext[0][6]), portMac_[kExt]);
        }
        auto hit = dp_->connections().lookup({ip("198.18.0.10"), ip("198.18.0.100"), 40000, 80, kProtoTcp});
        ASSERT_TRUE(hit.conn);
        EXPECT_EQ(static_cast<FlowState>(hit.conn->state.load()), s.state);
    }
    EXPECT_EQ(dp_->connections().size(), 1u);
    sweep(now + 400);  // TIME_WAIT lasts 500 ms here
    EXPECT_EQ(dp_->connections().size(), 1u);
    sweep(now + 600);
    EXPECT_EQ(dp_->connections().size(), 0u);
    // A late reply of the finished flow is not ours any more.
    inject(kInt, buildFrame(replyTo(syn, kTcpAck)));
    Sent late = step(now + 700);
    EXPECT_TRUE(late.ext.empty());
    EXPECT_EQ(drops(kInt, DropReason::NoService), 1u);  // to the internal VIP, no flow, no service
    auto services = dp_->serviceStats();
    EXPECT_EQ(report::find(services[0].traffic, "new_flows"), 1u);
    EXPECT_EQ(report::find(services[0].traffic, "packets"), 6u);
}

TEST_F(FastPath, HandOverSendsSegmentsOfUnknownFlowsToThePreviousOwner) {
    resolveBackends();
    const uint32_t vip = ip("198.18.0.100");
    const uint32_t peer = ip("198.18.0.2");
    const MacAddress peerMac = mac(0x02);
    // The VIP was the peer's: released here first (as before a claim), then handed over.
    ASSERT_TRUE(dp_->setOwnedVips({*Ipv4Address::parse("198.18.0.101")}).ok());
    ASSERT_TRUE(dp_->handOverFrom(*Ipv4Address::parse("198.18.0.100"), *Ipv4Address::parse("198.18.0.2"), 1000).ok());
    ASSERT_TRUE(dp_->setOwnedVips({*Ipv4Address::parse("198.18.0.100"), *Ipv4Address::parse("198.18.0.101")}).ok());
    // (The hand-over's 1 s runs on the worker clock from now; this test's passes are
    // stamped 10..13 ms, then 2000 ms.)
    // The peer's address is resolved ahead (the request is in probe form).
    Sent asked = step(10);
    ASSERT_EQ(asked.ext.size(), 1u);
    ArpFields request = readArp(asked.ext[0], parsePacket(asked.ext[0]));
    EXPECT_EQ(request.targetIp, peer);
    inject(kExt, test::buildArp(portMac_[kExt], {kArpReply, peerMac, peer, portMac_[kExt], 0}));
    step(11);

    // A segment of a flow this node never saw goes to the peer, untouched above Ethernet.
    auto segment = buildFrame(fromClient(vip, 80, kProtoTcp, kTcpAck, 41000));
    inject(kExt, segment);
    Sent handed = step(12);
    ASSERT_EQ(handed.ext.size(), 1u);
    EXPECT_TRUE(handed.in.empty());
    EXPECT_EQ(MacAddress::load(&handed.ext[0][0]), peerMac);
    EXPECT_EQ(MacAddress::load(&handed.ext[0][6]), portMac_[kExt]);
    EXPECT_TRUE(std::equal(segment.begin() + 12, segment.end(), handed.ext[0].begin() + 12));
    EXPECT_EQ(dp_->connections().size(), 0u);

    // A new flow (SYN) stays here; its later segments find their entry.
    inject(kExt, buildFrame(fromClient(vip, 80, kProtoTcp, kTcpSyn, 42000)));
    inject(kExt, buildFrame(fromClient(vip, 80, kProtoTcp, kTcpAck, 42000)));
    Sent local = step(13);
    EXPECT_EQ(local.in.size(), 2u);
    EXPECT_TRUE(local.ext.empty());
    EXPECT_EQ(dp_->connections().size(), 1u);
    EXPECT_EQ(report::find(dp_->stats().ports[kExt].counters, "handed_to_peer"), 1u);

    // The hand-over lasts its time: after it, an unknown segment starts a flow here.
    inject(kExt, buildFrame(fromClient(vip, 80, kProtoTcp, kTcpAck, 41000)));
    Sent later = step(2000);
    EXPECT_EQ(later.in.size(), 1u);
    EXPECT_TRUE(later.ext.empty());

    // Releasing the VIP ends the hand-over; a claim without one keeps everything here.
    ASSERT_TRUE(dp_->handOverFrom(*Ipv4Address::parse("198.18.0.100"), *Ipv4Address::parse("198.18.0.2"), 1'000'000).ok());
    ASSERT_TRUE(dp_->setOwnedVips({*Ipv4Address::parse("198.18.0.101")}).ok());
    ASSERT_TRUE(dp_->setOwnedVips({*Ipv4Address::parse("198.18.0.100"), *Ipv4Address::parse("198.18.0.101")}).ok());
    step(2000);  // the peer's ARP request
    inject(kExt, buildFrame(fromClient(vip, 80, kProtoTcp, kTcpAck, 43000)));
    Sent again = step(2001);
    EXPECT_EQ(again.in.size(), 1u);
    EXPECT_TRUE(again.ext.empty());

    // A peer off the VIP's subnet is refused, and nothing changes.
    EXPECT_FALSE(dp_->handOverFrom(*Ipv4Address::parse("198.18.0.100"), *Ipv4Address::parse("198.19.0.2"), 1000).ok());
}

TEST_F(FastPath, DnatKeepsTheClientAddressBothDirections) {
    resolveBackends();
    for (uint8_t proto : {kProtoUdp, kProtoTcp}) {
        uint16_t port = proto == kProtoUdp ? 53 : 80;
        inject(kExt, buildFrame(fromClient(ip("198.18.0.101"), port, proto, kTcpSyn)));
        Sent sent = step(10);
        ASSERT_EQ(sent.in.size(), 1u) << int(proto);
        ParsedPacket p = parsePacket(sent.in[0]);
        EXPECT_EQ(p.src, ip("198.18.0.10"));
        EXPECT_EQ(p.srcPort, 40000);
        if (proto == kProtoUdp) {
            EXPECT_EQ(p.dst, kBackends[2]);
            EXPECT_EQ(p.dstPort, 5353);
        }
        EXPECT_TRUE(checksumsValid(sent.in[0]));
        inject(kInt, buildFrame(replyTo(sent.in[0], kTcpSyn | kTcpAck)));
        Sent back = step(11);
        ASSERT_EQ(back.ext.size(), 1u);
        ParsedPacket r = parsePacket(back.ext[0]);
        EXPECT_EQ(r.src, ip("198.18.0.101"));
        EXPECT_EQ(r.srcPort, port);
        EXPECT_EQ(r.dst, ip("198.18.0.10"));
        EXPECT_EQ(r.dstPort, 40000);
        EXPECT_TRUE(checksumsValid(back.ext[0]));
    }
    // UDP flows expire after their idle time (3 s here); TCP in SYN_RECEIVED after 1 s.
    sweep(2000);
    EXPECT_EQ(dp_->connections().size(), 1u);
    sweep(3100);
    EXPECT_EQ(dp_->connections().size(), 0u);
}

TEST_F(FastPath, UnansweredSynExpiresAndResetClosesQuickly) {
    resolveBackends();
    inject(kExt, buildFrame(fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpSyn, 1)));
    inject(kExt, buildFrame(fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpSyn, 2)));
    EXPECT_EQ(step(10).in.size(), 2u);
    inject(kExt, buildFrame(fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpRst | kTcpAck, 2)));
    EXPECT_EQ(step(100).in.size(), 1u);  // the reset is forwarded, then the entry closes
    sweep(700);
    EXPECT_EQ(dp_->connections().size(), 1u);  // the reset one is gone after 500 ms
    sweep(1100);
    EXPECT_EQ(dp_->connections().size(), 0u);  // the unanswered SYN after 1 s
    // A reset for a flow nobody knows creates nothing.
    inject(kExt, buildFrame(fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpRst, 3)));
    EXPECT_TRUE(step(1200).in.empty());
    EXPECT_EQ(dp_->connections().size(), 0u);
}

TEST_F(FastPath, MalformedAndUnwantedPacketsAreDroppedAndCounted) {
    resolveBackends();
    auto good = buildFrame(fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpSyn));
    struct Case {
        const char* what;
        std::vector<uint8_t> frame;
        DropReason reason;
    };
    auto truncated = good;
    truncated.resize(40);
    auto badIhl = good;
    badIhl[14] = 0x43;
    FrameSpec fragment = fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpSyn);
    fragment.fragment = 0x2000;
    FrameSpec ttl = fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpSyn);
    ttl.ttl = 1;
    std::vector<Case> cases = {
        {"truncated TCP", truncated, DropReason::Truncated},
        {"IHL 3", badIhl, DropReason::BadHeader},
        {"fragment", buildFrame(fragment), DropReason::Fragment},
        {"TTL 1", buildFrame(ttl), DropReason::TtlExceeded},
        {"no service on the port", buildFrame(fromClient(ip("198.18.0.100"), 443, kProtoTcp, kTcpSyn)), DropReason::NoService},
        {"to an address not ours", buildFrame(fromClient(ip("198.18.0.200"), 80, kProtoTcp, kTcpSyn)), DropReason::NotOurs},
        {"ICMP timestamp", [&] { FrameSpec s = fromClient(ip("198.18.0.100"), 0, kProtoIcmp, 0); s.icmpType = 13; return buildFrame(s); }(), DropReason::UnsupportedIcmp},
        {"IPv6 ethertype", [&] { auto f = good; store16(&f[12], 0x86dd); return f; }(), DropReason::NotOurs},
        {"runt frame", std::vector<uint8_t>(good.begin(), good.begin() + 12), DropReason::Truncated},
    };
    for (const auto& c : cases) {
        uint64_t before = drops(kExt, c.reason);
        inject(kExt, c.frame);
        Sent sent = step(5);
        EXPECT_TRUE(sent.in.empty() && sent.ext.empty()) << c.what;
        EXPECT_EQ(drops(kExt, c.reason), before + 1) << c.what;
    }
    EXPECT_EQ(dp_->connections().size(), 0u);
}

TEST_F(FastPath, ChecksumEdgeCasesSurviveTranslation) {
    resolveBackends();
    FrameSpec noSum = fromClient(ip("198.18.0.101"), 53, kProtoUdp, 0, 1111);
    noSum.udpZeroChecksum = true;
    FrameSpec options = fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpSyn, 2222);
    options.ipOptions = {0x94, 0x04, 0x00, 0x00};  // router alert
    inject(kExt, buildFrame(noSum));
    inject(kExt, buildFrame(options));
    Sent sent = step(1);
    ASSERT_EQ(sent.in.size(), 2u);
    for (const auto& f : sent.in) {
        ParsedPacket p = parsePacket(f);
        EXPECT_TRUE(checksumsValid(f));
        if (p.proto == kProtoUdp) {
            EXPECT_EQ(load16(&f[p.l4 + 6]), 0);
        } else {
            EXPECT_EQ(p.l4, 14 + 24);
        }
    }
}

TEST_F(FastPath, NoNeighbourYetSendsArpAndDrops) {
    inject(kExt, buildFrame(fromClient(ip("198.18.0.101"), 53, kProtoUdp, 0)));
    Sent sent = step(5000);  // the start-up ARP requests are long answered-or-not by now
    EXPECT_EQ(drops(kExt, DropReason::NoNeighbour), 1u);
    bool asked = false;
    for (const auto& f : sent.in) {
        ParsedPacket p = parsePacket(f);
        if (p.kind == PacketKind::Arp && readArp(f, p).targetIp == kBackends[2]) asked = true;
    }
    EXPECT_TRUE(asked);
}

TEST_F(FastPath, IcmpErrorFromBackendReachesTheClientTranslated) {
    resolveBackends();
    inject(kExt, buildFrame(fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpSyn)));
    Sent sent = step(1);
    ASSERT_EQ(sent.in.size(), 1u);
    ParsedPacket seen = parsePacket(sent.in[0]);
    FrameSpec quoted;
    quoted.src = seen.src;
    quoted.dst = seen.dst;
    quoted.srcPort = seen.srcPort;
    quoted.dstPort = seen.dstPort;
    quoted.proto = kProtoTcp;
    quoted.tcpFlags = kTcpSyn;
    FrameSpec outer;
    outer.srcMac = kBackendMac[0];
    outer.dstMac = portMac_[kInt];
    outer.src = seen.dst;
    outer.dst = seen.src;
    outer.icmpType = kIcmpDestUnreachable;
    outer.icmpCode = 3;
    inject(kInt, test::buildIcmpError(outer, quoted));
    Sent back = step(2);
    ASSERT_EQ(back.ext.size(), 1u);
    ParsedPacket p = parsePacket(back.ext[0]);
    EXPECT_EQ(p.icmpType, kIcmpDestUnreachable);
    EXPECT_EQ(p.src, ip("198.18.0.100"));
    EXPECT_EQ(p.dst, ip("198.18.0.10"));
    EXPECT_TRUE(checksumsValid(back.ext[0]));
    auto q = parseQuotedFlow(back.ext[0], p);
    ASSERT_TRUE(q);
    EXPECT_EQ(q->src, ip("198.18.0.10"));
    EXPECT_EQ(q->srcPort, 40000);
    EXPECT_EQ(q->dst, ip("198.18.0.100"));
    EXPECT_EQ(q->dstPort, 80);
}

TEST_F(FastPath, RemovedBackendGetsNoNewFlowsAndOthersKeepTheirs) {
    resolveBackends();
    // Twenty flows spread over both back ends.
    std::map<uint16_t, uint32_t> backendOf;
    for (uint16_t c = 1; c <= 20; ++c)
        inject(kExt, buildFrame(fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpSyn, c)));
    Sent sent = step(1);
    ASSERT_EQ(sent.in.size(), 20u);
    std::map<uint32_t, int> perBackend;
    for (uint16_t c = 1; c <= 20; ++c) {
        auto hit = dp_->connections().lookup({ip("198.18.0.10"), ip("198.18.0.100"), c, 80, kProtoTcp});
        ASSERT_TRUE(hit.conn);
        backendOf[c] = hit.conn->reverse.src;
        ++perBackend[hit.conn->reverse.src];
    }
    ASSERT_EQ(perBackend.size(), 2u);  // Maglev spread them

    config::Backend only{*Ipv4Address::parse("198.19.0.51"), 8080, 1};
    ASSERT_TRUE(dp_->setLiveBackends("web", {only}).ok());
    step(2);  // the ARP request for the remaining back end
    for (uint16_t c = 1; c <= 20; ++c)
        inject(kExt, buildFrame(fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpAck, c)));
    for (uint16_t c = 21; c <= 40; ++c)
        inject(kExt, buildFrame(fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpSyn, c)));
    Sent after = step(3);  // one pass takes one burst of 32 per port
    Sent rest = step(3);
    after.in.insert(after.in.end(), rest.in.begin(), rest.in.end());
    ASSERT_EQ(after.in.size(), 40u);
    for (const auto& f : after.in) {
        ParsedPacket p = parsePacket(f);
        auto hit = dp_->connections().lookup({p.dst, p.src, p.dstPort, p.srcPort, kProtoTcp});
        ASSERT_TRUE(hit.conn);
        uint16_t client = hit.conn->forward.srcPort;
        if (client <= 20) EXPECT_EQ(p.dst, backendOf[client]) << client;  // old flows untouched
        else EXPECT_EQ(p.dst, kBackends[0]) << client;                    // new ones avoid .52
    }
    EXPECT_FALSE(dp_->setLiveBackends("nope", {}).ok());
}

TEST_F(FastPath, ConnectionsListedForOperatorsWithFilterAndLimit) {
    resolveBackends();
    inject(kExt, buildFrame(fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpSyn, 40001)));  // fullnat
    inject(kExt, buildFrame(fromClient(ip("198.18.0.101"), 80, kProtoTcp, kTcpSyn, 40002)));  // dnat
    Sent sent = step(1);
    ASSERT_EQ(sent.in.size(), 2u);
    ParsedPacket fullnat = parsePacket(sent.in[0]);
    std::string all = management::toJson(dp_->connectionsReport(std::nullopt, 100)).dump();
    EXPECT_NE(all.find("\"total\":2,\"shown\":2"), std::string::npos) << all;
    EXPECT_NE(all.find("\"client\":\"198.18.0.10:40001\",\"vip\":\"198.18.0.100:80\",\"protocol\":\"tcp\","
                       "\"service\":\"web\""), std::string::npos) << all;
    // fullnat replies come to this node's NAT source and port; dnat ones to the client.
    EXPECT_NE(all.find("\"nat_source\":\"" + Ipv4Address{fullnat.src}.toString() + ":" +
                       std::to_string(fullnat.srcPort) + "\""), std::string::npos) << all;
    EXPECT_NE(all.find("\"service\":\"webd\",\"backend\":\""), std::string::npos) << all;
    EXPECT_NE(all.find("\"nat_source\":\"198.18.0.10:40002\",\"state\":\"syn_sent\""), std::string::npos) << all;
    std::string dnatOnly = management::toJson(dp_->connectionsReport(*Ipv4Address::parse("198.18.0.101"), 100)).dump();
    EXPECT_NE(dnatOnly.find("\"shown\":1"), std::string::npos) << dnatOnly;
    EXPECT_EQ(dnatOnly.find("40001"), std::string::npos) << dnatOnly;
    EXPECT_EQ(dp_->connectionsReport(std::nullopt, 1).rows.size(), 1u);
    std::string text = management::toText(dp_->connectionsReport(std::nullopt, 100));
    EXPECT_NE(text.find("198.18.0.10:40002"), std::string::npos) << text;
    EXPECT_NE(text.find("2 shown of 2 connections"), std::string::npos) << text;
}

TEST_F(FastPath, StatsReportCountersAsJsonAndText) {
    resolveBackends();
    inject(kExt, buildFrame(fromClient(ip("198.18.0.100"), 80, kProtoTcp, kTcpSyn)));
    step(1);
    std::string json = management::toJson(dp_->stats()).dump();
    EXPECT_NE(json.find("\"name\":\"web\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"new_flows\":1"), std::string::npos) << json;
    EXPECT_NE(json.find("\"active\":1"), std::string::npos) << json;
    std::string text = management::toText(dp_->stats());
    EXPECT_NE(text.find("connections 1 / 4096"), std::string::npos) << text;
}

}  // namespace
}  // namespace ringgate::dataplane

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new ringgate::dataplane::test::EalEnvironment({"-l", "0,1"}, 512));
    return RUN_ALL_TESTS();
}

namespace ringgate::dataplane {
namespace {

// A node that is not (yet) the owner of a VIP must not learn where a peer answers for it
// from the peer's gratuitous ARPs: its pre-claim probe would later read that entry as "in
// use" and refuse a hand-over. Only an answer to its own probe (to 0.0.0.0) counts.
TEST_F(FastPath, PeersAnnouncementsOfAVipAreNotLearnedButProbeAnswersAre) {
    ASSERT_TRUE(dp_->setOwnedVips({*Ipv4Address::parse("198.18.0.100"), *Ipv4Address::parse("198.19.0.100")}).ok());
    step(1);
    uint32_t vip = ip("198.18.0.101");
    inject(kExt, test::buildArp(MacAddress::broadcast(), {kArpRequest, mac(0x55), vip, {}, vip}));
    step(2);
    EXPECT_FALSE(dp_->neighbours().lookup(vip, 2)) << "a peer's gratuitous ARP was learned";
    inject(kExt, test::buildArp(portMac_[kExt], {kArpReply, mac(0x55), vip, portMac_[kExt], 0}));
    step(3);
    auto learned = dp_->neighbours().lookup(vip, 3);
    ASSERT_TRUE(learned) << "an answer to our probe must be learned";
    EXPECT_EQ(learned->mac, mac(0x55));
}

}  // namespace
}  // namespace ringgate::dataplane
