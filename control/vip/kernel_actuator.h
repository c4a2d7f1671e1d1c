// VIPs on the host's own network stack, for nodes that run without the fast path
// (dataplane.enabled: false): a claim adds the VIP to the interface that holds this
// node's primary address on the VIP's subnet and announces it with gratuitous ARPs from
// an AF_PACKET socket; a release deletes the address at once. Probes (RFC 5227) go out
// on the same socket, which also watches for anyone else answering for a probed VIP.
//
// The kernel counts no bytes per address: measuredLoad() reads each subnet's interface
// counters (received and sent) and shares the rate evenly among the VIPs answered there,
// so load balancing works with the fast path off too, at the grain of a subnet.
#pragma once

#include "common/asio.h"

#include <array>
#include <map>
#include <chrono>
#include <memory>
#include <optional>
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
    NodeLoad measuredLoad() override;
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
        uint64_t lastBytes = 0;  // interface counters at the last rate sample
        uint64_t rate = 0;       // bytes/s over the last window
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
    std::chrono::steady_clock::time_point lastSample_{};
};

// rx_bytes + tx_bytes of an interface (sysfs), or nothing when it has none.
std::optional<uint64_t> interfaceBytes(const std::string& name);
// `rate` shared evenly among `vips` (the remainder to the first ones, so the sum holds).
std::map<Ipv4Address, uint64_t> shareEvenly(uint64_t rate, const std::vector<Ipv4Address>& vips);

}  // namespace ringgate::vip
