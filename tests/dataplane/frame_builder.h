// Builds test frames from a readable description and checks their checksums by full
// recomputation (independent of the incremental updates under test).
#pragma once

#include <cstdint>
#include <cstdio>
#include <vector>

#include "dataplane/packet.h"

namespace ringgate::dataplane::test {

inline uint32_t ip(const char* text) {
    uint32_t a, b, c, d;
    std::sscanf(text, "%u.%u.%u.%u", &a, &b, &c, &d);
    return a << 24 | b << 16 | c << 8 | d;
}

inline MacAddress mac(uint8_t last) { return {{0x02, 0, 0, 0, 0, last}}; }

struct FrameSpec {
    MacAddress srcMac = mac(1);
    MacAddress dstMac = mac(2);
    uint32_t src = 0;
    uint32_t dst = 0;
    uint8_t proto = kProtoTcp;
    uint16_t srcPort = 0;
    uint16_t dstPort = 0;
    uint8_t tcpFlags = kTcpAck;
    uint8_t ttl = 64;
    uint16_t fragment = 0;           // flags + offset field
    std::vector<uint8_t> ipOptions;  // multiple of 4 bytes
    std::vector<uint8_t> payload;
    bool udpZeroChecksum = false;
    uint8_t icmpType = kIcmpEchoRequest;
    uint8_t icmpCode = 0;
    uint32_t icmpRest = 0x12340001;  // echo id/sequence, or unused word of an error
};

inline uint32_t pseudoHeaderSum(uint32_t src, uint32_t dst, uint8_t proto, size_t l4Len) {
    uint8_t pseudo[12];
    store32(pseudo, src);
    store32(pseudo + 4, dst);
    pseudo[8] = 0;
    pseudo[9] = proto;
    store16(pseudo + 10, static_cast<uint16_t>(l4Len));
    return checksumPartial(ConstBytes(pseudo, sizeof pseudo));
}

// An IPv4 datagram without Ethernet header (also used as the quote inside ICMP errors).
inline std::vector<uint8_t> buildIpv4(const FrameSpec& s) {
    size_t headerLen = kIpv4MinHeaderLen + s.ipOptions.size();
    std::vector<uint8_t> l4;
    if (s.proto == kProtoTcp) {
        l4.resize(kTcpMinHeaderLen);
        store16(&l4[0], s.srcPort);
        store16(&l4[2], s.dstPort);
        store32(&l4[4], 1000);
        store32(&l4[8], 2000);
        l4[12] = 5 << 4;
        l4[13] = s.tcpFlags;
        store16(&l4[14], 65535);
    } else if (s.proto == kProtoUdp) {
        l4.resize(kUdpHeaderLen);
        store16(&l4[0], s.srcPort);
        store16(&l4[2], s.dstPort);
        store16(&l4[4], static_cast<uint16_t>(kUdpHeaderLen + s.payload.size()));
    } else if (s.proto == kProtoIcmp) {
        l4.resize(kIcmpHeaderLen);
        l4[0] = s.icmpType;
        l4[1] = s.icmpCode;
        store32(&l4[4], s.icmpRest);
    }
    l4.insert(l4.end(), s.payload.begin(), s.payload.end());
    if (s.proto == kProtoTcp || s.proto == kProtoUdp) {
        uint32_t sum = pseudoHeaderSum(s.src, s.dst, s.proto, l4.size());
        uint16_t check = static_cast<uint16_t>(~checksumFold(checksumPartial(l4, sum)));
        if (s.proto == kProtoUdp && check == 0) check = 0xffff;
        if (s.proto == kProtoUdp && s.udpZeroChecksum) check = 0;
        store16(&l4[s.proto == kProtoTcp ? 16 : 6], check);
    } else if (s.proto == kProtoIcmp) {
        store16(&l4[2], internetChecksum(l4));
    }
    std::vector<uint8_t> out(headerLen);
    out[0] = static_cast<uint8_t>(0x40 | headerLen / 4);
    store16(&out[2], static_cast<uint16_t>(headerLen + l4.size()));
    store16(&out[4], 0x1234);
    store16(&out[6], s.fragment);
    out[8] = s.ttl;
    out[9] = s.proto;
    store32(&out[12], s.src);
    store32(&out[16], s.dst);
    std::copy(s.ipOptions.begin(), s.ipOptions.end(), out.begin() + kIpv4MinHeaderLen);
    store16(&out[10], internetChecksum(out));
    out.insert(out.end(), l4.begin(), l4.end());
    return out;
}

inline std::vector<uint8_t> withEthernet(const MacAddress& dst, const MacAddress& src,
                                         uint16_t etherType, const std::vector<uint8_t>& body) {
    std::vector<uint8_t> frame(kEthHeaderLen);
    dst.store(&frame[0]);
    src.store(&frame[6]);
    store16(&frame[12], etherType);
    frame.insert(frame.end(), body.begin(), body.end());
    if (frame.size() < kMinFrameLen) frame.resize(kMinFrameLen, 0);
    return frame;
}

inline std::vector<uint8_t> buildFrame(const FrameSpec& s) {
    return withEthernet(s.dstMac, s.srcMac, kEtherTypeIpv4, buildIpv4(s));
}

// An ICMP error from `from` to `to` quoting `quoted` (its header and first 8 bytes).
inline std::vector<uint8_t> buildIcmpError(const FrameSpec& outer, const FrameSpec& quoted) {
    std::vector<uint8_t> inner = buildIpv4(quoted);
    size_t quoteLen = size_t{inner[0] & 0x0fu} * 4 + 8;
    inner.resize(quoteLen);
    FrameSpec s = outer;
    s.proto = kProtoIcmp;
    s.icmpRest = 0;
    s.payload = inner;
    return buildFrame(s);
}

inline std::vector<uint8_t> buildArp(const MacAddress& ethDst, const ArpFields& arp) {
    std::vector<uint8_t> frame(kMinFrameLen);
    writeArp(frame, ethDst, arp);
    return frame;
}

// Full recomputation of the IPv4 header checksum and the TCP/UDP/ICMP checksum.
inline bool checksumsValid(ConstBytes frame) {
    ParsedPacket p = parsePacket(frame);
    if (p.kind != PacketKind::Ipv4 || p.error != DropReason::None) return false;
    size_t headerLen = size_t{p.l4} - p.l3;
    if (checksumFold(checksumPartial(frame.subspan(p.l3, headerLen))) != 0xffff) return false;
    ConstBytes l4 = frame.subspan(p.l4, p.l4Len);
    if (p.proto == kProtoTcp || p.proto == kProtoUdp) {
        if (p.proto == kProtoUdp && load16(&l4[6]) == 0) return true;
        uint32_t sum = pseudoHeaderSum(p.src, p.dst, p.proto, l4.size());
        return checksumFold(checksumPartial(l4, sum)) == 0xffff;
    }
    if (p.proto == kProtoIcmp) return checksumFold(checksumPartial(l4)) == 0xffff;
    return true;
}

}  // namespace ringgate::dataplane::test
