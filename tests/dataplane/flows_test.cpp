// Packet tests of flows across the cluster (docs/FLOWS.md) on node 1 of three: records
// out of the workers, packets of flows this node does not hold sent to their authority or
// handler, SYN-ACKs held until their record arrives (and dropped when it does not), and
// adopted flows translated exactly as their first handler did.
#include <gtest/gtest.h>

#include "common/rendezvous.h"
#include "tests/dataplane/eal_environment.h"
#include "tests/dataplane/ring_fastpath.h"

namespace ringgate::dataplane {
namespace {

using test::buildFrame;
using test::FrameSpec;
using test::ip;
using test::kBackendMac;
using test::kBackends;
using test::kClientRouter;
using test::kExt;
using test::kInt;
using test::mac;

const char* kConfig = R"(
cluster:
  name: flows
  config_version: 1
  nodes:
    - { id: 1, addresses: { external: 198.18.0.1, internal: 198.19.0.1 } }
    - { id: 2, addresses: { external: 198.18.0.2, internal: 198.19.0.2 } }
    - { id: 3, addresses: { external: 198.18.0.3, internal: 198.19.0.3 } }
subnets:
  - name: external
    prefix: 198.18.0.0/24
    vips:
      - { address: 198.18.0.100, preferred_host: 1 }
      - { address: 198.18.0.101, preferred_host: 1 }
  - name: internal
    prefix: 198.19.0.0/24
    vips:
      - { address: 198.19.0.100, preferred_host: 2 }
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

const uint32_t kClient = ip("198.18.0.10");
const uint32_t kDnatVip = ip("198.18.0.101");
const uint32_t kFullnatVip = ip("198.18.0.100");
const uint32_t kInternalVip = ip("198.19.0.100");
const MacAddress kPeerMac[4] = {{}, {}, mac(0xa2), mac(0xa3)};  // node 2 and 3, on either segment
constexpr uint32_t kHoldMs = 50;

class Flows : public test::RingFastPath {
protected:
    void SetUp() override {
        configText_ = kConfig;
        RingFastPath::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        ASSERT_TRUE(dp_->setMembers({1, 2, 3}).ok());
        // The peers' MACs on both segments, as ARP would have taught them.
        for (uint32_t node : {2u, 3u}) {
            dp_->neighbours().learn(ip(node == 2 ? "198.18.0.2" : "198.18.0.3"), kPeerMac[node], 1);
            dp_->neighbours().learn(ip(node == 2 ? "198.19.0.2" : "198.19.0.3"), kPeerMac[node], 1);
        }
        for (size_t b = 0; b < 3; ++b) dp_->neighbours().learn(kBackends[b], kBackendMac[b], 1);
        dp_->neighbours().learn(kClient, kClientRouter, 1);
        step(1);  // the start's ARP requests go out
    }
    void adjust(DataplaneOptions& options) override {
        options.flows = true;
        options.holdMs = kHoldMs;
        options.holdPackets = 4;
    }
    uint64_t flowCount(const char* name) { return report::find(dp_->flowCounts(), name).value_or(~uint64_t{0}); }
    std::vector<FlowMessage> messages() {
        std::vector<FlowMessage> out;
        dp_->takeFlowMessages(out, 1000);
        return out;
    }
    // A client port whose reply tuple (client endpoint, dnat) has `authority` first.
    // A client port whose reply tuple (client endpoint, dnat) has `authority` first; the
    // `skip`-th such port, so that cases never share a flow.
    uint16_t clientPortWithAuthority(uint32_t authority, unsigned skip = 0) {
        uint32_t members[] = {1, 2, 3};
        for (uint16_t port = 40000;; ++port)
            if (rendezvousPick(authorityKey(kClient, port, kProtoTcp), members).first == authority && skip-- == 0)
                return port;
    }
    // A dnat reply from back end 0 to the client, as it reaches this node.
    FrameSpec dnatReply(uint16_t clientPort, uint8_t flags) {
        FrameSpec s;
        s.srcMac = kBackendMac[0];
        s.dstMac = portMac_[kInt];
        s.src = kBackends[0];
        s.dst = kClient;
        s.srcPort = 8080;
        s.dstPort = clientPort;
        s.tcpFlags = flags;
        s.payload = {'o', 'k'};
        return s;
    }
    FlowMessage record(FlowMessageType type, uint16_t clientPort, uint16_t handler, bool fullnat = false,
                       uint16_t natPort = 0) {
        FlowMessage m;
        m.type = type;
        m.forward = {kClient, fullnat ? kFullnatVip : kDnatVip, clientPort, 80, kProtoTcp};
        m.reverse = fullnat ? FlowKey{kBackends[0], kInternalVip, 8080, natPort, kProtoTcp}
                            : FlowKey{kBackends[0], kClient, 8080, clientPort, kProtoTcp};
        m.clientMac = kClientRouter;
        m.backendMac = kBackendMac[0];
        m.handler = handler;
        m.state = static_cast<uint8_t>(FlowState::Established);
        m.fullnat = fullnat;
        return m;
    }
    // `frame` with only its Ethernet addresses changed.
    static std::vector<uint8_t> withMacs(std::vector<uint8_t> frame, MacAddress dst, MacAddress src) {
        dst.store(&frame[0]);
        src.store(&frame[6]);
        return frame;
    }
};

TEST_F(Flows, NewFlowsAndTheirEndBecomeRecords) {
    inject(kExt, buildFrame(fromClient(kDnatVip, 80, kProtoTcp, kTcpSyn, 41000)));
    ASSERT_EQ(step(10).in.size(), 1u);
    auto out = messages();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].type, FlowMessageType::Created);
    EXPECT_EQ(out[0].handler, 1);
    EXPECT_EQ(out[0].forward, (FlowKey{kClient, kDnatVip, 41000, 80, kProtoTcp}));
    EXPECT_EQ(out[0].reverse.dst, kClient);  // dnat: the back end replies to the client
    EXPECT_EQ(out[0].clientMac, kClientRouter);
    EXPECT_EQ(out[0].fullnat, 0);
    // Expired (SYN timeout 1 s in the fixture): an Ended record.
    sweep(5000);
    out = messages();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].type, FlowMessageType::Ended);
    EXPECT_EQ(out[0].forward, (FlowKey{kClient, kDnatVip, 41000, 80, kProtoTcp}));
}

