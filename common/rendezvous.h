// Rendezvous (highest-random-weight) hashing of a flow to the cluster's live members.
//
// Every flow has an authoritative node: the live member with the highest weight for the
// flow's authority key, and a replica: the member with the second highest. Both are
// computed the same way on every node (the fast path's workers for packets it does not
// hold, the flow-record replicator for where records go). Losing a member moves only the
// flows it ranked first or second; after losing any one member the new first rank was the
// old first or second, so it already holds the record.
//
// The authority key is the endpoint the back end replies to, with the protocol: the
// client's address and port for dnat (also the source of the client's own packets), the
// NAT source address and port for fullnat. Every reply packet carries it as destination.
#pragma once

#include <cstdint>
#include <span>

#include "common/hash.h"

namespace ringgate {

constexpr uint64_t authorityKey(uint32_t address, uint16_t port, uint8_t proto) {
    return mix64(uint64_t{address} << 32 | uint64_t{port} << 16 | proto);
}

constexpr uint64_t rendezvousWeight(uint64_t key, uint32_t node) {
    return mix64(key ^ mix64(0x9e3779b97f4a7c15ULL * (uint64_t{node} + 1)));
}

// The first and second ranked of `members` for `key` (second is 0 with one member; both 0
// with none). Members are node ids, any order, no duplicates, 0 never a member.
struct RendezvousPick {
    uint32_t first = 0;
    uint32_t second = 0;
};

constexpr RendezvousPick rendezvousPick(uint64_t key, std::span<const uint32_t> members) {
    RendezvousPick pick;
    uint64_t best = 0, next = 0;
    for (uint32_t node : members) {
        uint64_t weight = rendezvousWeight(key, node);
        // Ties (astronomically rare) go to the lower node id, so every node agrees.
        if (pick.first == 0 || weight > best || (weight == best && node < pick.first)) {
            pick.second = pick.first;
            next = best;
            pick.first = node;
            best = weight;
        } else if (pick.second == 0 || weight > next || (weight == next && node < pick.second)) {
            pick.second = node;
            next = weight;
        }
    }
    return pick;
}

}  // namespace ringgate
