// libFuzzer target: any bytes as a cluster datagram. The packet parser, the train parser
// and the whole receive path of a node (reliable layer + membership) must never crash or
// read out of bounds. Built with clang -fsanitize=fuzzer,address,undefined.
#include <cstddef>
#include <cstdint>

#include "control/cluster/cluster_node.h"
#include "common/log.h"

using namespace ringgate::cluster;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static bool quiet = [] {
        ringgate::log::setAllLevels(ringgate::log::Level::Error);
        return true;
    }();
    (void)quiet;
    std::span<const uint8_t> input(data, size);
    (void)decodeTrain(input);
    (void)decodePacket(input, AuthKey());
    // A node that has started, fed the datagram as-is and, wrapped as a valid packet
    // carrying these bytes as a message, so the train parser and membership see them too.
    ClusterNode::Options o;
    o.self = 2;
    o.nodeMap = {1, 2, 3};
    ClusterNode node(o);
    node.start(Time(0));
    node.onDatagram(Time(1), 0, input);
    if (size > 0 && size <= kMaxFragmentPayload) {
        PacketHeader h;
        h.sender = 1;
        h.receiver = 2;
        h.senderEpoch = 1;
        h.messageId = 1;
        h.messageLength = static_cast<uint32_t>(size);
        node.onDatagram(Time(2), 0, encodePacket(h, input, AuthKey()));
        // Node 1 answers the challenge that confirms its epoch: the held message goes up.
        for (const auto& d : node.takeOutgoing()) {
            auto decoded = decodePacket(d.bytes, AuthKey());
            if (!decoded.packet || decoded.packet->header.kind != PacketKind::Challenge) continue;
            PacketHeader r;
            r.kind = PacketKind::Response;
            r.sender = 1;
            r.receiver = 2;
            r.senderEpoch = 1;
            r.counter = 1;
            r.messageId = decoded.packet->header.messageId;
            node.onDatagram(Time(3), 0, encodePacket(r, {}, AuthKey()));
        }
        node.onTimer(Time(1'000'000));
    }
    (void)node.takeOutgoing();
    return 0;
}
