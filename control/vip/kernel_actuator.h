// VIPs on the host's own network stack, for nodes that run without the fast path
// (dataplane.enabled: false): a claim adds the VIP to the interface that holds this
// node's primary address on the VIP's subnet and announces it with gratuitous ARPs from
// an AF_PACKET socket; a release deletes the address at once. Probes (RFC 5227) go out
// on the same socket, which also watches for anyone else answering for a probed VIP.
//
// The kernel counts no bytes per address, so measuredLoad() is empty: load balancing
// needs the fast path's counters.
#pragma once

#include "common/asio.h"

#include <array>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/expected.h"
#include "config/config.h"
#include "control/vip/claim_sequencer.h"
#include "control/vip/host_addresses.h"
#include "control/vip/vip_actuator.h"

namespace ringgate::vip {

class KernelActuator : public VipActuator {
public:
    KernelActuator(boost::asio::io_context& io, const config::Config& config, config::NodeId self);
    ~KernelActuator() override;

    // Finds the interfaces, opens the sockets and removes VIPs a killed predecessor left.
    Expected<void> start();

    // The host stack keeps no per-flow state to hand over: in kernel mode the older flows
    // of a VIP that moves end with the move (the fast path sends them on to the peer).
    void claim(Ipv4Address vip, bool probeFirst, NodeId /*handOverFrom*/) override {
        sequencer_.claim(vip, probeFirst);
    }
    void release(Ipv4Address vip) override { sequencer_.release(vip); }
    void announce(Ipv4Address vip) override { sequencer_.announce(vip); }
    NodeLoad measuredLoad() override { return {}; }
    Expected<void> reconfigure() override;

    const ClaimCounters& counters() const { return sequencer_.counters(); }

private:
    struct Link {
        HostLink host;
        const config::Subnet* subnet = nullptr;  // re-pointed when the configuration is replaced
        std::string subnetName;
        int arpSocket = -1;
        std::unique_ptr<boost::asio::posix::stream_descriptor> arpStream;
        std::array<uint8_t, 2048> buffer{};
    };

    // A link for each subnet with VIPs (start, and subnets that gain their first VIP).
    Expected<void> addLinks(bool clearStale);
    Link* linkFor(Ipv4Address vip);
    Expected<void> sendArp(Ipv4Address vip, bool probe);
    void receiveArp(Link& link);

    boost::asio::io_context& io_;
    const config::Config& config_;
    config::NodeId self_;
    HostAddresses addresses_;
    std::vector<std::unique_ptr<Link>> links_;
    std::set<Ipv4Address> configuredVips_;
    std::set<Ipv4Address> answeredByOthers_;  // VIPs another host spoke for since our probe
    ClaimSequencer sequencer_;
};

}  // namespace ringgate::vip