TEST_F(Flows, FullnatSourceIsTheInternalVipEvenWhenAnotherNodeOwnsIt) {
    // Node 2 owns the internal VIP; the NAT source must outlive node 1.
    inject(kExt, buildFrame(fromClient(kFullnatVip, 80, kProtoTcp, kTcpSyn, 41001)));
    auto sent = step(10).in;
    ASSERT_EQ(sent.size(), 1u);
    ParsedPacket p = parsePacket(sent[0]);
    EXPECT_EQ(p.src, kInternalVip);
    PortBlock block = natPortBlock(config_.cluster, 1);
    EXPECT_GE(p.srcPort, block.first);
    EXPECT_LE(p.srcPort, block.last);
}

TEST_F(Flows, PacketsOfFlowsThisNodeDoesNotHold) {
    struct Case {
        const char* what;
        uint32_t authority;         // of the reply's tuple
        bool recordFirst;           // the record (handler 3) arrives before the packet
        uint32_t stepAt;            // when the packet is handled after the injection
        const char* outcome;        // "authority", "handler", "held", "held then handler", "expired"
    };
    std::vector<Case> cases = {
        {"reply, authority elsewhere: to the authority", 2, false, 10, "authority"},
        {"reply, record here: to its handler", 2, true, 10, "handler"},
        {"SYN-ACK before its record, we are the authority: held, released", 1, false, 10, "held then handler"},
        {"SYN-ACK whose record never comes: dropped after hold_ms", 1, false, 10, "expired"},
    };
    uint32_t now = 100;
    for (const Case& c : cases) {
        now += 1000;
        uint16_t clientPort = clientPortWithAuthority(c.authority, static_cast<unsigned>(&c - cases.data()));
        if (c.recordFirst) {
            ASSERT_TRUE(dp_->putFlowMessage(record(FlowMessageType::InstallRemote, clientPort, 3)));
            step(now);
        }
        std::vector<uint8_t> frame = buildFrame(dnatReply(clientPort, kTcpSyn | kTcpAck));
        inject(kInt, frame);
        auto sent = step(now).in;
        std::string outcome = c.outcome;
        if (outcome == "authority" || outcome == "handler") {
            uint32_t to = outcome == "authority" ? c.authority : 3;
            ASSERT_EQ(sent.size(), 1u) << c.what;
            EXPECT_EQ(sent[0], withMacs(frame, kPeerMac[to], portMac_[kInt])) << c.what << ": unchanged above L2";
            continue;
        }
        EXPECT_TRUE(sent.empty()) << c.what;
        if (outcome == "held then handler") {
            ASSERT_TRUE(dp_->putFlowMessage(record(FlowMessageType::InstallRemote, clientPort, 3)));
            sent = step(now + 5).in;
            ASSERT_EQ(sent.size(), 1u) << c.what;
            EXPECT_EQ(sent[0], withMacs(frame, kPeerMac[3], portMac_[kInt])) << c.what;
        } else {
            uint64_t before = drops(kInt, DropReason::HoldExpired);
            EXPECT_TRUE(step(now + kHoldMs - 1).in.empty()) << c.what;
            EXPECT_EQ(drops(kInt, DropReason::HoldExpired), before) << c.what;
            EXPECT_TRUE(step(now + kHoldMs + 1).in.empty()) << c.what;
            EXPECT_EQ(drops(kInt, DropReason::HoldExpired), before + 1) << c.what;
        }
    }
    EXPECT_EQ(flowCount("to_authority"), 1u);
    EXPECT_EQ(flowCount("to_handler"), 2u);
    EXPECT_EQ(flowCount("held"), 2u);
    EXPECT_EQ(flowCount("released"), 1u);
    EXPECT_EQ(flowCount("hold_expired"), 1u);
    // The packet sent to the authority also asked it where the flow lives.
    bool asked = false;
    for (const FlowMessage& m : messages()) asked |= m.type == FlowMessageType::Ask;
    EXPECT_TRUE(asked);
}

