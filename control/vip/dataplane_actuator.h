// VIPs on the fast path (dataplane.enabled): a claim adds the VIP to the set the workers
// answer ARP and ICMP for and accept new flows on (an RCU snapshot: workers never stop),
// and announces it with gratuitous ARPs from the fast path; a release removes it from
// the next snapshot at once. A probe is an ARP request from the fast path; an answer
// from another host is learned by the neighbour table, which the probe then checks.
//
// Seed 004's "every VIP on every host": start() puts every VIP (/32) on the host side of
// the port facing its subnet, so host services can bind them; ringgate's XDP program
// keeps every ARP about a VIP away from the host, so the host never answers for a VIP
// and never sees a peer's claim. Stopping removes them again.
//
// measuredLoad() turns the fast path's per-VIP byte counters into rates over windows of
// at least one second, for the load carriage.
#pragma once

#include "common/asio.h"

#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "common/expected.h"
#include "config/config.h"
#include "control/vip/claim_sequencer.h"
#include "control/vip/host_addresses.h"
#include "control/vip/vip_actuator.h"

namespace ringgate::dataplane {
class Dataplane;
}

namespace ringgate::vip {

class DataplaneActuator : public VipActuator {
public:
    DataplaneActuator(boost::asio::io_context& io, const config::Config& config, config::NodeId self,
                      dataplane::Dataplane& dataplane);
    ~DataplaneActuator() override;

    // Before the fast path starts: takes every VIP off the host interfaces, as a killed
    // predecessor left them, so no host answers for them while no XDP program is attached.
    static Expected<void> clearHostVips(const config::Config& config, config::NodeId self);

    // Answers for nothing until told (the dataplane may start with static ownership),
    // and puts every VIP on the host side of its port.
    Expected<void> start();

    // With a hand-over, the peer's address on the VIP's subnet gets the VIP's unknown TCP
    // segments for the established-flow timeout (dataplane.timeouts.established_ms).
    void claim(Ipv4Address vip, bool probeFirst, NodeId handOverFrom) override;
    void release(Ipv4Address vip) override { sequencer_.release(vip); }
    void announce(Ipv4Address vip) override { sequencer_.announce(vip); }
    NodeLoad measuredLoad() override;
    Expected<void> reconfigure() override;

    const ClaimCounters& counters() const { return sequencer_.counters(); }

private:
    Expected<void> publish();
    // PMD ports: the host's side of a port is its exception TAP, which the fast path has
    // just created; it gets the node's primary address on the port's subnet, so that the
    // host's own traffic (the token ring, management, SSH) flows through it.
    Expected<void> addressExceptionInterfaces();

    const config::Config& config_;
    config::NodeId self_;
    dataplane::Dataplane& dataplane_;
    std::vector<Ipv4Address> owned_;
    std::map<Ipv4Address, std::chrono::steady_clock::time_point> probedAt_;  // last ARP probe
    HostAddresses hostAddresses_;
    std::vector<std::pair<HostLink, Ipv4Address>> onHost_;  // VIPs added to host interfaces
    std::map<Ipv4Address, uint64_t> lastBytes_;
    std::map<Ipv4Address, uint64_t> rates_;
    std::chrono::steady_clock::time_point lastSample_{};
    ClaimSequencer sequencer_;
};

}  // namespace ringgate::vip
