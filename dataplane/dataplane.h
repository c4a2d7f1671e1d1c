// The fast path of one gateway, as the control plane sees it: start it from the
// configuration, tell it which VIPs this node owns and which back ends are alive, ask it
// for gratuitous ARPs and counters. Every change is published to the workers as a new
// snapshot under RCU: workers never stop and never see a half-made state.
//
// Thread model: every method is for the control thread (one thread); workers run on
// their own lcores, or are driven by a test through worker(i).step().
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <map>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "common/expected.h"
#include "config/config.h"
#include "dataplane/conn_table.h"
#include "dataplane/flow_events.h"
#include "dataplane/maglev.h"
#include "dataplane/neighbour_table.h"
#include "dataplane/snapshot.h"
#include "dataplane/stats_report.h"
#include "dataplane/worker.h"

struct rte_mempool;
struct rte_ring;
struct rte_rcu_qsbr;

namespace ringgate::dataplane {

struct DataplaneOptions {
    FlowTimeouts timeouts;
    // Flows across the cluster (config flows:, docs/FLOWS.md): records out of the workers,
    // entries for other nodes' flows in, routing of packets this node does not hold.
    bool flows = false;
    uint32_t holdMs = 50;
    unsigned holdPackets = 256;
    unsigned flowRingSize = 16384;  // messages per worker and direction
    NeighbourTimers neighbourTimers;
    uint32_t maglevSize = kMaglevDefaultSize;
    std::string xdpProgram;    // AF_XDP ports: object file of the XDP program to load
    bool launchWorkers = true; // false: the caller drives worker(i).step() (tests)
};

// Options for ringgated: flow timeouts from the configuration; the XDP program from
// $RINGGATE_XDP_PROGRAM, else the one built beside this binary.
DataplaneOptions defaultOptions(const config::Config& config);


class Dataplane {
public:
    // Initialises the EAL (once per process), creates the configured ports, builds the
    // first snapshot (static ownership, configured back ends) and launches the workers.
    static Expected<std::unique_ptr<Dataplane>> start(const config::Config& config, config::NodeId self,
                                                      DataplaneOptions options = {});
    // Same on ports the caller created (the EAL already running), one per configured port.
    static Expected<std::unique_ptr<Dataplane>> startOnPorts(const config::Config& config, config::NodeId self,
                                                             std::vector<uint16_t> portIds,
                                                             DataplaneOptions options = {});
    ~Dataplane();
    Dataplane(const Dataplane&) = delete;
    Dataplane& operator=(const Dataplane&) = delete;

    // VIPs this node answers ARP and ICMP for and accepts new flows on. Existing flows
    // of a VIP no longer owned keep flowing until they end.
    Expected<void> setOwnedVips(std::vector<Ipv4Address> vips);
    const std::vector<Ipv4Address>& ownedVips() const { return owned_; }
    // The live members of a pool: new flows use only these; flows already on a back end
    // that stays live are untouched (Maglev), flows on a removed one keep their entry.
    Expected<void> setLiveBackends(const std::string& pool, std::vector<config::Backend> live);
    // `vip` is being taken over from `peer` (its previous owner, alive, on the VIP's
    // subnet): for `durationMs` from now, TCP segments of flows this node does not know go
    // on to the peer, which still holds their state (seed 004 §B.2); new flows (SYN) stay
    // here. Call before the claim; releasing the VIP ends it, and so does a call without
    // a peer (a claim with nobody to hand over from).
    Expected<void> handOverFrom(Ipv4Address vip, std::optional<Ipv4Address> peer, uint32_t durationMs);
    // A configuration applied live (config/reload.h: VIPs, services, pools and timers may
    // change; ports, subnets and the node map do not): the next snapshot serves the new
    // services and pools, a VIP no longer configured stops being answered, and the XDP
    // programs learn the new VIPs before any host side carries them.
    Expected<void> reconfigure(const config::Config& config);
    // Flows across the cluster (docs/FLOWS.md). The live members of the ring (this node
    // included): the workers hash packets of flows they do not hold to an authority among
    // them, and send nothing to a node that is not one.
    Expected<void> setMembers(std::vector<uint32_t> members);
    // `vip` was taken over from a dead node: for `durationMs`, client packets of flows this
    // node does not know (no SYN) wait for the flows' records instead of starting new flows.
    Expected<void> holdUnknownFlows(Ipv4Address vip, uint32_t durationMs);
    // Called with the new owned set whenever it changes (the flow service pulls records).
    void onOwnedVipsChanged(std::function<void(const std::vector<Ipv4Address>&)> observer) {
        ownedObserver_ = std::move(observer);
    }
    // Messages from the workers (created, ended, expired, ask), at most `max`, appended.
    size_t takeFlowMessages(std::vector<FlowMessage>& out, size_t max);
    // To the worker that keeps the flow's entry; false when its ring is full (counted).
    bool putFlowMessage(const FlowMessage& message);
    uint64_t flowMessagesRefused() const { return flowMessagesRefused_; }
    // The workers' flow counters summed (kFlowCounterFields), with the hold drops.
    report::Counts flowCounts() const;

