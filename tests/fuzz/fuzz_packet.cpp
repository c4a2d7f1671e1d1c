// libFuzzer target: any bytes as an Ethernet frame through the fast path's parser and
// rewriters (dataplane/packet.*). Beyond "no crash, no read out of bounds":
//   - the parser's offsets stay inside the frame;
//   - a valid TCP/UDP datagram rewritten as a flow still has valid checksums (recomputed
//     in full, independently of the incremental update) and carries the new addresses,
//     ports and a TTL one lower;
//   - an echo request turned into a reply is a valid reply to its sender;
//   - an ICMP error rewritten for the other side of a flow keeps a valid ICMP checksum
//     and a valid quoted IPv4 header that names the new addresses;
//   - the answer to an ARP request is an ARP reply for the asked address.
// The rewrite's addresses and ports are drawn from the input's tail.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dataplane/packet.h"
#include "tests/dataplane/frame_builder.h"

using namespace ringgate::dataplane;
using ringgate::dataplane::test::checksumsValid;

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

FlowRewrite drawRewrite(FuzzedDataProvider& in) {
    FlowRewrite to;
    to.src = in.ConsumeIntegral<uint32_t>();
    to.dst = in.ConsumeIntegral<uint32_t>();
    to.srcPort = in.ConsumeIntegral<uint16_t>();
    to.dstPort = in.ConsumeIntegral<uint16_t>();
    return to;
}

void checkFlowRewrite(std::vector<uint8_t> frame, const ParsedPacket& before, const FlowRewrite& to) {
    rewriteFlow(frame, before, to);
    require(checksumsValid(frame));
    ParsedPacket after = parsePacket(frame);
    require(after.kind == PacketKind::Ipv4 && after.error == DropReason::None);
    require(after.src == to.src && after.dst == to.dst);
    require(after.srcPort == to.srcPort && after.dstPort == to.dstPort);
    require(after.ttl == before.ttl - 1 && after.proto == before.proto);
}

void checkEchoReply(std::vector<uint8_t> frame, const ParsedPacket& request) {
    makeIcmpEchoReply(frame, request);
    require(checksumsValid(frame));
    ParsedPacket reply = parsePacket(frame);
    require(reply.kind == PacketKind::Ipv4 && reply.icmpType == kIcmpEchoReply);
    require(reply.src == request.dst && reply.dst == request.src);
}

void checkIcmpError(std::vector<uint8_t> frame, const ParsedPacket& error, FuzzedDataProvider& in) {
    auto quoted = parseQuotedFlow(frame, error);
    if (!quoted) return;
    require(quoted->l3 >= error.l4 && quoted->l4 > quoted->l3 && quoted->l4 + 8u <= frame.size());
    FlowRewrite newQuoted = drawRewrite(in);
    uint32_t outerSrc = in.ConsumeIntegral<uint32_t>();
    uint32_t outerDst = in.ConsumeIntegral<uint32_t>();
    rewriteIcmpError(frame, error, *quoted, newQuoted, outerSrc, outerDst);
    require(checksumsValid(frame));
    ParsedPacket after = parsePacket(frame);
    require(after.src == outerSrc && after.dst == outerDst);
    auto again = parseQuotedFlow(frame, after);
    require(again.has_value());
    require(again->src == newQuoted.src && again->dst == newQuoted.dst);
    require(again->srcPort == newQuoted.srcPort && again->dstPort == newQuoted.dstPort);
    size_t quotedHeaderLen = size_t{again->l4} - again->l3;
    require(checksumFold(checksumPartial(ConstBytes(frame).subspan(again->l3, quotedHeaderLen))) == 0xffff);
}

void checkArpReply(const std::vector<uint8_t>& frame, const ParsedPacket& packet) {
    ArpFields request = readArp(frame, packet);
    if (request.op != kArpRequest) return;
    MacAddress ours{{0x02, 0, 0, 0, 0, 0x42}};
    std::vector<uint8_t> out(kMinFrameLen);
    size_t length = writeArpReply(out, request, ours);
    require(length == kMinFrameLen);
    ParsedPacket reply = parsePacket(ConstBytes(out.data(), length));
    require(reply.kind == PacketKind::Arp && reply.error == DropReason::None);
    ArpFields fields = readArp(ConstBytes(out.data(), length), reply);
    require(fields.op == kArpReply && fields.senderMac == ours);
    require(fields.senderIp == request.targetIp && fields.targetIp == request.senderIp);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    uint16_t frameLength = in.ConsumeIntegralInRange<uint16_t>(0, 1600);
    std::vector<uint8_t> frame = in.ConsumeBytes<uint8_t>(frameLength);

    ParsedPacket packet = parsePacket(frame);
    if (packet.error != DropReason::None) return 0;
    switch (packet.kind) {
    case PacketKind::Other:
        return 0;
    case PacketKind::Arp:
        require(packet.l3 + kArpLen <= frame.size());
        checkArpReply(frame, packet);
        return 0;
    case PacketKind::Ipv4:
        break;
    }
    require(packet.l4 > packet.l3 && size_t{packet.l4} + packet.l4Len <= frame.size());
    // The rewriters update checksums incrementally: they keep valid ones valid, which is
    // all they promise. The fast path forwards only with TTL > 1.
    if (!checksumsValid(frame)) return 0;
    if ((packet.proto == kProtoTcp || packet.proto == kProtoUdp) && packet.ttl > 1)
        checkFlowRewrite(frame, packet, drawRewrite(in));
    if (packet.proto == kProtoIcmp && packet.icmpType == kIcmpEchoRequest) checkEchoReply(frame, packet);
    if (packet.proto == kProtoIcmp && isIcmpError(packet.icmpType)) checkIcmpError(frame, packet, in);
    return 0;
}
