// One peer's ordered channel in both directions (conntrackd's FTFW is the model), without
// knowing what the records mean: the replicator appends records and applies the batches
// this class releases in order.
//
// Sending: records are batched into one datagram of one kind; every batch gets the next
// sequence number and stays in a bounded queue until the peer acknowledges it
// cumulatively. A NACK resends the missing batches; a NACK for a batch that fell out of the
// queue asks the replicator for a resync (a new session: ResyncBegin at a higher sequence
// number, the records the peer should hold, ResyncEnd). Unacknowledged batches are resent
// after a timeout, which also covers a lost last batch.
//
// Receiving: batches apply strictly in sequence order; a later one waits in a bounded
// reorder buffer while the gap is NACKed; a ResyncBegin starts a session and abandons
// everything before it. Acknowledgements are cumulative and delayed a little, or sent at
// once after a burst or a duplicate.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "control/flows/flow_codec.h"
#include "control/flows/flow_replicator.h"

namespace ringgate::flows {

// What every link of a node shares.
struct LinkContext {
    NodeId self = 0;
    uint64_t incarnation = 0;
    const cluster::AuthKey* key = nullptr;
    size_t recordsPerBatch = 1;
    const ReplicatorOptions* options = nullptr;
    ReplicatorCounters* counters = nullptr;
    std::vector<Outgoing>* out = nullptr;
};

class PeerLink {
public:
    PeerLink(const LinkContext& context, NodeId peer) : ctx_(&context), peer_(peer) {}

    NodeId peer() const { return peer_; }
    uint64_t peerIncarnation() const { return peerIncarnation_; }
    void setPeerIncarnation(uint64_t incarnation) { peerIncarnation_ = incarnation; }
    // The peer restarted: nothing of either direction's old session is valid.
    void resetForNewPeerLife(uint64_t incarnation);

    // ---- sending
    // Appends one record to the batch being built (flushing first if the kind or VIP
    // differs or the batch is full).
    void append(Time now, DatagramKind kind, uint32_t vip, RecordOp op, const FlowRecord& record);
    // Sends a batch of no records (Pull, ResyncBegin, ResyncEnd) after the pending one.
    void sendEmpty(Time now, DatagramKind kind, uint32_t vip);
    void flush(Time now);
    bool hasPending() const { return pendingCount_ > 0; }
    Time pendingSince() const { return pendingSince_; }
    // Marks the next batch as the start of a new session (sent by the caller as
    // ResyncBegin) and drops the old session's unacknowledged batches.
    void beginSession(Time now);
    void onAck(uint64_t seq);
    // Returns true when the peer needs a resync (the NACKed batches are gone).
    bool onNack(Time now, uint64_t first, uint64_t last);
    void resendExpired(Time now);
    std::optional<Time> resendDeadline() const;
    size_t unackedBatches() const { return unacked_.size(); }
    bool quiet() const { return unacked_.empty() && pendingCount_ == 0; }
    uint64_t lastSentSeq() const { return nextSeq_ - 1; }
    uint64_t ackedSeq() const { return acked_; }
    uint64_t sessionStart() const { return sessionStart_; }

    // ---- receiving
    enum class Verdict { Apply, Duplicate, Buffered, Dropped };
    // A sequenced batch: Apply means "apply `records` now, then call applied()".
    Verdict onSequenced(Time now, const DatagramHeader& header, std::vector<WireRecord>& records);
    void applied(Time now);
    // A buffered batch whose turn has come, or false. Its records move into `records`.
    bool takeReady(DatagramHeader& header, std::vector<WireRecord>& records);
    void receiverTick(Time now);
    std::optional<Time> receiverDeadline() const;
    uint64_t appliedSeq() const { return expected_ == 0 ? 0 : expected_ - 1; }
    // Tells the peer about this node's life (an answer to a datagram for an older one).
    void sendHello(Time now);
    // A datagram outside the channel (Ask, Answer): not numbered, not resent.
    void sendUnsequenced(DatagramKind kind, RecordOp op, std::span<const FlowRecord> records);

private:
    struct SentBatch {
        uint64_t seq;
        Time sentAt;
        std::vector<uint8_t> bytes;
    };
    struct HeldBatch {
        DatagramHeader header;
        std::vector<WireRecord> records;
    };
    DatagramHeader header(DatagramKind kind) const;
    void sendControl(DatagramKind kind, uint64_t seq, uint64_t seqEnd);
    void resend(SentBatch& batch, Time now);
    void nack(Time now);

    const LinkContext* ctx_;
    NodeId peer_;
    uint64_t peerIncarnation_ = 0;

    // sending
    uint64_t nextSeq_ = 1;
    uint64_t sessionStart_ = 0;  // 0: no session started toward this peer
    uint64_t acked_ = 0;
    uint64_t lost_ = 0;          // highest batch dropped from the queue before its ack
    std::deque<SentBatch> unacked_;
    std::vector<uint8_t> pending_;
    size_t pendingCount_ = 0;
    bool pendingEmpty_ = false;  // a record-less batch (Pull, ResyncBegin/End) is built
    DatagramKind pendingKind_ = DatagramKind::Data;
    uint32_t pendingVip_ = 0;
    Time pendingSince_{0};

    // receiving
    uint64_t expected_ = 0;      // next batch to apply; 0: waiting for a session start
    std::map<uint64_t, HeldBatch> reorder_;
    size_t appliedSinceAck_ = 0;
    std::optional<Time> ackDue_;
    Time lastNackAt_{-1'000'000'000};
    uint64_t lastNackFrom_ = UINT64_MAX;
};

}  // namespace ringgate::flows
