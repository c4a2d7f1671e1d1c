// The flow-record replicator, sans-I/O: `(now, input) -> (datagrams, changes)`, like
// cluster::ReliableMessenger and Membership. The daemon's FlowService drives it from the
// fast path's record rings, a UDP socket per cluster subnet and the token; the simulation
// (tests/flows/replication_sim.cpp) drives the same object on a virtual network.
//
// What it keeps: every record this node must know, in one store keyed by the client tuple,
// each with the roles that make this node keep it (docs/FLOWS.md):
//  - Local: this node handles the flow (its fast path made the record).
//  - Replica: this node is the flow's authority or second rank (common/rendezvous.h) among
//    the live members, and not its handler: it keeps a copy so that losing the handler
//    leaves one, and so that the authority can route the flow's packets to the handler.
//  - Forwarding: this node owns the flow's VIP but another node handles the flow (after a
//    live move): client packets of the flow go on to the handler for as long as it lives.
//  - Cache: the answer to an `ask` (seed 004 Fig 20's optimisation step): replies of the
//    flow go straight to its handler.
//
// How records travel (conntrackd's FTFW is the model): each sender keeps one ordered
// channel per peer; records are batched into authenticated datagrams with a sequence
// number; the receiver applies batches strictly in order (an out-of-order batch waits,
// bounded), acknowledges cumulatively and asks for a gap with a NACK; the sender resends
// from a bounded queue, and a peer that fell out of the queue, restarted (new
// incarnation) or disagrees on the token's digests gets a full resync of what it should
// hold from this sender.
//
// Membership changes re-home only what moved: a handler sends each local record to the
// holders that were not holders before, and a holder drops what it no longer holds
// (unless another role keeps it). When this node owns a VIP (a claim, or a member left),
// it pulls the VIP's records from every live peer; those whose handler is dead it adopts
// (becomes their handler, same translation), the rest it keeps as Forwarding.
#pragma once

#include <chrono>
#include <memory>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "control/flows/flow_record.h"

