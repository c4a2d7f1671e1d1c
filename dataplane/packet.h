// Packet parsing and rewriting as plain functions over bytes: no EAL, no mbufs, so every
// rule here is unit-tested on crafted frames. The worker calls these on mbuf data.
//
// Conventions: addresses and ports are host byte order in every struct and argument;
// the functions convert at the byte boundary. Checksums are updated incrementally
// (RFC 1624) so that forwarding never re-reads the payload.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dataplane/drop_reason.h"

namespace ringgate::dataplane {

using Bytes = std::span<uint8_t>;
using ConstBytes = std::span<const uint8_t>;

// Big-endian loads and stores of unaligned fields: one load or store plus a byte swap
// (byte-wise shifts and ors were a measurable share of the per-packet cost).
inline uint16_t load16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, sizeof v);
    return __builtin_bswap16(v);
}
inline uint32_t load32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return __builtin_bswap32(v);
}
inline void store16(uint8_t* p, uint16_t v) {
    v = __builtin_bswap16(v);
    std::memcpy(p, &v, sizeof v);
}
inline void store32(uint8_t* p, uint32_t v) {
    v = __builtin_bswap32(v);
    std::memcpy(p, &v, sizeof v);
}

struct MacAddress {
    std::array<uint8_t, 6> bytes{};

    static std::optional<MacAddress> parse(std::string_view text);  // "02:00:00:00:00:01"
    static MacAddress broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
    static MacAddress load(const uint8_t* p) {
        MacAddress mac;
        std::memcpy(mac.bytes.data(), p, 6);
        return mac;
    }
    void store(uint8_t* p) const { std::memcpy(p, bytes.data(), 6); }
    bool isZero() const { return bytes == std::array<uint8_t, 6>{}; }
    std::string toString() const;
    auto operator<=>(const MacAddress&) const = default;
};

constexpr size_t kEthHeaderLen = 14;
constexpr size_t kArpLen = 28;
constexpr size_t kIpv4MinHeaderLen = 20;
constexpr size_t kTcpMinHeaderLen = 20;
constexpr size_t kUdpHeaderLen = 8;
constexpr size_t kIcmpHeaderLen = 8;
constexpr size_t kMinFrameLen = 60;  // Ethernet minimum without FCS; short frames are padded

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;

constexpr uint16_t kArpRequest = 1;
constexpr uint16_t kArpReply = 2;

constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpDestUnreachable = 3;
constexpr uint8_t kIcmpSourceQuench = 4;
constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint8_t kIcmpTimeExceeded = 11;
constexpr uint8_t kIcmpParameterProblem = 12;

constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpSyn = 0x02;
constexpr uint8_t kTcpRst = 0x04;
constexpr uint8_t kTcpAck = 0x10;

constexpr uint8_t kDefaultTtl = 64;

enum class PacketKind : uint8_t { Other, Arp, Ipv4 };

// Offsets into the frame and the header fields the fast path decides on.
struct ParsedPacket {
    PacketKind kind = PacketKind::Other;
    DropReason error = DropReason::None;  // set when the frame is malformed
    uint16_t l3 = kEthHeaderLen;          // offset of the ARP or IPv4 header
    uint16_t l4 = 0;                      // offset of the TCP/UDP/ICMP header
    uint16_t l4Len = 0;                   // bytes from l4 to the end of the IPv4 datagram
    uint8_t proto = 0;
    uint8_t ttl = 0;
    uint8_t tcpFlags = 0;
    uint8_t icmpType = 0;
    uint8_t icmpCode = 0;
    uint32_t src = 0;  // IPv4 addresses, or ARP sender/target protocol addresses
    uint32_t dst = 0;
    uint16_t srcPort = 0;
    uint16_t dstPort = 0;
    uint16_t arpOp = 0;
};

// Classifies a frame and checks every length it relies on; never reads past `frame`.
// Fragments are reported as DropReason::Fragment (the fast path does not reassemble).
// The worker parses into its burst array in place: returning the struct by value made the
// copy read fields just written byte by byte (a store-forwarding stall on every packet).
void parsePacket(ConstBytes frame, ParsedPacket& out);
inline ParsedPacket parsePacket(ConstBytes frame) {
    ParsedPacket p;
    parsePacket(frame, p);
    return p;
}

bool isIcmpError(uint8_t type);

// ---- Internet checksum --------------------------------------------------------------
// Sum of 16-bit big-endian words, not yet folded or inverted.
uint32_t checksumPartial(ConstBytes data, uint32_t sum = 0);
inline uint16_t checksumFold(uint32_t sum) {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}
// The value to store in a checksum field covering `data`.
inline uint16_t internetChecksum(ConstBytes data) {
    return static_cast<uint16_t>(~checksumFold(checksumPartial(data)));
}

// RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), accumulated: start from the stored checksum,
// add each changed 16-bit word, read the new checksum. Never yields the -0 ambiguity
// that eqn. 2 has.
class ChecksumDelta {
public:
    explicit ChecksumDelta(uint16_t stored) : sum_(static_cast<uint16_t>(~stored)) {}
    void replace16(uint16_t oldValue, uint16_t newValue) {
        sum_ += static_cast<uint16_t>(~oldValue);
        sum_ += newValue;
    }
    void replace32(uint32_t oldValue, uint32_t newValue) {
        replace16(static_cast<uint16_t>(oldValue >> 16), static_cast<uint16_t>(newValue >> 16));
        replace16(static_cast<uint16_t>(oldValue), static_cast<uint16_t>(newValue));
    }
    uint16_t result() const { return static_cast<uint16_t>(~checksumFold(sum_)); }

private:
    uint32_t sum_;
};

