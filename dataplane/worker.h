// One fast-path worker (a DPDK lcore): RX burst -> classify -> act -> TX burst over every
// port's queue `id`, with state of its own (counters, TX buffers, a slice of the
// connection table and of the fullnat port block). Nothing in the loop locks, allocates
// (beyond mbufs from their pool), blocks or logs; an idle worker sleeps with a growing
// back-off so that an idle gateway uses almost no CPU.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "dataplane/conn_table.h"
#include "dataplane/counters.h"
#include "dataplane/flow_events.h"
#include "dataplane/neighbour_table.h"
#include "dataplane/packet.h"
#include "dataplane/snapshot.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;
struct rte_rcu_qsbr;

namespace ringgate::dataplane {

// What all workers share, owned by the Dataplane.
struct WorkerShared {
    ConnectionTable* table = nullptr;
    NeighbourTable* neighbours = nullptr;
    const std::atomic<const Snapshot*>* snapshot = nullptr;
    rte_rcu_qsbr* rcu = nullptr;
    rte_mempool* pool = nullptr;  // for packets the worker makes (ARP)
    FlowTimeouts timeouts;
    uint16_t portIds[kMaxPorts] = {};
    unsigned portCount = 0;
    // Exception path (PMD modes): the TAP port of each port, if it has one.
    bool hasException[kMaxPorts] = {};
    uint16_t exceptionIds[kMaxPorts] = {};
    unsigned workers = 1;
    bool idleBackoff = true;
    uint32_t idleSleepMaxUs = 1000;
    uint64_t tscEpoch = 0;  // every worker's clock counts milliseconds from here
    // Flows across the cluster (docs/FLOWS.md).
    uint32_t holdMs = 50;         // longest a packet waits for its flow's record
    unsigned holdCapacity = 256;  // packets a worker may hold at once
    // Bumped by a worker that installed or adopted a flow from the cluster plane: the
    // others look at their held packets again.
    std::atomic<uint64_t>* installs = nullptr;
};

// The rings of one worker: commands (ARP) and flow messages in, flow messages out; each
// single-producer single-consumer.
struct WorkerRings {
    rte_ring* commands = nullptr;
    rte_ring* flowsIn = nullptr;   // FlowMessage, control -> worker
    rte_ring* flowsOut = nullptr;  // FlowMessage, worker -> control
};

// Commands from the control thread, through a single-producer single-consumer ring.
enum class WorkerCommand : uint8_t { GratuitousArp = 1, ArpRequest = 2 };

class Worker {
public:
    static constexpr unsigned kBurst = 32;
    // Packets of all ports gathered for one classification and one connection-table bulk
    // lookup: the lookup's memory misses overlap across the whole batch (64: one bit per
    // key in the hit mask).
    static constexpr unsigned kBatch = 64;
    static_assert(kBatch == 64, "hit masks are 64 bits, one per key of a batch");

    Worker(unsigned id, const WorkerShared& shared, WorkerRings rings);
    ~Worker();

    // The lcore loop: runs until `stop`, reporting RCU quiescent states every pass and
    // going offline while it sleeps.
    void run(const std::atomic<bool>& stop);

    // One pass with the thread already online: poll every port once, run commands,
    // expire a little. Returns the packets received. Tests and benchmarks drive this with
    // their own clock.
    unsigned poll(uint32_t nowMs);
    // One pass for a thread that is not a launched worker: online, poll, quiescent, offline.
    unsigned step(uint32_t nowMs);

    // The packet path on a batch of up to kBatch mbufs; `ports[i]` is the snapshot port
    // packet i arrived on.
    void processBatch(rte_mbuf** packets, const uint8_t* ports, unsigned count, uint32_t nowMs);
    void flush();

    const WorkerCounters& counters() const { return counters_; }
    unsigned id() const { return id_; }

private:
    struct TxBuffer {
        uint16_t count = 0;
        rte_mbuf* packets[2 * kBurst];
    };

    struct HeldPacket {
        rte_mbuf* m = nullptr;
        FlowKey key;
        uint32_t deadlineMs = 0;
        uint8_t port = 0;
    };
    class ExpiryEvents;

