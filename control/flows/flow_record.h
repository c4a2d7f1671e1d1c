// A flow record: what one gateway tells the others about a connection it translates, so
// that any of them can route the flow's packets to it (symmetric routing, seed 004 Figs
// 20-21), and so that the flow survives the gateway's death (another node adopts it with
// the same translation). docs/FLOWS.md has the whole design.
//
// Plain data with no DPDK: the fast path converts its connection entries to records
// (dataplane/flow_events.h) and records back to entries.
#pragma once

#include <array>
#include <cstdint>
#include <functional>

#include "common/rendezvous.h"

namespace ringgate::flows {

using NodeId = uint32_t;

// One direction's 5-tuple, host byte order, as the packet carries it.
struct FlowTuple {
    uint32_t src = 0;
    uint32_t dst = 0;
    uint16_t srcPort = 0;
    uint16_t dstPort = 0;
    uint8_t proto = 0;
    bool operator==(const FlowTuple&) const = default;
};

struct FlowTupleHash {
    size_t operator()(const FlowTuple& t) const {
        return static_cast<size_t>(mix64((uint64_t{t.src} << 32 | t.dst) ^
                                         mix64(uint64_t{t.srcPort} << 24 | uint64_t{t.dstPort} << 8 | t.proto)));
    }
};

// Why a node keeps a record (flow_replicator.h explains each).
enum class Role : uint8_t { Local = 1, Replica = 2, Forwarding = 4, Cache = 8 };
using Roles = uint8_t;  // bit set of Role

enum class NatKind : uint8_t { Dnat = 0, FullNat = 1 };

struct FlowRecord {
    FlowTuple forward;   // client -> VIP:port, as the client sends
    FlowTuple reverse;   // back end -> client (dnat) or -> NAT source (fullnat), as it replies
    NodeId handler = 0;  // the node that translates the flow (holds its connection entry)
    uint8_t state = 0;   // dataplane FlowState value, as of the record
    NatKind nat = NatKind::Dnat;
    // L2 next hops on the shared segments, the same for every gateway there: the client
    // side's (the client or its router) and the back end's.
    std::array<uint8_t, 6> clientMac{};
    std::array<uint8_t, 6> backendMac{};
    bool operator==(const FlowRecord&) const = default;

    uint32_t vip() const { return forward.dst; }
    // The rendezvous key: the endpoint the back end replies to (common/rendezvous.h).
    uint64_t authority() const { return authorityKey(reverse.dst, reverse.dstPort, reverse.proto); }
};

}  // namespace ringgate::flows
