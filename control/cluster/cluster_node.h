// One cluster node's protocol stack, sans-I/O: the reliable message layer with the group
// membership on top. The Asio shell (cluster_service) and the simulation drive the same
// object: datagrams and clock ticks in, datagrams out, a deadline for the next tick.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "control/cluster/membership.h"
#include "control/cluster/reliable.h"

namespace ringgate::cluster {

class ClusterNode {
public:
    struct Options {
        NodeId self = 0;
        std::vector<NodeId> nodeMap;
        MembershipTimers timers;
        uint64_t epoch = 1;       // grows across restarts (wall clock in the daemon)
        uint64_t randomSeed = 1;
        std::string sharedKey;    // empty: no authentication
        uint8_t pathCount = 1;
        std::optional<uint32_t> firstSequence;  // tests only
        std::string clusterName;  // cluster.name (Membership::Options)
    };

    explicit ClusterNode(Options options);

    void start(Time now);
    void leave(Time now);
    void onDatagram(Time now, uint8_t path, std::span<const uint8_t> datagram,
                    std::optional<NodeId> source = std::nullopt);
    void onTimer(Time now);
    std::optional<Time> nextDeadline() const;
    std::vector<Datagram> takeOutgoing() { return messenger_.takeOutgoing(); }

    bool left() const { return membership_.phase() == Phase::Left; }
    Membership& membership() { return membership_; }
    const Membership& membership() const { return membership_; }
    const ReliableMessenger& messenger() const { return messenger_; }

    // Sees every message the reliable layer hands up (the simulation checks exactly-once).
    std::function<void(const ReliableMessenger::Delivered&)> deliveryObserver;

private:
    void pump(Time now);

    ReliableMessenger messenger_;
    Membership membership_;
};

}  // namespace ringgate::cluster