    void handleArp(unsigned port, rte_mbuf* m, const ParsedPacket& p, uint32_t nowMs);
    void handleIcmp(unsigned port, rte_mbuf* m, const ParsedPacket& p);
    void forward(Connection* conn, bool fromBackend, unsigned arrival, rte_mbuf* m, const ParsedPacket& p,
                 uint32_t nowMs);
    // Flows across the cluster: a packet of a flow another node handles goes there; one
    // of a flow nobody here knows goes to its authority, or waits here for its record.
    void toHandler(Connection* conn, unsigned arrival, rte_mbuf* m, const ParsedPacket& p, uint32_t nowMs);
    void unknownFlow(unsigned port, rte_mbuf* m, const ParsedPacket& p, uint32_t nowMs);
    bool isReply(const ParsedPacket& p) const;
    void hold(unsigned port, rte_mbuf* m, const ParsedPacket& p, uint32_t nowMs);
    void releaseHeld(uint32_t nowMs);
    bool sendToNode(unsigned port, rte_mbuf* m, uint32_t node, uint32_t nowMs);
    void emit(FlowMessageType type, const Connection& conn);
    void ask(const ParsedPacket& p, uint32_t nowMs);
    void runFlowMessages(uint32_t nowMs);
    void installRemote(const FlowMessage& message, uint32_t nowMs);
    void adopt(const FlowMessage& message, uint32_t nowMs);
    // An entry the cluster plane gave (installRemote, adopt): overwrites an entry kept for
    // another handler, inserts one where there is none; never touches one of ours.
    enum class ClusterEntry { Put, Ours, Failed };
    ClusterEntry putClusterEntry(const ConnectionInit& init);
    void forget(const FlowMessage& message, uint32_t nowMs);
    // What the new-flow path decides before inserting: the service, the Maglev back end
    // and the tuple the back end's replies will carry (service null: none for the packet).
    struct NewFlowPlan {
        const ServiceView* service = nullptr;
        const BackendView* backend = nullptr;
        FlowKey reverse;
    };
    void planNewFlows(uint64_t missed, const uint8_t* keyPacket, unsigned keyCount,
                      const ParsedPacket* parsed, NewFlowPlan* plans);
    void newFlow(unsigned port, rte_mbuf* m, const ParsedPacket& p, const NewFlowPlan& plan, uint32_t nowMs);
    // L2 redirect, unchanged above Ethernet, to the peer that handles the packet's flow.
    void handToPeer(unsigned port, rte_mbuf* m, uint32_t peer, uint32_t nowMs);
    // The reply tuple of a new flow to `backend`; fullnat: from the next source port of
    // the worker's NAT port slice.
    FlowKey reverseKey(const ServiceView& service, const BackendView& backend, const ParsedPacket& p);
    void runCommands(uint32_t nowMs);
    void sendArp(unsigned port, uint32_t targetIp, bool gratuitous);
    void send(unsigned port, rte_mbuf* m);
    // What is not the fast path's: to the host through the port's exception interface
    // when it has one (traffic for the node's own address, broadcasts, other protocols),
    // else dropped as not_ours.
    void toHost(unsigned port, rte_mbuf* m, const ParsedPacket& p);
    void pollException(unsigned port);
    void drop(unsigned port, rte_mbuf* m, DropReason reason);
    bool resolveNeighbour(unsigned egress, uint32_t ip, uint32_t nowMs, MacAddress& mac);

    unsigned id_;
    WorkerShared shared_;
    rte_ring* commands_;
    rte_ring* flowsIn_;
    rte_ring* flowsOut_;
    // Held packets in arrival order (all wait the same time, so deadlines are ordered).
    std::vector<HeldPacket> held_;
    uint64_t installsSeen_ = 0;
    // Asked recently (hash -> time), so that a flow is asked about once per interval.
    static constexpr unsigned kAskSlots = 1024;
    uint32_t askedAt_[kAskSlots] = {};
    uint32_t askedKey_[kAskSlots] = {};
    const Snapshot* snapshot_ = nullptr;  // valid during one pass
    unsigned idleExpireBudget_;
    PortBlock natPorts_;
    uint32_t nextNatPort_ = 0;
    TxBuffer tx_[kMaxPorts];
    TxBuffer hostTx_[kMaxPorts];  // toward each port's exception interface
    Connection* batchCreated_[kBatch];  // flows created while handling the current batch
    unsigned batchCreatedCount_ = 0;
    WorkerCounters counters_;
};

// Milliseconds since `tscEpoch`, the clock of workers and of the control side's views.
uint32_t clockMs(uint64_t tscEpoch);

// Packs a command for the worker's ring (one 64-bit element).
uint64_t packCommand(WorkerCommand command, unsigned port, uint32_t ip);

}  // namespace ringgate::dataplane