// The internal VIP's owner is the default reply node of every fullnat flow: a reply to
// it on another node's NAT port is no service of its own but a flow to route.
TEST_F(Flows, FullnatReplyAtTheInternalVipsOwnerGoesToTheAuthority) {
    ASSERT_TRUE(dp_->setOwnedVips({Ipv4Address{kFullnatVip}, Ipv4Address{kDnatVip}, Ipv4Address{kInternalVip}}).ok());
    step(5);
    PortBlock node3 = natPortBlock(config_.cluster, 3);
    uint32_t members[] = {1, 2, 3};
    uint16_t natPort = node3.first;
    while (rendezvousPick(authorityKey(kInternalVip, natPort, kProtoTcp), members).first != 2) ++natPort;
    FrameSpec reply = dnatReply(0, kTcpSyn | kTcpAck);
    reply.dst = kInternalVip;
    reply.dstPort = natPort;
    std::vector<uint8_t> frame = buildFrame(reply);
    inject(kInt, frame);
    auto sent = step(10).in;
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0], withMacs(frame, kPeerMac[2], portMac_[kInt]));
    EXPECT_EQ(drops(kInt, DropReason::NoService), 0u);
    EXPECT_EQ(flowCount("to_authority"), 1u);
}

TEST_F(Flows, HoldBufferIsBounded) {
    uint16_t clientPort = clientPortWithAuthority(1);
    for (unsigned i = 0; i < 6; ++i) inject(kInt, buildFrame(dnatReply(clientPort, kTcpSyn | kTcpAck)));
    EXPECT_TRUE(step(10).in.empty());
    EXPECT_EQ(flowCount("held"), 4u);  // holdPackets
    EXPECT_EQ(drops(kInt, DropReason::HoldFull), 2u);
}

TEST_F(Flows, ClientPacketsOfAMovedFlowGoToItsHandlerAndADeadHandlersAreHeld) {
    ASSERT_TRUE(dp_->putFlowMessage(record(FlowMessageType::InstallRemote, 42000, 3)));
    step(10);
    std::vector<uint8_t> frame = buildFrame(fromClient(kDnatVip, 80, kProtoTcp, kTcpAck, 42000));
    inject(kExt, frame);
    auto sent = step(11).ext;
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0], withMacs(frame, kPeerMac[3], portMac_[kExt]));
    // Node 3 dies: its flows wait for their adopter instead of going nowhere.
    ASSERT_TRUE(dp_->setMembers({1, 2}).ok());
    step(12);  // ARP requests for the members' addresses
    inject(kExt, frame);
    EXPECT_TRUE(step(12).ext.empty());
    EXPECT_EQ(flowCount("held"), 1u);
}