    // Announces `vip` by gratuitous ARP on the port facing its subnet.
    Expected<void> sendGratuitousArp(Ipv4Address vip);
    // Resolves the MAC of `address` (an ARP request) ahead of the first flow.
    Expected<void> sendArpRequest(Ipv4Address address);

    // What the neighbour table holds for `address` (learned from ARP), if anything.
    std::optional<MacAddress> neighbourOf(Ipv4Address address) const;
    // How long ago `address` was last learned (an ARP answer), if it is known.
    std::optional<uint32_t> neighbourAgeMs(Ipv4Address address) const;
    // Bytes of each configured VIP so far, summed over workers (the VIP load carriage).
    std::vector<std::pair<Ipv4Address, uint64_t>> vipBytes() const;

    // Counters summed over workers, read while they run; reading changes nothing (rates
    // are the reader's: control/management/rates.h).
    DataplaneStats stats() const;
    std::vector<ServiceStats> serviceStats() const;
    // Up to `limit` connections of `vip` (all VIPs without one): client, VIP, service,
    // back end, NAT source, state, idle time (connections_view.cpp).
    ConnectionsReport connectionsReport(std::optional<Ipv4Address> vip, size_t limit) const;
    // Sum of one port counter over workers, e.g. portDrops(0, DropReason::Truncated).
    uint64_t portDrops(unsigned port, DropReason reason) const;

    Worker& worker(unsigned i) { return *workers_[i]; }
    unsigned workerCount() const { return static_cast<unsigned>(workers_.size()); }
    ConnectionTable& connections() { return *table_; }
    NeighbourTable& neighbours() { return *neighbours_; }
    const Snapshot& snapshot() const { return *current_.load(); }
    const std::vector<uint16_t>& portIds() const { return portIds_; }

private:
    Dataplane(const config::Config& config, config::NodeId self, DataplaneOptions options);
    Expected<void> init(std::vector<uint16_t> portIds);
    Expected<void> publish();
    Expected<void> command(WorkerCommand command, Ipv4Address address);
    void stopWorkers();
    uint64_t sumPorts(unsigned port, Counter PortCounters::* field) const;
    std::vector<ConnectionSample> sampleConnections(std::optional<Ipv4Address> vip, size_t limit) const;
    const std::string& serviceName(uint16_t index) const;

    config::Config config_;
    config::NodeId self_;
    DataplaneOptions options_;
    std::vector<uint16_t> portIds_;
    std::vector<MacAddress> macs_;
    std::vector<int> exceptionIds_;  // per port: DPDK id of its exception TAP, or -1
    std::vector<Ipv4Address> owned_;
    std::map<Ipv4Address, HandOver> handOvers_;
    std::map<Ipv4Address, uint32_t> holds_;  // VIP -> holdUntilMs
    std::vector<uint32_t> members_;
    std::function<void(const std::vector<Ipv4Address>&)> ownedObserver_;
    std::vector<rte_ring*> flowsIn_, flowsOut_;
    std::atomic<uint64_t> installs_{0};
    uint64_t flowMessagesRefused_ = 0;
    LiveBackends live_;
    BackendSlots slots_;

    rte_rcu_qsbr* rcu_ = nullptr;
    rte_mempool* pool_ = nullptr;       // mbufs for ports this object created
    rte_mempool* controlPool_ = nullptr;  // mbufs for ARP the workers make
    std::unique_ptr<ConnectionTable> table_;
    std::unique_ptr<NeighbourTable> neighbours_;
    std::atomic<const Snapshot*> current_{nullptr};
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<rte_ring*> commandRings_;
    std::vector<unsigned> lcores_;
    std::atomic<bool> stop_{false};
    uint64_t tscEpoch_ = 0;
    bool ownsPorts_ = false;
};

}  // namespace ringgate::dataplane
