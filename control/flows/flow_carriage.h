// The kConnections carriage of the token train (control/cluster/train.h): what keeps
// replicas honest. Each node writes one entry when it holds the token: per peer, the count
// and an order-independent digest of the records it handles that the peer should hold
// ("sent"), and of the records the peer handles that it holds ("held"), with the channel
// position the "held" figures were taken at. A handler compares its "sent" with the
// holder's "held" only when its channel to the holder is quiet and the holder had applied
// every batch of it; a difference that survives the holder's next visit calls for a resync
// of that handler -> holder pair.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "control/flows/flow_record.h"

namespace ringgate::flows {

constexpr uint8_t kCarriageVersion = 1;
constexpr size_t kMaxCarriageNodes = 4096;

struct PairDigest {
    NodeId peer = 0;
    // This node as handler, the peer as holder.
    uint32_t sentCount = 0;
    uint64_t sentDigest = 0;
    // The peer as handler, this node as holder.
    uint32_t heldCount = 0;
    uint64_t heldDigest = 0;
    uint64_t heldPeerIncarnation = 0;  // the peer's life these records come from
    uint64_t appliedSeq = 0;           // last batch of the peer applied when taken
    bool operator==(const PairDigest&) const = default;
};

struct NodeDigests {
    NodeId node = 0;
    uint64_t incarnation = 0;
    uint32_t visit = 0;        // grows at each of the node's token visits
    bool budgetFull = false;   // the node refuses records: its "held" proves nothing
    std::vector<PairDigest> pairs;
    bool operator==(const NodeDigests&) const = default;
};

struct ConnectionsCarriage {
    std::vector<NodeDigests> nodes;
    bool operator==(const ConnectionsCarriage&) const = default;
};

std::vector<uint8_t> encodeCarriage(const ConnectionsCarriage& carriage);
// nullopt for bytes that are not a carriage this version wrote (truncated, trailing bytes,
// a node listed twice, counts over the bound).
std::optional<ConnectionsCarriage> decodeCarriage(std::span<const uint8_t> bytes);

// The order-independent digest of a set of records is the sum of this over its members.
uint64_t recordDigest(const FlowRecord& record);

}  // namespace ringgate::flows