// A VIP just taken over holds mid-stream segments of flows it does not know (their records
// are on the way) until the cluster plane says the VIP settled; after that such a segment
// is a new flow, counted as a flow the cluster did not save. A SYN is never held or counted.
TEST_F(Flows, ATakenOverVipHoldsUnknownSegmentsUntilItSettles) {
    ASSERT_TRUE(dp_->holdUnknownFlows(Ipv4Address{kDnatVip}, 60'000).ok());
    step(10);
    inject(kExt, buildFrame(fromClient(kDnatVip, 80, kProtoTcp, kTcpAck, 43000)));
    EXPECT_TRUE(step(11).in.empty());
    EXPECT_EQ(flowCount("held"), 1u);
    inject(kExt, buildFrame(fromClient(kDnatVip, 80, kProtoTcp, kTcpSyn, 43001)));
    EXPECT_EQ(step(12).in.size(), 1u);  // a new connection is not held
    // Settled. (The hold's end is on the dataplane's clock, which the fixture's `now`
    // values are far behind: a `now` past it.)
    ASSERT_TRUE(dp_->holdUnknownFlows(Ipv4Address{kDnatVip}, 0).ok());
    inject(kExt, buildFrame(fromClient(kDnatVip, 80, kProtoTcp, kTcpAck, 43002)));
    EXPECT_EQ(step(5'000).in.size(), 1u);
    EXPECT_EQ(flowCount("unsaved"), 1u);
}

// The adopter translates exactly as the dead handler did: same back end, same NAT source
// and port (the back end notices nothing), both directions, dnat and fullnat.
TEST_F(Flows, AdoptedFlowsKeepTheirTranslation) {
    struct Case {
        const char* what;
        bool fullnat;
    };
    PortBlock node3 = natPortBlock(config_.cluster, 3);
    uint16_t natPort = static_cast<uint16_t>(node3.first + 7);  // another node's block
    for (const Case& c : std::vector<Case>{{"dnat", false}, {"fullnat", true}}) {
        uint16_t clientPort = c.fullnat ? 43001 : 43000;
        FlowMessage adopted = record(FlowMessageType::Adopt, clientPort, 1, c.fullnat, natPort);
        ASSERT_TRUE(dp_->putFlowMessage(adopted));
        step(20);
        // Client -> back end.
        FrameSpec in = fromClient(c.fullnat ? kFullnatVip : kDnatVip, 80, kProtoTcp, kTcpAck, clientPort);
        inject(kExt, buildFrame(in));
        auto sent = step(21).in;
        ASSERT_EQ(sent.size(), 1u) << c.what;
        FrameSpec expected = in;
        expected.srcMac = portMac_[kInt];
        expected.dstMac = kBackendMac[0];
        expected.src = c.fullnat ? kInternalVip : kClient;
        expected.srcPort = c.fullnat ? natPort : clientPort;
        expected.dst = kBackends[0];
        expected.dstPort = 8080;
        expected.ttl = in.ttl - 1;
        EXPECT_EQ(sent[0], buildFrame(expected)) << c.what;
        // Back end -> client.
        FrameSpec reply = dnatReply(clientPort, kTcpAck);
        if (c.fullnat) {
            reply.dst = kInternalVip;
            reply.dstPort = natPort;
        }
        inject(kInt, buildFrame(reply));
        auto back = step(22).ext;
        ASSERT_EQ(back.size(), 1u) << c.what;
        FrameSpec expectedBack = reply;
        expectedBack.srcMac = portMac_[kExt];
        expectedBack.dstMac = kClientRouter;
        expectedBack.src = c.fullnat ? kFullnatVip : kDnatVip;
        expectedBack.srcPort = 80;
        expectedBack.dst = kClient;
        expectedBack.dstPort = clientPort;
        expectedBack.ttl = reply.ttl - 1;
        EXPECT_EQ(back[0], buildFrame(expectedBack)) << c.what;
    }
    EXPECT_EQ(flowCount("adopted"), 2u);
}

}  // namespace
}  // namespace ringgate::dataplane

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new ringgate::dataplane::test::EalEnvironment({"-l", "0,1"}, 512));
    return RUN_ALL_TESTS();
}
