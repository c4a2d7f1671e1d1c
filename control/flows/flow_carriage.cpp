#include "control/flows/flow_carriage.h"

#include <algorithm>

#include "control/cluster/byte_io.h"

namespace ringgate::flows {

using cluster::ByteReader;
using cluster::ByteWriter;

uint64_t recordDigest(const FlowRecord& r) {
    // What identifies a flow's translation; the state byte is left out, so that an update
    // in flight does not count as a disagreement.
    uint64_t h = mix64(uint64_t{r.forward.src} << 32 | r.forward.dst);
    h = mix64(h ^ (uint64_t{r.forward.srcPort} << 24 | uint64_t{r.forward.dstPort} << 8 | r.forward.proto));
    h = mix64(h ^ (uint64_t{r.reverse.src} << 32 | r.reverse.dst));
    h = mix64(h ^ (uint64_t{r.reverse.srcPort} << 24 | uint64_t{r.reverse.dstPort} << 8 | r.reverse.proto));
    return mix64(h ^ (uint64_t{r.handler} << 8 | static_cast<uint8_t>(r.nat)));
}

std::vector<uint8_t> encodeCarriage(const ConnectionsCarriage& c) {
    std::vector<uint8_t> out;
    ByteWriter w(out);
    w.u8(kCarriageVersion);
    w.u16(static_cast<uint16_t>(c.nodes.size()));
    for (const NodeDigests& n : c.nodes) {
        w.u32(n.node);
        w.u64(n.incarnation);
        w.u32(n.visit);
        w.u8(n.budgetFull ? 1 : 0);
        w.u16(static_cast<uint16_t>(n.pairs.size()));
        for (const PairDigest& p : n.pairs) {
            w.u32(p.peer);
            w.u32(p.sentCount);
            w.u64(p.sentDigest);
            w.u32(p.heldCount);
            w.u64(p.heldDigest);
            w.u64(p.heldPeerIncarnation);
            w.u64(p.appliedSeq);
        }
    }
    return out;
}

std::optional<ConnectionsCarriage> decodeCarriage(std::span<const uint8_t> bytes) {
    ByteReader r(bytes);
    uint8_t version = 0;
    uint16_t count = 0;
    if (!r.u8(version) || version != kCarriageVersion || !r.u16(count) || count > kMaxCarriageNodes)
        return std::nullopt;
    ConnectionsCarriage c;
    c.nodes.resize(count);
    for (NodeDigests& n : c.nodes) {
        uint8_t flags = 0;
        uint16_t pairs = 0;
        if (!r.u32(n.node) || !r.u64(n.incarnation) || !r.u32(n.visit) || !r.u8(flags) || flags > 1 ||
            !r.u16(pairs) || n.node == 0 || pairs > kMaxCarriageNodes)
            return std::nullopt;
        n.budgetFull = flags == 1;
        n.pairs.resize(pairs);
        for (PairDigest& p : n.pairs) {
            if (!r.u32(p.peer) || !r.u32(p.sentCount) || !r.u64(p.sentDigest) || !r.u32(p.heldCount) ||
                !r.u64(p.heldDigest) || !r.u64(p.heldPeerIncarnation) || !r.u64(p.appliedSeq))
                return std::nullopt;
        }
    }
    if (r.remaining() != 0) return std::nullopt;
    std::vector<NodeId> ids;
    for (const NodeDigests& n : c.nodes) ids.push_back(n.node);
    std::sort(ids.begin(), ids.end());
    if (std::adjacent_find(ids.begin(), ids.end()) != ids.end()) return std::nullopt;
    return c;
}

}  // namespace ringgate::flows
