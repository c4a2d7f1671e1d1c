#include "dataplane/packet.h"

#include <cstdio>
#include <cstring>

namespace ringgate::dataplane {

namespace {
constexpr uint16_t kIpMoreFragments = 0x2000;
constexpr uint16_t kIpOffsetMask = 0x1fff;

constexpr size_t kUdpChecksum = 6;
constexpr size_t kIcmpChecksum = 2;

void parseArp(ConstBytes frame, ParsedPacket& p) {
    p.kind = PacketKind::Arp;
    if (frame.size() < kEthHeaderLen + kArpLen) {
        p.error = DropReason::Truncated;
        return;
    }
    const uint8_t* a = frame.data() + p.l3;
    if (load16(a) != 1 || load16(a + 2) != kEtherTypeIpv4 || a[4] != 6 || a[5] != 4) {
        p.error = DropReason::BadHeader;
        return;
    }
    p.arpOp = load16(a + 6);
    p.src = load32(a + 14);
    p.dst = load32(a + 24);
    return;
}

void parseIpv4(ConstBytes frame, ParsedPacket& p) {
    p.kind = PacketKind::Ipv4;
    if (frame.size() < kEthHeaderLen + kIpv4MinHeaderLen) {
        p.error = DropReason::Truncated;
        return;
    }
    const uint8_t* ip = frame.data() + p.l3;
    size_t headerLen = size_t{ip[0] & 0x0fu} * 4;
    if (ip[0] >> 4 != 4 || headerLen < kIpv4MinHeaderLen) {
        p.error = DropReason::BadHeader;
        return;
    }
    size_t available = frame.size() - p.l3;
    size_t totalLen = load16(ip + kIpTotalLen);
    if (totalLen < headerLen) {
        p.error = DropReason::BadHeader;
        return;
    }
    if (headerLen > available || totalLen > available) {
        p.error = DropReason::Truncated;
        return;
    }
    p.proto = ip[kIpProto];
    p.ttl = ip[kIpTtl];
    p.src = load32(ip + kIpSrc);
    p.dst = load32(ip + kIpDst);
    p.l4 = static_cast<uint16_t>(p.l3 + headerLen);
    p.l4Len = static_cast<uint16_t>(totalLen - headerLen);
    uint16_t fragment = load16(ip + kIpFragment);
    if ((fragment & kIpMoreFragments) || (fragment & kIpOffsetMask)) {
        p.error = DropReason::Fragment;
        return;
    }
    const uint8_t* l4 = frame.data() + p.l4;
    switch (p.proto) {
        case kProtoTcp: {
            if (p.l4Len < kTcpMinHeaderLen) {
                p.error = DropReason::Truncated;
                return;
            }
            size_t dataOffset = static_cast<size_t>(l4[12] >> 4) * 4;
            if (dataOffset < kTcpMinHeaderLen || dataOffset > p.l4Len) {
                p.error = DropReason::BadHeader;
                return;
            }
            p.srcPort = load16(l4);
            p.dstPort = load16(l4 + 2);
            p.tcpFlags = l4[13];
            break;
        }
        case kProtoUdp:
            if (p.l4Len < kUdpHeaderLen) {
                p.error = DropReason::Truncated;
                return;
            }
            if (load16(l4 + 4) < kUdpHeaderLen || load16(l4 + 4) > p.l4Len) {
                p.error = DropReason::BadHeader;
                return;
            }
            p.srcPort = load16(l4);
            p.dstPort = load16(l4 + 2);
            break;
        case kProtoIcmp:
            if (p.l4Len < kIcmpHeaderLen) {
                p.error = DropReason::Truncated;
                return;
            }
            p.icmpType = l4[0];
            p.icmpCode = l4[1];
            break;
        default:
            break;
    }
    return;
}

}  // namespace

std::optional<MacAddress> MacAddress::parse(std::string_view text) {
    if (text.size() != 17) return std::nullopt;
    MacAddress mac;
    for (size_t i = 0; i < 6; ++i) {
        if (i > 0 && text[i * 3 - 1] != ':') return std::nullopt;
        unsigned value = 0;
        for (size_t j = 0; j < 2; ++j) {
            char c = text[i * 3 + j];
            unsigned digit;
            if (c >= '0' && c <= '9') digit = static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f') digit = static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') digit = static_cast<unsigned>(c - 'A' + 10);
            else return std::nullopt;
            value = value * 16 + digit;
        }
        mac.bytes[i] = static_cast<uint8_t>(value);
    }
    return mac;
}

