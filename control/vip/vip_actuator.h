// What the VIP manager's decisions act on: the component that answers ARP for a VIP.
// The fast path implements it in production; KernelActuator (dataplane off) puts VIPs on
// the host's interfaces. Calls come from the control thread while this node holds the
// token, and must take effect before they return: the token leaves right after, and a
// release that lingers would let two nodes answer for one VIP.
#pragma once

#include "common/expected.h"
#include "common/ipv4.h"
#include "control/vip/vip_table.h"

namespace ringgate::vip {

class VipActuator {
public:
    virtual ~VipActuator() = default;
    // Start answering for `vip` and announce it (gratuitous ARPs, repeated per the timers).
    // With probeFirst, first make sure no other host uses the address (seed 003's probe).
    // `handOverFrom`: the live peer that answered for it until now (kNoNode: none), which
    // keeps the VIP's older flows; where it can, the actuator sends their packets on to it.
    virtual void claim(Ipv4Address vip, bool probeFirst, NodeId handOverFrom) = 0;
    // Stop answering at once.
    virtual void release(Ipv4Address vip) = 0;
    // Already answering: announce again (after a partition heals).
    virtual void announce(Ipv4Address vip) = 0;
    // Byte rates of the VIPs answered here, for the load carriage.
    virtual NodeLoad measuredLoad() = 0;
    // The configuration the actuator was built with has been replaced in place (a reload
    // that the cluster's subnets and node map survive): pick up added and removed VIPs
    // and the timers. A VIP still answered that the new file lacks is released first by
    // the VIP manager; anything left is released here.
    virtual Expected<void> reconfigure() = 0;
};

}  // namespace ringgate::vip
