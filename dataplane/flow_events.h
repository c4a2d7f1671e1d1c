// What the fast path and the cluster plane tell each other about flows, one fixed-size
// message per flow, through single-producer single-consumer rings that never block:
//  - worker -> control: a flow was created or ended here, an entry kept for another
//    handler expired, a packet of an unknown flow went to its authority (ask where it lives);
//  - control -> worker: keep an entry for a flow another node handles, adopt a flow of a
//    dead node with the same translation, forget an entry.
// The control plane turns them into flow records (control/flows/) and back.
#pragma once

#include <cstdint>

#include "dataplane/flow.h"
#include "dataplane/packet.h"

namespace ringgate::dataplane {

enum class FlowMessageType : uint8_t {
    // worker -> control
    Created = 1,
    Ended = 2,
    RemoteExpired = 3,
    Ask = 4,           // `forward` holds the tuple of the packet that went to the authority
    // control -> worker
    InstallRemote = 16,
    Adopt = 17,
    RemoveRemote = 18,
};

struct alignas(64) FlowMessage {
    FlowKey forward;   // client -> VIP
    FlowKey reverse;   // back end -> client or NAT source
    MacAddress clientMac;
    MacAddress backendMac;
    uint16_t handler = 0;  // node id
    FlowMessageType type = FlowMessageType::Created;
    uint8_t state = 0;     // FlowState
    uint8_t fullnat = 0;
    uint8_t pinned = 0;    // InstallRemote: not idle-expired (a replica the control plane ends)
};
static_assert(sizeof(FlowMessage) == 64);

}  // namespace ringgate::dataplane
