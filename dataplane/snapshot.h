// What the workers need to know about the world, as one immutable value: the ports and
// their addresses, the VIPs this node owns, the services on them with their live back
// ends and Maglev tables. The control thread builds a new snapshot on every change and
// publishes it under RCU (dataplane.cpp); workers never see a half-made one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/expected.h"
#include "config/config.h"
#include "dataplane/packet.h"

namespace ringgate::dataplane {

// Limits of the counter arrays (per worker); the configuration is checked against them.
constexpr size_t kMaxPorts = 8;
constexpr size_t kMaxVips = 256;
constexpr size_t kMaxServices = 256;
constexpr size_t kMaxBackendSlots = 1024;

struct PortView {
    uint16_t portId = 0;  // DPDK port id
    MacAddress mac;
    uint32_t primary = 0;  // this node's address on the port's subnet
    uint32_t network = 0;
    uint32_t mask = 0;
    uint32_t natSource = 0;  // fullnat source address toward this subnet
    std::string name;
    // Every configured node's address on this subnet (node id, address): where packets of
    // flows that other gateways handle or know about are sent, L2, on this segment.
    std::vector<std::pair<uint32_t, uint32_t>> nodes;
    bool contains(uint32_t address) const { return (address & mask) == network; }
    uint32_t addressOf(uint32_t node) const {
        for (const auto& [id, address] : nodes)
            if (id == node) return address;
        return 0;
    }
};

struct VipView {
    uint32_t address = 0;
    uint16_t counterIndex = 0;  // position in the configuration, stable across snapshots
    uint8_t port = 0;           // index into Snapshot::ports of the port facing its subnet
    // Taken over from a live peer (seed 004 §B.2): TCP segments of flows this node does not
    // know (no SYN) go on to the peer, which still handles them, until `handOverUntilMs`.
    uint32_t handOverPeer = 0;  // the peer's address on the VIP's subnet; 0: none
    uint32_t handOverUntilMs = 0;
    // Taken over from a dead node: client packets of flows this node does not know yet are
    // held (not made new flows) until then, while the flows' records are pulled and
    // adopted (docs/FLOWS.md).
    uint32_t holdUntilMs = 0;
};

struct HandOver {
    Ipv4Address peer;
    uint32_t untilMs = 0;  // worker clock (clockMs)
};

struct BackendView {
    uint32_t address = 0;
    uint16_t port = 0;
    uint16_t counterSlot = 0;
    uint8_t egress = 0;  // index into Snapshot::ports
};

struct ServiceView {
    uint32_t vip = 0;
    uint16_t port = 0;
    uint8_t proto = 0;
    config::NatMode nat = config::NatMode::Dnat;
    uint16_t counterIndex = 0;
    uint16_t vipCounterIndex = 0;
    std::vector<BackendView> backends;  // live ones only
    std::vector<uint16_t> maglev;       // slot -> index into backends
};

// The fullnat source ports this node may use: its own block, so that the destination
// port of a reply names the node that made the translation (seed 004, distributed NAT).
struct PortBlock {
    uint16_t first = 0;
    uint16_t last = 0;
};
PortBlock natPortBlock(const config::Cluster& cluster, config::NodeId self);
// Workers split the node's block so that they never pick the same port.
PortBlock workerSlice(PortBlock block, unsigned worker, unsigned workers);

struct Snapshot {
    std::vector<PortView> ports;
    std::vector<VipView> ownedVips;  // sorted by address
    std::vector<uint32_t> clusterVips;  // every configured VIP, sorted
    std::vector<ServiceView> services;
    PortBlock natPorts;
    // Flows across the cluster (docs/FLOWS.md); off: every flow is this node's alone.
    bool flows = false;
    uint32_t self = 0;
    std::vector<uint32_t> members;  // live members of the ring, sorted (rendezvous input)
    // Every back end of every pool (address << 16 | port, sorted) and its counter slot: a
    // packet from one that this node does not hold is a reply of another gateway's flow.
    std::vector<uint64_t> backendEndpoints;
    std::vector<uint16_t> backendEndpointSlots;

    bool isMember(uint32_t node) const {
        return std::binary_search(members.begin(), members.end(), node);
    }
    int backendSlot(uint32_t address, uint16_t port) const;

    const VipView* findOwnedVip(uint32_t address) const;
    bool isClusterVip(uint32_t address) const;
    const ServiceView* findService(uint32_t vip, uint16_t port, uint8_t proto) const;
    // The port whose subnet contains `address`, or -1.
    int portFacing(uint32_t address) const;
};

// Back-end counter slots: a back end keeps its slot for the life of the process so that
// its counters survive being removed and added back. Control thread only.
class BackendSlots {
public:
    // The slot of (pool, address, port), assigned on first use; -1 when all are taken.
    int slotFor(const std::string& pool, Ipv4Address address, uint16_t port);
    struct Entry {
        std::string pool;
        Ipv4Address address;
        uint16_t port = 0;
    };
    const std::vector<Entry>& entries() const { return entries_; }

private:
    std::vector<Entry> entries_;
};

using LiveBackends = std::map<std::string, std::vector<config::Backend>>;  // pool -> live members

struct SnapshotInput {
    const config::Config* config = nullptr;
    config::NodeId self = 0;
    std::vector<uint16_t> portIds;  // per configured port
    std::vector<MacAddress> macs;   // per configured port
    std::vector<Ipv4Address> ownedVips;
    const LiveBackends* live = nullptr;
    uint32_t maglevSize = 65537;
    const std::map<Ipv4Address, HandOver>* handOvers = nullptr;  // by VIP
    const std::map<Ipv4Address, uint32_t>* holds = nullptr;  // by VIP: holdUntilMs
    bool flows = false;
    const std::vector<uint32_t>* members = nullptr;  // live members (flows)
};

// Checks the input against the configuration (every owned VIP configured, every back end
// reachable through a port) and builds the snapshot.
Expected<Snapshot> buildSnapshot(const SnapshotInput& input, BackendSlots& slots);

// VIPs this node owns while the cluster does not yet decide: the ones whose preferred host
// is this node, or all of them when the node is alone in the configuration.
std::vector<Ipv4Address> staticOwnedVips(const config::Config& config, config::NodeId self);

// The live set at start: every configured member of every pool.
LiveBackends configuredBackends(const config::Config& config);

}  // namespace ringgate::dataplane
