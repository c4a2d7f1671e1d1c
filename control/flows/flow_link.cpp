#include "control/flows/flow_link.h"

#include <algorithm>

namespace ringgate::flows {

namespace {
// A burst of this many applied batches is acknowledged at once, so that a fast sender's
// queue stays short without an ack per batch.
constexpr size_t kAckEvery = 32;
// Resends per timer round and peer: a dead or partitioned peer costs a trickle, not the queue.
constexpr size_t kResendsPerRound = 64;
}  // namespace

DatagramHeader PeerLink::header(DatagramKind kind) const {
    DatagramHeader h;
    h.kind = kind;
    h.sender = ctx_->self;
    h.receiver = peer_;
    h.senderIncarnation = ctx_->incarnation;
    h.receiverIncarnation = peerIncarnation_;
    return h;
}

void PeerLink::resetForNewPeerLife(uint64_t incarnation) {
    peerIncarnation_ = incarnation;
    pending_.clear();
    pendingCount_ = 0;
    unacked_.clear();
    // Sequence numbers keep growing within this node's life; the new peer has seen none.
    acked_ = lost_ = nextSeq_ - 1;
    sessionStart_ = 0;
    expected_ = 0;
    reorder_.clear();
    appliedSinceAck_ = 0;
    ackDue_.reset();
    lastNackFrom_ = UINT64_MAX;
}

// ---------------------------------------------------------------- sending

void PeerLink::append(Time now, DatagramKind kind, uint32_t vip, RecordOp op, const FlowRecord& record) {
    if (pendingCount_ > 0 && (kind != pendingKind_ || vip != pendingVip_)) flush(now);
    if (pendingCount_ == 0) {
        DatagramHeader h = header(kind);
        h.vip = vip;
        beginDatagram(pending_, h);
        pendingKind_ = kind;
        pendingVip_ = vip;
        pendingSince_ = now;
    }
    appendRecord(pending_, op, record);
    if (++pendingCount_ >= ctx_->recordsPerBatch) flush(now);
}

void PeerLink::sendEmpty(Time now, DatagramKind kind, uint32_t vip) {
    flush(now);
    DatagramHeader h = header(kind);
    h.vip = vip;
    beginDatagram(pending_, h);
    pendingKind_ = kind;
    pendingVip_ = vip;
    pendingCount_ = 0;
    // flush() sends a built batch even without records when its kind allows none.
    pendingSince_ = now;
    pendingEmpty_ = true;
    flush(now);
}

void PeerLink::beginSession(Time now) {
    flush(now);
    sessionStart_ = nextSeq_;
    // The peer abandons every batch before the session's start: none is worth resending,
    // and a queue full of them must not hold the new session back.
    unacked_.clear();
    lost_ = nextSeq_ - 1;
}

void PeerLink::flush(Time now) {
    if (pendingCount_ == 0 && !pendingEmpty_) return;
    uint64_t seq = nextSeq_++;
    // The sequence number is known only now: patch it into the header before sealing.
    for (int i = 0; i < 8; ++i) pending_[32 + i] = static_cast<uint8_t>(seq >> (8 * (7 - i)));
    sealDatagram(pending_, *ctx_->key);
    if (unacked_.size() >= ctx_->options->resendQueueBatches) {
        lost_ = unacked_.front().seq;
        unacked_.pop_front();
    }
    ctx_->out->push_back(Outgoing{peer_, pending_});
    ctx_->counters->batchesSent++;
    ctx_->counters->recordsSent += pendingCount_;
    unacked_.push_back(SentBatch{seq, now, std::move(pending_)});
    pending_ = std::vector<uint8_t>();
    pending_.reserve(kFlowHeaderSize + ctx_->recordsPerBatch * kFlowRecordSize + kFlowTagSize);
    pendingCount_ = 0;
    pendingEmpty_ = false;
}

void PeerLink::onAck(uint64_t seq) {
    if (seq <= acked_ || seq >= nextSeq_) return;  // stale, or names a batch never sent
    acked_ = seq;
    while (!unacked_.empty() && unacked_.front().seq <= seq) unacked_.pop_front();
}

void PeerLink::resend(SentBatch& batch, Time now) {
    batch.sentAt = now;
    ctx_->out->push_back(Outgoing{peer_, batch.bytes});
    size_t records = (batch.bytes.size() - kFlowHeaderSize) / kFlowRecordSize;
    ctx_->counters->recordsResent += records;
}

bool PeerLink::onNack(Time now, uint64_t first, uint64_t last) {
    ctx_->counters->nacksReceived++;
    if (sessionStart_ == 0) return true;  // never started a session: start one
    // "No session of yours" after the peer acknowledged this session's start: it lost its
    // state without a new incarnation (a clock set back). Only a new session helps.
    if (first == 0 && sessionStart_ <= acked_) return true;
    if (first == 0 || first < sessionStart_) {
        // The peer has not seen this session's start.
        if (sessionStart_ <= acked_) return false;  // it has: a late NACK of an old session
        if (sessionStart_ <= lost_) return true;
        first = sessionStart_;
        last = std::max(last, sessionStart_);
    }
    last = std::min(last, nextSeq_ - 1);
    first = std::max(first, acked_ + 1);
    if (first > last) return false;
    if (first <= lost_) return true;
    if (unacked_.empty()) return false;
    uint64_t front = unacked_.front().seq;
    for (uint64_t seq = first; seq <= last && seq - front < unacked_.size(); ++seq)
        resend(unacked_[seq - front], now);
    return false;
}

void PeerLink::resendExpired(Time now) {
    size_t budget = kResendsPerRound;
    for (SentBatch& batch : unacked_) {
        if (budget == 0) break;
        if (batch.sentAt + ctx_->options->resendTimeout > now) continue;
        resend(batch, now);
        --budget;
    }
}

std::optional<Time> PeerLink::resendDeadline() const {
    std::optional<Time> earliest;
    // Batches are sent in order and resent from the front, so the first few decide.
    size_t n = std::min(unacked_.size(), kResendsPerRound);
    for (size_t i = 0; i < n; ++i) {
        Time t = unacked_[i].sentAt + ctx_->options->resendTimeout;
        if (!earliest || t < *earliest) earliest = t;
    }
    return earliest;
}

// ---------------------------------------------------------------- receiving

void PeerLink::sendControl(DatagramKind kind, uint64_t seq, uint64_t seqEnd) {
    DatagramHeader h = header(kind);
    h.seq = seq;
    h.seqEnd = seqEnd;
    std::vector<uint8_t> bytes;
    bytes.reserve(kFlowHeaderSize + kFlowTagSize);
    beginDatagram(bytes, h);
    sealDatagram(bytes, *ctx_->key);
    ctx_->out->push_back(Outgoing{peer_, std::move(bytes)});
}

void PeerLink::sendHello(Time) { sendControl(DatagramKind::Ack, appliedSeq(), 0); }

void PeerLink::sendUnsequenced(DatagramKind kind, RecordOp op, std::span<const FlowRecord> records) {
    std::vector<uint8_t> bytes;
    bytes.reserve(kFlowHeaderSize + records.size() * kFlowRecordSize + kFlowTagSize);
    beginDatagram(bytes, header(kind));
    for (const FlowRecord& r : records) appendRecord(bytes, op, r);
    sealDatagram(bytes, *ctx_->key);
    ctx_->out->push_back(Outgoing{peer_, std::move(bytes)});
}

void PeerLink::nack(Time now) {
    uint64_t first = expected_;
    uint64_t last = reorder_.empty() ? expected_ : reorder_.begin()->first - 1;
    if (expected_ == 0) first = last = 0;
    // The same gap again only after the sender had time to resend it.
    if (first == lastNackFrom_ && now < lastNackAt_ + ctx_->options->resendTimeout / 2) return;
    lastNackAt_ = now;
    lastNackFrom_ = first;
    sendControl(DatagramKind::Nack, first, last);
    ctx_->counters->nacksSent++;
}

PeerLink::Verdict PeerLink::onSequenced(Time now, const DatagramHeader& h, std::vector<WireRecord>& records) {
    uint64_t seq = h.seq;
    if (h.kind == DatagramKind::ResyncBegin) {
        if (expected_ != 0 && seq < expected_) {
            ctx_->counters->duplicates++;
            ackDue_ = now;
            return Verdict::Duplicate;
        }
        // A new session: whatever of the old one is still missing or waiting is superseded.
        reorder_.erase(reorder_.begin(), reorder_.lower_bound(seq));
        expected_ = seq;
        return Verdict::Apply;
    }
    if (expected_ != 0 && seq < expected_) {
        ctx_->counters->duplicates++;
        ackDue_ = now;
        return Verdict::Duplicate;
    }
    if (expected_ != 0 && seq == expected_) return Verdict::Apply;
    if (reorder_.count(seq)) {
        ctx_->counters->duplicates++;
        return Verdict::Duplicate;
    }
    if (reorder_.size() >= ctx_->options->reorderBatches) {
        // Keep the earliest batches: they are the ones that unblock the channel.
        if (seq > reorder_.rbegin()->first) {
            ctx_->counters->reorderDrops++;
            nack(now);
            return Verdict::Dropped;
        }
        reorder_.erase(std::prev(reorder_.end()));
        ctx_->counters->reorderDrops++;
    }
    reorder_.emplace(seq, HeldBatch{h, std::move(records)});
    ctx_->counters->outOfOrder++;
    nack(now);
    return Verdict::Buffered;
}

void PeerLink::applied(Time now) {
    ++expected_;
    ctx_->counters->batchesReceived++;
    if (++appliedSinceAck_ >= kAckEvery) ackDue_ = now;
    else if (!ackDue_) ackDue_ = now + ctx_->options->ackDelay;
}

bool PeerLink::takeReady(DatagramHeader& h, std::vector<WireRecord>& records) {
    if (reorder_.empty() || expected_ == 0 || reorder_.begin()->first != expected_) return false;
    auto node = reorder_.extract(reorder_.begin());
    h = node.mapped().header;
    records = std::move(node.mapped().records);
    return true;
}

void PeerLink::receiverTick(Time now) {
    if (!reorder_.empty() && (expected_ == 0 || reorder_.begin()->first != expected_)) nack(now);
    if (ackDue_ && *ackDue_ <= now) {
        sendControl(DatagramKind::Ack, appliedSeq(), 0);
        ctx_->counters->acksSent++;
        appliedSinceAck_ = 0;
        ackDue_.reset();
    }
}

std::optional<Time> PeerLink::receiverDeadline() const {
    std::optional<Time> t = ackDue_;
    if (!reorder_.empty()) {
        Time n = lastNackAt_ + ctx_->options->resendTimeout / 2;
        if (!t || n < *t) t = n;
    }
    return t;
}

}  // namespace ringgate::flows
