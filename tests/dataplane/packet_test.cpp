#include "dataplane/packet.h"

#include <gtest/gtest.h>

#include "tests/dataplane/frame_builder.h"

namespace ringgate::dataplane {
namespace {

using test::buildFrame;
using test::checksumsValid;
using test::FrameSpec;
using test::ip;
using test::mac;

FrameSpec tcp(uint8_t flags = kTcpAck) {
    FrameSpec s;
    s.src = ip("198.18.0.10");
    s.dst = ip("198.18.0.100");
    s.srcPort = 40000;
    s.dstPort = 80;
    s.tcpFlags = flags;
    s.payload = {'G', 'E', 'T', ' ', '/'};
    return s;
}

TEST(ParsePacket, TcpFieldsAndOffsets) {
    auto frame = buildFrame(tcp(kTcpSyn));
    ParsedPacket p = parsePacket(frame);
    EXPECT_EQ(p.kind, PacketKind::Ipv4);
    EXPECT_EQ(p.error, DropReason::None);
    EXPECT_EQ(p.l4, 34);
    EXPECT_EQ(p.l4Len, 25);
    EXPECT_EQ(p.src, ip("198.18.0.10"));
    EXPECT_EQ(p.dst, ip("198.18.0.100"));
    EXPECT_EQ(p.srcPort, 40000);
    EXPECT_EQ(p.dstPort, 80);
    EXPECT_EQ(p.tcpFlags, kTcpSyn);
    EXPECT_EQ(p.ttl, 64);
}

TEST(ParsePacket, Ipv4OptionsMoveTheL4Header) {
    FrameSpec s = tcp();
    s.ipOptions = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};  // router alert, NOPs, EOL
    auto frame = buildFrame(s);
    ParsedPacket p = parsePacket(frame);
    ASSERT_EQ(p.error, DropReason::None);
    EXPECT_EQ(p.l4, 34 + 8);
    EXPECT_EQ(p.srcPort, 40000);
    EXPECT_EQ(p.dstPort, 80);
}

TEST(ParsePacket, MalformedAndTruncatedFramesNameTheirReason) {
    struct Case {
        const char* what;
        std::vector<uint8_t> frame;
        DropReason expected;
    };
    auto good = buildFrame(tcp());
    auto shortEth = std::vector<uint8_t>(good.begin(), good.begin() + 10);
    auto shortIp = std::vector<uint8_t>(good.begin(), good.begin() + 30);
    auto badVersion = good;
    badVersion[14] = 0x65;
    auto badIhl = good;
    badIhl[14] = 0x44;
    auto totalTooLong = good;
    store16(&totalTooLong[16], 1500);
    auto totalTooShort = good;
    store16(&totalTooShort[16], 10);
    auto badDataOffset = good;
    badDataOffset[34 + 12] = 0x20;
    auto dataOffsetPastEnd = good;
    dataOffsetPastEnd[34 + 12] = 0xf0;
    FrameSpec frag = tcp();
    frag.fragment = 0x2000;  // more fragments
    FrameSpec lastFrag = tcp();
    lastFrag.fragment = 0x0010;  // offset 128
    FrameSpec shortUdp;
    shortUdp.proto = kProtoUdp;
    auto udpFrame = buildFrame(shortUdp);
    store16(&udpFrame[14 + 2], 20 + 4);  // IP says only 4 bytes of UDP
    auto udpLenBad = buildFrame(shortUdp);
    store16(&udpLenBad[34 + 4], 4);
    auto shortArp = test::buildArp(MacAddress::broadcast(), {kArpRequest, mac(1), 1, {}, 2});
    shortArp.resize(30);
    auto badArp = test::buildArp(MacAddress::broadcast(), {kArpRequest, mac(1), 1, {}, 2});
    badArp[14 + 4] = 8;  // hardware address length

    std::vector<Case> cases = {
        {"shorter than Ethernet", shortEth, DropReason::Truncated},
        {"shorter than IPv4 header", shortIp, DropReason::Truncated},
        {"IP version 6 in an IPv4 frame", badVersion, DropReason::BadHeader},
        {"IHL below 5", badIhl, DropReason::BadHeader},
        {"total length past the frame", totalTooLong, DropReason::Truncated},
        {"total length below the header", totalTooShort, DropReason::BadHeader},
        {"TCP data offset below 5", badDataOffset, DropReason::BadHeader},
        {"TCP data offset past the datagram", dataOffsetPastEnd, DropReason::BadHeader},
        {"first fragment", buildFrame(frag), DropReason::Fragment},
        {"later fragment", buildFrame(lastFrag), DropReason::Fragment},
        {"UDP header cut by total length", udpFrame, DropReason::Truncated},
        {"UDP length below 8", udpLenBad, DropReason::BadHeader},
        {"ARP cut short", shortArp, DropReason::Truncated},
        {"ARP with 8-byte hardware addresses", badArp, DropReason::BadHeader},
    };
    for (const auto& c : cases) EXPECT_EQ(parsePacket(c.frame).error, c.expected) << c.what;
}

TEST(ParsePacket, EveryPrefixOfAFrameParsesWithoutReadingPastIt) {
    auto frame = buildFrame(tcp());
    for (size_t len = 0; len < frame.size(); ++len) {
        std::vector<uint8_t> prefix(frame.begin(), frame.begin() + static_cast<long>(len));
        ParsedPacket p = parsePacket(prefix);  // ASan/valgrind would catch an overread
        if (len < 14 + 20 + 25) {
            EXPECT_NE(p.error, DropReason::None) << len;
        }
    }
}

TEST(Checksum, KnownVector) {
    // RFC 1071 example words 0001 f203 f4f5 f6f7 sum to ddf2, checksum 220d.
    std::vector<uint8_t> data = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(internetChecksum(data), 0x220d);
}

TEST(Checksum, IncrementalUpdateMatchesRecomputationEverywhere) {
    // Sweep old/new values including the 0x0000/0xffff corner cases of RFC 1624.
    std::vector<uint16_t> values = {0x0000, 0x0001, 0x7fff, 0x8000, 0xfffe, 0xffff, 0x1234};
    for (uint16_t other : values) {
        for (uint16_t oldValue : values) {
            for (uint16_t newValue : values) {
                // All-zero data is the one input whose sum is +0; no IPv4 header or
                // pseudo-header can be all zero, so eqn. 3 need not reproduce it.
                if (other == 0 && newValue == 0) continue;
                std::vector<uint8_t> before = {0, 0, 0, 0, 0, 0};
                store16(&before[0], other);
                store16(&before[2], oldValue);
                uint16_t check = internetChecksum(before);
                std::vector<uint8_t> after = before;
                store16(&after[2], newValue);
                ChecksumDelta delta(check);
                delta.replace16(oldValue, newValue);
                store16(&after[4], delta.result());
                EXPECT_EQ(checksumFold(checksumPartial(after)), 0xffff)
                    << other << " " << oldValue << " " << newValue;
            }
        }
    }
}

TEST(RewriteFlow, TcpAndUdpChecksumsStayValid) {
    for (uint8_t proto : {kProtoTcp, kProtoUdp}) {
        FrameSpec s = tcp();
        s.proto = proto;
        s.ipOptions = {1, 1, 1, 0};
        auto frame = buildFrame(s);
        ASSERT_TRUE(checksumsValid(frame));
        ParsedPacket p = parsePacket(frame);
        rewriteFlow(frame, p, {ip("198.19.0.1"), ip("198.19.0.51"), 1025, 8080});
        ParsedPacket q = parsePacket(frame);
        EXPECT_TRUE(checksumsValid(frame)) << int(proto);
        EXPECT_EQ(q.src, ip("198.19.0.1"));
        EXPECT_EQ(q.dst, ip("198.19.0.51"));
        EXPECT_EQ(q.srcPort, 1025);
        EXPECT_EQ(q.dstPort, 8080);
        EXPECT_EQ(q.ttl, 63);
    }
}

TEST(RewriteFlow, UdpWithoutChecksumStaysWithout) {
    FrameSpec s = tcp();
    s.proto = kProtoUdp;
    s.udpZeroChecksum = true;
    auto frame = buildFrame(s);
    ParsedPacket p = parsePacket(frame);
    rewriteFlow(frame, p, {ip("198.19.0.1"), ip("198.19.0.51"), 1025, 8080});
    EXPECT_EQ(load16(&frame[34 + 6]), 0);
    EXPECT_TRUE(checksumsValid(frame));
}

TEST(RewriteFlow, UdpChecksumThatBecomesZeroIsSentAsAllOnes) {
    // Search a destination port for which the rewritten checksum computes to 0x0000.
    FrameSpec s = tcp();
    s.proto = kProtoUdp;
    bool found = false;
    for (uint32_t port = 1; port < 65536 && !found; ++port) {
        auto frame = buildFrame(s);
        ParsedPacket p = parsePacket(frame);
        FlowRewrite to{ip("198.19.0.1"), ip("198.19.0.51"), 1025, static_cast<uint16_t>(port)};
        rewriteFlow(frame, p, to);
        if (load16(&frame[34 + 6]) == 0xffff) {
            found = true;
            EXPECT_TRUE(checksumsValid(frame));
        } else {
            ASSERT_NE(load16(&frame[34 + 6]), 0) << port;
        }
    }
    EXPECT_TRUE(found);
}

TEST(ArpFrames, ReplyAnswersTheRequest) {
    ArpFields request{kArpRequest, mac(1), ip("198.18.0.10"), {}, ip("198.18.0.100")};
    auto frame = test::buildArp(MacAddress::broadcast(), request);
    ParsedPacket p = parsePacket(frame);
    ASSERT_EQ(p.kind, PacketKind::Arp);
    EXPECT_EQ(p.arpOp, kArpRequest);
    EXPECT_EQ(p.dst, ip("198.18.0.100"));
    std::vector<uint8_t> out(64);
    ASSERT_EQ(writeArpReply(out, readArp(frame, p), mac(9)), 60u);
    ParsedPacket r = parsePacket(out);
    ArpFields reply = readArp(out, r);
    EXPECT_EQ(reply.op, kArpReply);
    EXPECT_EQ(reply.senderMac, mac(9));
    EXPECT_EQ(reply.senderIp, ip("198.18.0.100"));
    EXPECT_EQ(reply.targetMac, mac(1));
    EXPECT_EQ(reply.targetIp, ip("198.18.0.10"));
    EXPECT_EQ(MacAddress::load(&out[0]), mac(1));
}

TEST(ArpFrames, GratuitousArpAnnouncesTheAddress) {
    std::vector<uint8_t> out(60);
    ASSERT_EQ(writeGratuitousArp(out, mac(9), ip("198.18.0.100")), 60u);
    ArpFields arp = readArp(out, parsePacket(out));
    EXPECT_EQ(MacAddress::load(&out[0]), MacAddress::broadcast());
    EXPECT_EQ(arp.senderIp, ip("198.18.0.100"));
    EXPECT_EQ(arp.targetIp, ip("198.18.0.100"));
    EXPECT_EQ(arp.senderMac, mac(9));
    std::vector<uint8_t> tooSmall(20);
    EXPECT_EQ(writeGratuitousArp(tooSmall, mac(9), 1), 0u);
}

TEST(IcmpEcho, ReplyIsValidAndSwapped) {
    FrameSpec s = tcp();
    s.proto = kProtoIcmp;
    s.ttl = 3;
    s.payload = {1, 2, 3, 4, 5, 6, 7};
    auto frame = buildFrame(s);
    ParsedPacket p = parsePacket(frame);
    makeIcmpEchoReply(frame, p);
    ParsedPacket q = parsePacket(frame);
    EXPECT_EQ(q.icmpType, kIcmpEchoReply);
    EXPECT_EQ(q.src, s.dst);
    EXPECT_EQ(q.dst, s.src);
    EXPECT_EQ(q.ttl, kDefaultTtl);
    EXPECT_EQ(MacAddress::load(&frame[0]), s.srcMac);
    EXPECT_TRUE(checksumsValid(frame));
}

TEST(IcmpError, QuotedFlowIsTranslated) {
    FrameSpec quoted;
    quoted.proto = kProtoUdp;
    quoted.src = ip("198.19.0.1");
    quoted.dst = ip("198.19.0.51");
    quoted.srcPort = 1025;
    quoted.dstPort = 53;
    quoted.payload = {1, 2, 3, 4};
    FrameSpec outer;
    outer.src = ip("198.19.0.51");
    outer.dst = ip("198.19.0.1");
    outer.icmpType = kIcmpDestUnreachable;
    outer.icmpCode = 3;
    auto frame = test::buildIcmpError(outer, quoted);
    ParsedPacket p = parsePacket(frame);
    ASSERT_EQ(p.error, DropReason::None);
    EXPECT_TRUE(isIcmpError(p.icmpType));
    auto q = parseQuotedFlow(frame, p);
    ASSERT_TRUE(q);
    EXPECT_EQ(q->src, quoted.src);
    EXPECT_EQ(q->dstPort, 53);
    FlowRewrite client{ip("198.18.0.100"), ip("198.18.0.10"), 53, 40000};
    rewriteIcmpError(frame, p, *q, client, ip("198.18.0.100"), ip("198.18.0.10"));
    EXPECT_TRUE(checksumsValid(frame));
    ParsedPacket after = parsePacket(frame);
    auto q2 = parseQuotedFlow(frame, after);
    ASSERT_TRUE(q2);
    EXPECT_EQ(q2->src, client.src);
    EXPECT_EQ(q2->dst, client.dst);
    EXPECT_EQ(q2->srcPort, 53);
    EXPECT_EQ(q2->dstPort, 40000);
    // The quoted IPv4 header's own checksum is valid again.
    EXPECT_EQ(checksumFold(checksumPartial(ConstBytes(frame).subspan(q2->l3, 20))), 0xffff);
    EXPECT_EQ(after.dst, ip("198.18.0.10"));
}

TEST(IcmpError, QuoteTooShortIsRefused) {
    FrameSpec outer;
    outer.icmpType = kIcmpDestUnreachable;
    outer.payload = {0x45, 0, 0, 20};
    auto frame = buildFrame(outer);
    EXPECT_FALSE(parseQuotedFlow(frame, parsePacket(frame)));
}

TEST(MacAddress, ParseAndPrint) {
    auto m = MacAddress::parse("02:aB:00:00:00:ff");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->toString(), "02:ab:00:00:00:ff");
    EXPECT_FALSE(MacAddress::parse("02:ab:00:00:00"));
    EXPECT_FALSE(MacAddress::parse("02:ab:00:00:00:fg"));
}

}  // namespace
}  // namespace ringgate::dataplane