std::string MacAddress::toString() const {
    char text[18];
    std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1],
                  bytes[2], bytes[3], bytes[4], bytes[5]);
    return text;
}

void parsePacket(ConstBytes frame, ParsedPacket& p) {
    // Field by field: `p = ParsedPacket{}` went through a stack temporary and a wide copy
    // that stalled on its own narrow stores.
    p.kind = PacketKind::Other;
    p.error = DropReason::None;
    p.l3 = kEthHeaderLen;
    p.l4 = p.l4Len = 0;
    p.proto = p.ttl = p.tcpFlags = p.icmpType = p.icmpCode = 0;
    p.src = p.dst = 0;
    p.srcPort = p.dstPort = p.arpOp = 0;
    if (frame.size() < kEthHeaderLen) {
        p.error = DropReason::Truncated;
        return;
    }
    switch (load16(frame.data() + 12)) {
        case kEtherTypeArp: parseArp(frame, p); break;
        case kEtherTypeIpv4: parseIpv4(frame, p); break;
        default: break;
    }
}

bool isIcmpError(uint8_t type) {
    return type == kIcmpDestUnreachable || type == kIcmpSourceQuench ||
           type == kIcmpTimeExceeded || type == kIcmpParameterProblem;
}

uint32_t checksumPartial(ConstBytes data, uint32_t sum) {
    size_t i = 0;
    uint64_t wide = sum;
    for (; i + 1 < data.size(); i += 2) wide += load16(data.data() + i);
    if (i < data.size()) wide += uint32_t{data[i]} << 8;
    while (wide >> 32) wide = (wide & 0xffffffffu) + (wide >> 32);
    return checksumFold(static_cast<uint32_t>(wide)) ;
}

ArpFields readArp(ConstBytes frame, const ParsedPacket& packet) {
    const uint8_t* a = frame.data() + packet.l3;
    ArpFields arp;
    arp.op = load16(a + 6);
    arp.senderMac = MacAddress::load(a + 8);
    arp.senderIp = load32(a + 14);
    arp.targetMac = MacAddress::load(a + 18);
    arp.targetIp = load32(a + 24);
    return arp;
}

size_t writeArp(Bytes out, const MacAddress& ethDst, const ArpFields& arp) {
    if (out.size() < kMinFrameLen) return 0;
    std::memset(out.data(), 0, kMinFrameLen);
    uint8_t* p = out.data();
    ethDst.store(p);
    arp.senderMac.store(p + 6);
    store16(p + 12, kEtherTypeArp);
    uint8_t* a = p + kEthHeaderLen;
    store16(a, 1);
    store16(a + 2, kEtherTypeIpv4);
    a[4] = 6;
    a[5] = 4;
    store16(a + 6, arp.op);
    arp.senderMac.store(a + 8);
    store32(a + 14, arp.senderIp);
    arp.targetMac.store(a + 18);
    store32(a + 24, arp.targetIp);
    return kMinFrameLen;
}

size_t writeArpReply(Bytes out, const ArpFields& request, const MacAddress& ourMac) {
    ArpFields reply{kArpReply, ourMac, request.targetIp, request.senderMac, request.senderIp};
    return writeArp(out, request.senderMac, reply);
}

size_t writeArpRequest(Bytes out, const MacAddress& ourMac, uint32_t ourIp, uint32_t targetIp) {
    ArpFields request{kArpRequest, ourMac, ourIp, MacAddress{}, targetIp};
    return writeArp(out, MacAddress::broadcast(), request);
}

size_t writeGratuitousArp(Bytes out, const MacAddress& ourMac, uint32_t ip) {
    ArpFields announce{kArpRequest, ourMac, ip, MacAddress{}, ip};
    return writeArp(out, MacAddress::broadcast(), announce);
}