// ---- Rewriting ----------------------------------------------------------------------
// The new addresses and ports of a translated TCP/UDP packet.
struct FlowRewrite {
    uint32_t src = 0;
    uint32_t dst = 0;
    uint16_t srcPort = 0;
    uint16_t dstPort = 0;
};

// IPv4 header field offsets.
constexpr size_t kIpTotalLen = 2;
constexpr size_t kIpFragment = 6;
constexpr size_t kIpTtl = 8;
constexpr size_t kIpProto = 9;
constexpr size_t kIpChecksum = 10;
constexpr size_t kIpSrc = 12;
constexpr size_t kIpDst = 16;
constexpr size_t kTcpChecksum = 16;

// New addresses and TTL one lower in a forwarded IPv4 header, checksum updated incrementally.
inline void forwardIpv4Header(uint8_t* ip, uint32_t oldSrc, uint32_t oldDst, uint32_t newSrc,
                              uint32_t newDst) {
    ChecksumDelta sum(load16(ip + kIpChecksum));
    sum.replace32(oldSrc, newSrc);
    sum.replace32(oldDst, newDst);
    uint16_t oldTtlWord = load16(ip + kIpTtl);
    uint16_t newTtlWord = static_cast<uint16_t>(oldTtlWord - 0x0100);
    sum.replace16(oldTtlWord, newTtlWord);
    store16(ip + kIpTtl, newTtlWord);
    store32(ip + kIpSrc, newSrc);
    store32(ip + kIpDst, newDst);
    store16(ip + kIpChecksum, sum.result());
}

// Rewrites IPv4 addresses, L4 ports and TTL (decremented by one) with incremental
// checksum updates of the IPv4 header and the TCP/UDP checksum (pseudo-header included).
// A UDP checksum of zero means "none" and stays zero. The caller checked ttl > 1.
// Inline: it is the per-packet work of every established flow.
inline void rewriteFlow(Bytes frame, const ParsedPacket& packet, const FlowRewrite& to) {
    uint8_t* l4 = frame.data() + packet.l4;
    forwardIpv4Header(frame.data() + packet.l3, packet.src, packet.dst, to.src, to.dst);
    size_t checksumAt = packet.proto == kProtoTcp ? kTcpChecksum : packet.proto == kProtoUdp ? 6 : 0;
    if (checksumAt == 0) return;
    uint16_t stored = load16(l4 + checksumAt);
    store16(l4, to.srcPort);
    store16(l4 + 2, to.dstPort);
    if (packet.proto == kProtoUdp && stored == 0) return;  // "no checksum" stays so
    ChecksumDelta l4Sum(stored);
    l4Sum.replace32(packet.src, to.src);
    l4Sum.replace32(packet.dst, to.dst);
    l4Sum.replace16(packet.srcPort, to.srcPort);
    l4Sum.replace16(packet.dstPort, to.dstPort);
    uint16_t result = l4Sum.result();
    // A computed UDP checksum of zero is sent as all ones (RFC 768).
    if (packet.proto == kProtoUdp && result == 0) result = 0xffff;
    store16(l4 + checksumAt, result);
}

inline void setEthernet(Bytes frame, const MacAddress& dst, const MacAddress& src) {
    dst.store(frame.data());
    src.store(frame.data() + 6);
}

// ---- ARP and ICMP answers -------------------------------------------------------------
struct ArpFields {
    uint16_t op = 0;
    MacAddress senderMac;
    uint32_t senderIp = 0;
    MacAddress targetMac;
    uint32_t targetIp = 0;
};
ArpFields readArp(ConstBytes frame, const ParsedPacket& packet);

// Writes a complete ARP frame (padded to 60 bytes) into `out`; returns its length,
// or 0 when `out` is too small.
size_t writeArp(Bytes out, const MacAddress& ethDst, const ArpFields& arp);
// The reply to an ARP request, answering that `ourMac` has the requested address.
size_t writeArpReply(Bytes out, const ArpFields& request, const MacAddress& ourMac);
size_t writeArpRequest(Bytes out, const MacAddress& ourMac, uint32_t ourIp, uint32_t targetIp);
// Gratuitous ARP (a broadcast request for our own address, RFC 5227 "announcement").
size_t writeGratuitousArp(Bytes out, const MacAddress& ourMac, uint32_t ip);

// Turns an ICMP echo request into its reply in place: MACs and addresses swapped,
// type 0, TTL reset; checksums updated incrementally.
void makeIcmpEchoReply(Bytes frame, const ParsedPacket& packet);

// ---- ICMP errors about a flow ------------------------------------------------------------
// The datagram quoted in an ICMP error (its IPv4 header and first 8 bytes of TCP/UDP).
struct QuotedFlow {
    uint16_t l3 = 0;  // offset of the quoted IPv4 header in the frame
    uint16_t l4 = 0;
    uint8_t proto = 0;
    uint32_t src = 0;
    uint32_t dst = 0;
    uint16_t srcPort = 0;
    uint16_t dstPort = 0;
};
std::optional<QuotedFlow> parseQuotedFlow(ConstBytes frame, const ParsedPacket& packet);

// Rewrites an ICMP error so that it speaks about the flow as the other side saw it:
// the quoted datagram gets `quoted`'s addresses and ports, the outer header `outerSrc`
// and `outerDst`. Recomputes the quoted IPv4 checksum, patches the quoted UDP checksum,
// and recomputes the ICMP checksum (errors are rare; the full sum keeps it simple).
void rewriteIcmpError(Bytes frame, const ParsedPacket& packet, const QuotedFlow& quoted,
                      const FlowRewrite& newQuoted, uint32_t outerSrc, uint32_t outerDst);

}  // namespace ringgate::dataplane
