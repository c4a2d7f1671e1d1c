// A flow as the fast path sees it on the wire, and its TCP/UDP state with timeouts.
#pragma once

#include <cstdint>

#include "config/config.h"

namespace ringgate::dataplane {

// The connection table's key: 16 bytes, host byte order, padding zeroed so that
// byte-wise hashing and comparison see only the 5-tuple.
struct FlowKey {
    uint32_t src = 0;
    uint32_t dst = 0;
    uint16_t srcPort = 0;
    uint16_t dstPort = 0;
    uint8_t proto = 0;
    uint8_t pad[3] = {0, 0, 0};

    bool operator==(const FlowKey& other) const {
        return src == other.src && dst == other.dst && srcPort == other.srcPort &&
               dstPort == other.dstPort && proto == other.proto;
    }
};
static_assert(sizeof(FlowKey) == 16);

enum class FlowState : uint8_t {
    SynSent,        // client SYN seen
    SynReceived,    // back end answered SYN+ACK
    Established,    // client acknowledged, or a mid-flow packet created the entry
    FinFromClient,  // one side closed
    FinFromServer,
    TimeWait,       // both sides closed
    Closed,         // reset
    Udp,            // UDP: no states, only an idle timeout
};

const char* toString(FlowState state);

// Per-state idle timeouts, from the configuration (dataplane.timeouts).
using FlowTimeouts = config::FlowTimeouts;

uint32_t timeoutMs(FlowState state, const FlowTimeouts& timeouts);

// The state of a new entry created by a packet from the client. A mid-flow TCP packet
// (no SYN) creates an Established entry: with consistent hashing it reaches the back end
// it was already talking to, which is how flows survive a lost table (Katran does the same).
FlowState initialState(uint8_t proto, uint8_t tcpFlags);

// The state after a TCP packet with `tcpFlags`, sent by the client or the back end.
FlowState nextState(FlowState state, bool fromClient, uint8_t tcpFlags);

}  // namespace ringgate::dataplane