void makeIcmpEchoReply(Bytes frame, const ParsedPacket& packet) {
    uint8_t* p = frame.data();
    MacAddress dst = MacAddress::load(p);
    MacAddress src = MacAddress::load(p + 6);
    setEthernet(frame, src, dst);

    uint8_t* ip = p + packet.l3;
    // Swapping source and destination leaves the IPv4 sum unchanged; the TTL does not.
    store32(ip + kIpSrc, packet.dst);
    store32(ip + kIpDst, packet.src);
    uint16_t oldTtlWord = load16(ip + kIpTtl);
    uint16_t newTtlWord = static_cast<uint16_t>(kDefaultTtl << 8 | (oldTtlWord & 0xff));
    ChecksumDelta ipSum(load16(ip + kIpChecksum));
    ipSum.replace16(oldTtlWord, newTtlWord);
    store16(ip + kIpTtl, newTtlWord);
    store16(ip + kIpChecksum, ipSum.result());

    uint8_t* icmp = p + packet.l4;
    uint16_t oldTypeWord = load16(icmp);
    uint16_t newTypeWord = static_cast<uint16_t>(kIcmpEchoReply << 8 | icmp[1]);
    ChecksumDelta icmpSum(load16(icmp + kIcmpChecksum));
    icmpSum.replace16(oldTypeWord, newTypeWord);
    store16(icmp, newTypeWord);
    store16(icmp + kIcmpChecksum, icmpSum.result());
}

std::optional<QuotedFlow> parseQuotedFlow(ConstBytes frame, const ParsedPacket& packet) {
    size_t quotedAt = size_t{packet.l4} + kIcmpHeaderLen;
    size_t end = size_t{packet.l4} + packet.l4Len;
    if (end < quotedAt + kIpv4MinHeaderLen) return std::nullopt;
    const uint8_t* ip = frame.data() + quotedAt;
    size_t headerLen = size_t{ip[0] & 0x0fu} * 4;
    if (ip[0] >> 4 != 4 || headerLen < kIpv4MinHeaderLen) return std::nullopt;
    // RFC 792 quotes the header and 64 bits of the datagram: enough for both ports.
    if (end < quotedAt + headerLen + 8) return std::nullopt;
    QuotedFlow quoted;
    quoted.l3 = static_cast<uint16_t>(quotedAt);
    quoted.l4 = static_cast<uint16_t>(quotedAt + headerLen);
    quoted.proto = ip[kIpProto];
    if (quoted.proto != kProtoTcp && quoted.proto != kProtoUdp) return std::nullopt;
    quoted.src = load32(ip + kIpSrc);
    quoted.dst = load32(ip + kIpDst);
    quoted.srcPort = load16(frame.data() + quoted.l4);
    quoted.dstPort = load16(frame.data() + quoted.l4 + 2);
    return quoted;
}

void rewriteIcmpError(Bytes frame, const ParsedPacket& packet, const QuotedFlow& quoted,
                      const FlowRewrite& newQuoted, uint32_t outerSrc, uint32_t outerDst) {
    uint8_t* p = frame.data();
    uint8_t* qip = p + quoted.l3;
    uint8_t* ql4 = p + quoted.l4;
    // The quoted UDP checksum is inside the 8 quoted bytes: keep it consistent. The quoted
    // TCP checksum is not (offset 16), so there is nothing to patch there.
    size_t end = size_t{packet.l4} + packet.l4Len;
    if (quoted.proto == kProtoUdp && quoted.l4 + 8u <= end && load16(ql4 + kUdpChecksum) != 0) {
        ChecksumDelta udpSum(load16(ql4 + kUdpChecksum));
        udpSum.replace32(quoted.src, newQuoted.src);
        udpSum.replace32(quoted.dst, newQuoted.dst);
        udpSum.replace16(quoted.srcPort, newQuoted.srcPort);
        udpSum.replace16(quoted.dstPort, newQuoted.dstPort);
        uint16_t result = udpSum.result();
        store16(ql4 + kUdpChecksum, result == 0 ? 0xffff : result);
    }
    store16(ql4, newQuoted.srcPort);
    store16(ql4 + 2, newQuoted.dstPort);
    store32(qip + kIpSrc, newQuoted.src);
    store32(qip + kIpDst, newQuoted.dst);
    size_t quotedHeaderLen = size_t{quoted.l4} - quoted.l3;
    store16(qip + kIpChecksum, 0);
    store16(qip + kIpChecksum, internetChecksum(ConstBytes(qip, quotedHeaderLen)));

    uint8_t* icmp = p + packet.l4;
    store16(icmp + kIcmpChecksum, 0);
    store16(icmp + kIcmpChecksum, internetChecksum(ConstBytes(icmp, packet.l4Len)));

    // The outer header: new addresses, TTL decremented like any forwarded packet.
    forwardIpv4Header(p + packet.l3, packet.src, packet.dst, outerSrc, outerDst);
}

}  // namespace ringgate::dataplane