namespace ringgate::flows {

using Time = std::chrono::microseconds;


struct ReplicatorOptions {
    NodeId self = 0;
    uint64_t incarnation = 1;      // grows across restarts (the daemon uses the wall clock)
    std::string sharedKey;         // cluster.shared_key: HMAC-SHA256 of every datagram; empty: none
    size_t budgetRecords = 1u << 20;  // records held for other handlers (every role but Local)
    size_t maxDatagram = 1400;     // bytes of one datagram, header and tag included
    Time flushDelay{1'000};        // a partly filled batch waits at most this long
    Time ackDelay{5'000};          // a receiver acknowledges at most this late
    Time resendTimeout{40'000};    // an unacknowledged batch is resent after this
    size_t resendQueueBatches = 4096;  // per peer; a NACK for an older batch means a resync
    size_t reorderBatches = 256;   // out-of-order batches a receiver keeps per sender
};

// What the fast path must do; the FlowService hands these to the dataplane.
struct InstallRemote {  // keep or update an entry for a flow another node handles
    FlowRecord record;
    Roles roles = 0;    // Replica entries are not idle-expired by the fast path; the others are
};
struct Adopt {          // become the flow's handler with the record's translation
    FlowRecord record;  // handler already set to self
};
struct RemoveRemote {   // forget a flow this node no longer keeps for another handler
    FlowTuple forward;
};
struct VipSettled {     // every live peer has answered this node's pull of the VIP: a
    uint32_t vip = 0;   // packet of a flow still unknown now is a new flow, not a late one
};
using Change = std::variant<InstallRemote, Adopt, RemoveRemote, VipSettled>;

struct Outgoing {
    NodeId peer = 0;
    std::vector<uint8_t> bytes;  // one UDP payload
};

struct ReplicatorCounters {
    uint64_t recordsSent = 0;        // records in first transmissions
    uint64_t recordsReceived = 0;    // records applied from peers
    uint64_t recordsResent = 0;      // records in resent batches
    uint64_t batchesSent = 0;
    uint64_t batchesReceived = 0;
    uint64_t acksSent = 0;
    uint64_t nacksSent = 0;
    uint64_t nacksReceived = 0;
    uint64_t resyncsSent = 0;        // full resyncs this node started toward a peer
    uint64_t resyncsReceived = 0;
    uint64_t rehomed = 0;            // records sent to a new holder after a membership change
    uint64_t pullsSent = 0;
    uint64_t pullsAnswered = 0;
    uint64_t pullsCompleted = 0;     // owned VIPs whose pull every live peer has answered
    uint64_t adopted = 0;            // flows of a dead handler this node took over
    uint64_t asksSent = 0;
    uint64_t asksAnswered = 0;
    uint64_t budgetDrops = 0;        // records refused: held-for-others budget full
    uint64_t duplicates = 0;         // batches already applied (replays, resends)
    uint64_t outOfOrder = 0;         // batches kept until their gap filled
    uint64_t reorderDrops = 0;       // batches dropped: reorder buffer full (NACKed again later)
    uint64_t malformed = 0;          // undecodable datagrams (truncated, bad record, ...)
    uint64_t badVersion = 0;         // a version this node does not speak
    uint64_t unauthenticated = 0;    // missing or wrong HMAC tag
    uint64_t notForUs = 0;           // receiver field names another node
    uint64_t staleIncarnation = 0;   // from an older life of the sender, or for an older life of us
    uint64_t spoofed = 0;            // header names another sender than the one it came from
    uint64_t conflicts = 0;          // a peer's record of a flow this node handles (ours kept)
    uint64_t foreignRecords = 0;     // records a peer sent for a flow it does not handle
    uint64_t datagramsReceived = 0;  // every receive() call
    uint64_t datagramsAccepted = 0;  // = received - (malformed + badVersion + unauthenticated
                                     //   + notForUs + staleIncarnation + spoofed)
};

// One record as this node keeps it (the operators' `connections` view).
struct HeldRecord {
    FlowRecord record;
    Roles roles = 0;
};

class FlowReplicator {
public:
    explicit FlowReplicator(ReplicatorOptions options);
    ~FlowReplicator();
    FlowReplicator(FlowReplicator&&) noexcept;
    FlowReplicator& operator=(FlowReplicator&&) noexcept;

    // The live members of the ring, this node included (membership changes).
    void setMembers(Time now, std::vector<NodeId> members);
    // The VIPs this node answers for (VIP claims and releases). A VIP this node did not own
    // before, and every owned VIP after a member left, is pulled from the live peers.
    void setOwnedVips(Time now, std::vector<uint32_t> vips);

    // From this node's fast path.
    void localCreated(Time now, const FlowRecord& record);  // record.handler == self
    void localEnded(Time now, const FlowTuple& forward);
    // Starts loading what localCreated/localEnded of this flow will read: called a few
    // records ahead in a batch, it hides the memory latency of a large store.
    void prefetch(const FlowTuple& forward) const;
    // The fast path idle-expired an entry it kept for another handler (Forwarding/Cache).
    void remoteExpired(Time now, const FlowTuple& forward);
    // The fast path sent a packet it did not hold (`reply`: the packet's tuple, a reply
    // direction) to the authority; ask the authority where the flow lives so that the next
    // packets go straight there. At most one ask per flow in flight.
    void ask(Time now, const FlowTuple& reply);

    // A datagram from the cluster port of node `from` (the shell maps the source address to
    // a configured node; a header naming another sender is refused).
    void receive(Time now, NodeId from, std::span<const uint8_t> datagram);
    void tick(Time now);
    std::optional<Time> nextDeadline() const;

    std::vector<Outgoing> takeOutgoing();
    std::vector<Change> takeChanges();

    // While this node holds the token: reads the digests the others published in the
    // kConnections carriage, starts the resyncs they call for, writes this node's own.
    // `carriage` is empty when no node has written one yet. Bad bytes are replaced.
    void onTokenHeld(Time now, std::vector<uint8_t>& carriage);

    const ReplicatorCounters& counters() const;
    std::optional<HeldRecord> find(const FlowTuple& forward) const;
    // Up to `limit` held records (of `vip`, or all when 0), for operators.
    std::vector<HeldRecord> sample(uint32_t vip, size_t limit) const;
    size_t localCount() const;
    size_t heldForOthers() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace ringgate::flows
