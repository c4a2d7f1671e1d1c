#include "control/flows/flow_replicator.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>

#include "control/flows/flow_carriage.h"
#include "control/flows/flow_codec.h"
#include "control/flows/flow_link.h"
#include "control/flows/flow_store.h"

namespace ringgate::flows {

namespace {

constexpr uint8_t kLocal = static_cast<uint8_t>(Role::Local);
constexpr uint8_t kReplica = static_cast<uint8_t>(Role::Replica);
constexpr uint8_t kForwarding = static_cast<uint8_t>(Role::Forwarding);
constexpr uint8_t kCache = static_cast<uint8_t>(Role::Cache);
constexpr Time kLongAgo{-1'000'000'000'000};

bool contains(const std::vector<uint32_t>& sorted, uint32_t value) {
    return std::binary_search(sorted.begin(), sorted.end(), value);
}

void sortUnique(std::vector<uint32_t>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    v.erase(std::remove(v.begin(), v.end(), 0u), v.end());
}

// Holders of a record: the first two ranks of its authority among `members`, but never
// its handler (which has the flow anyway). 0 marks an empty place.
struct Holders {
    NodeId node[2] = {0, 0};
    bool has(NodeId n) const { return n != 0 && (node[0] == n || node[1] == n); }
};

Holders holdersOf(const FlowRecord& r, const std::vector<uint32_t>& members) {
    RendezvousPick pick = rendezvousPick(r.authority(), members);
    Holders h;
    int i = 0;
    for (NodeId n : {pick.first, pick.second})
        if (n != 0 && n != r.handler) h.node[i++] = n;
    return h;
}

struct Digest {
    uint32_t count = 0;
    uint64_t sum = 0;
    void add(const FlowRecord& r, int sign) {
        count += static_cast<uint32_t>(sign);
        sum += static_cast<uint64_t>(sign) * recordDigest(r);
    }
};

// A long task toward one peer that sends many records (a resync, or a pull's answer). It
// walks the store with a cursor and yields while the peer's resend queue is half full, so
// that a big store never overflows the queue it is being sent through.
struct BulkJob {
    bool resync = false;  // else a Transfer of `vip`
    uint32_t vip = 0;
    uint32_t cursor = 0;
    bool started = false;
};

// A Pull this node sent, or the last batch of a Transfer it answered, not yet acknowledged:
// a new session abandons it at the receiver, so the session sends it again.
struct Replay {
    bool pull = false;  // else a Transfer
    uint32_t vip = 0;
    uint64_t seq = 0;
};

struct Peer {
    Peer(const LinkContext& ctx, NodeId id) : link(ctx, id) {}
    PeerLink link;
    std::deque<BulkJob> jobs;
    std::vector<Replay> replays;
    Time lastResyncAt = kLongAgo;
    bool resyncWanted = false;    // asked for while the last one is too recent
    uint32_t sessionMark = 0;     // as receiver: the peer's resync session being applied
    Digest sent;                  // our Local records it should hold
    Digest held;                  // its records we hold as Replica
    bool mismatchSeen = false;    // the carriage disagreed at our last visit...
    uint32_t mismatchVisit = 0;   // ...as of this visit of the peer
    Time lastHelloAt = kLongAgo;
};

}  // namespace

struct FlowReplicator::State {
    explicit State(ReplicatorOptions o) : options(std::move(o)), key(options.sharedKey) {
        ctx.self = options.self;
        ctx.incarnation = options.incarnation;
        ctx.key = &key;
        ctx.recordsPerBatch = recordsPerDatagram(options.maxDatagram, key);
        ctx.options = &options;
        ctx.counters = &counters;
        ctx.out = &out;
        members = {options.self};
        // The budget bounds what is held for others; a node's own flows come on top.
        store.reserve(options.budgetRecords + options.budgetRecords / 4);
    }

    ReplicatorOptions options;
    cluster::AuthKey key;
    ReplicatorCounters counters;
    LinkContext ctx;
    std::vector<Outgoing> out;
    std::vector<Change> changes;
    FlowStore store;
    std::vector<uint32_t> members;    // sorted
    std::vector<uint32_t> ownedVips;  // sorted
    std::map<NodeId, Peer> peers;
    std::unordered_map<FlowTuple, Time, FlowTupleHash> asks;  // reply tuple -> expiry
    std::map<uint32_t, std::set<NodeId>> awaitedPulls;        // owned VIP -> peers yet to answer
    size_t localCount = 0;
    size_t heldForOthers = 0;
    uint32_t visit = 0;
    uint32_t nextMark = 0;
    // Receive scratch, reused: the receive path allocates nothing in steady state.
    DatagramHeader header;
    std::vector<WireRecord> records;

    bool isMember(NodeId n) const { return contains(members, n); }
    bool owns(uint32_t vip) const { return contains(ownedVips, vip); }

    Peer& peer(NodeId id) {
        auto it = peers.find(id);
        if (it == peers.end()) it = peers.try_emplace(id, ctx, id).first;
        return it->second;
    }

    // ------------------------------------------------------------ the store's one door
    // Every change of a slot goes through here, so that the digests, the budget count and
    // the fast path's entries never disagree with the store.
    void account(const StoredFlow& s, int sign) {
        if (s.roles & kLocal) {
            localCount += static_cast<size_t>(sign);
            Holders h = holdersOf(s.record, members);
            for (NodeId n : h.node)
                if (n != 0) peer(n).sent.add(s.record, sign);
            return;
        }
        heldForOthers += static_cast<size_t>(sign);
        if (s.roles & kReplica) peer(s.record.handler).held.add(s.record, sign);
    }

    // Inserts a record this node keeps for another handler; false when over budget.
    bool insertRemote(const FlowRecord& r, uint8_t roles, uint32_t mark = 0) {
        if (heldForOthers >= options.budgetRecords) {
            counters.budgetDrops++;
            return false;
        }
        uint32_t slot = store.insert(r, roles);
        store.at(slot).resyncMark = mark;
        account(store.at(slot), +1);
        changes.emplace_back(InstallRemote{r, roles});
        return true;
    }

    void replace(uint32_t slot, const FlowRecord& r, uint8_t roles) {
        StoredFlow& s = store.at(slot);
        uint8_t before = s.roles;
        bool sameRecord = s.record == r;
        if (before == roles && sameRecord) return;
        account(s, -1);
        if (roles == 0) {
            FlowTuple forward = s.record.forward;
            store.erase(slot);
            if (!(before & kLocal)) changes.emplace_back(RemoveRemote{forward});
            return;
        }
        if (!sameRecord) store.update(slot, r);
        store.setRoles(slot, roles);
        account(s, +1);
        if (!(roles & kLocal)) changes.emplace_back(InstallRemote{r, roles});
    }

    void sendToHolders(Time now, const FlowRecord& r, RecordOp op) {
        Holders h = holdersOf(r, members);
        for (NodeId n : h.node)
            if (n != 0) peer(n).link.append(now, DatagramKind::Data, 0, op, r);
    }

    void adopt(Time now, FlowRecord r, uint32_t slot) {
        r.handler = options.self;
        if (slot == FlowStore::kNone) {
            slot = store.insert(r, kLocal);
            account(store.at(slot), +1);
        } else {
            replace(slot, r, kLocal);
        }
        changes.emplace_back(Adopt{r});
        counters.adopted++;
        sendToHolders(now, r, RecordOp::Upsert);
    }

    // ------------------------------------------------------------ resyncs and bulk jobs
    void requestResync(Time now, Peer& p) {
        for (const BulkJob& j : p.jobs)
            if (j.resync && !j.started) return;  // one is coming anyway
        if (now < p.lastResyncAt + options.resendTimeout) {
            p.resyncWanted = true;
            return;
        }
        // A newer session supersedes a resync under way, goes first (it clears the queue a
        // waiting job may be stuck behind), and abandons what a started Transfer sent.
        std::erase_if(p.jobs, [](const BulkJob& j) { return j.resync; });
        for (BulkJob& j : p.jobs) j = BulkJob{false, j.vip, 0, false};
        p.jobs.push_front(BulkJob{true, 0, 0, false});
        p.lastResyncAt = now;
        p.resyncWanted = false;
    }

    void pump(Time now, Peer& p) {
        if (!isMember(p.link.peer())) return;
        size_t room = std::max<size_t>(1, options.resendQueueBatches / 2);
        while (!p.jobs.empty()) {
            BulkJob& job = p.jobs.front();
            if (!job.started) {
                // A resync starts at once: it clears the queue that may be what blocks.
                if (!job.resync && p.link.unackedBatches() >= room) break;
                job.started = true;
                if (job.resync) startSession(now, p);
            }
            NodeId to = p.link.peer();
            while (job.cursor < store.slotCount() && p.link.unackedBatches() < room) {
                const StoredFlow& s = store.at(job.cursor++);
                if (s.roles == 0) continue;
                if (job.resync) {
                    if ((s.roles & kLocal) && holdersOf(s.record, members).has(to))
                        p.link.append(now, DatagramKind::Data, 0, RecordOp::Upsert, s.record);
                } else if (s.record.vip() == job.vip) {
                    p.link.append(now, DatagramKind::Transfer, job.vip, RecordOp::Upsert, s.record);
                }
            }
            if (job.cursor < store.slotCount()) break;  // wait for acknowledgements
            if (job.resync) {
                p.link.sendEmpty(now, DatagramKind::ResyncEnd, 0);
            } else {
                p.link.sendEmpty(now, DatagramKind::TransferEnd, job.vip);
                p.replays.push_back(Replay{false, job.vip, p.link.lastSentSeq()});
            }
            p.jobs.pop_front();
        }
    }

    void startSession(Time now, Peer& p) {
        p.link.beginSession(now);
        p.link.sendEmpty(now, DatagramKind::ResyncBegin, 0);
        counters.resyncsSent++;
        std::vector<Replay> replays = std::move(p.replays);
        p.replays.clear();
        for (const Replay& r : replays) {
            if (r.seq <= p.link.ackedSeq()) continue;
            if (r.pull) pull(now, p, r.vip);
            else p.jobs.push_back(BulkJob{false, r.vip, 0, false});
        }
    }

    void forgetAcknowledgedReplays(Peer& p) {
        std::vector<uint32_t> transferred;
        std::erase_if(p.replays, [&p, &transferred](const Replay& r) {
            if (r.seq > p.link.ackedSeq()) return false;
            if (!r.pull) transferred.push_back(r.vip);
            return true;
        });
        for (uint32_t vip : transferred) dropPulledOrphans(vip);
    }

    // Copies of a dead handler's flows wait for the VIP's owner to pull them. Once the
    // owner has them (our Transfer is acknowledged), they go: the adopter sends its own
    // record to the flow's holders, in its channel, and resyncs them from it if that
    // channel restarts; a dead handler's copy left here would outlive the flow.
    void dropPulledOrphans(uint32_t vip) {
        for (uint32_t slot = 0; slot < store.slotCount(); ++slot) {
            StoredFlow& e = store.at(slot);
            if (!(e.roles & kReplica) || e.record.vip() != vip || isMember(e.record.handler)) continue;
            replace(slot, e.record, e.roles & ~kReplica);
        }
    }

    void pumpAll(Time now) {
        for (auto& [id, p] : peers)
            if (!p.jobs.empty()) pump(now, p);
    }

    void pull(Time now, Peer& from, uint32_t vip) {
        awaitedPulls[vip].insert(from.link.peer());
        from.link.sendEmpty(now, DatagramKind::Pull, vip);
        from.replays.push_back(Replay{true, vip, from.link.lastSentSeq()});
        counters.pullsSent++;
    }

    // `from` has sent all it holds of `vip` (or left the ring): when no live peer is left
    // to answer, the fast path stops holding the VIP's unknown packets.
    void pullAnswered(uint32_t vip, NodeId from) {
        auto it = awaitedPulls.find(vip);
        if (it == awaitedPulls.end() || !it->second.erase(from) || !it->second.empty()) return;
        awaitedPulls.erase(it);
        if (!owns(vip)) return;
        counters.pullsCompleted++;
        changes.emplace_back(VipSettled{vip});
    }

    // A peer that left, or restarted (its new life holds nothing of its old one), will not
    // answer the pulls it was sent.
    void pullsUnanswerable(NodeId peer) {
        std::vector<uint32_t> vips;
        for (const auto& [vip, waiting] : awaitedPulls)
            if (waiting.count(peer)) vips.push_back(vip);
        for (uint32_t vip : vips) pullAnswered(vip, peer);
    }

    // Flows of `vip` this node already keeps for a handler that is gone: adopt them here.
    void adoptHeldOrphans(Time now, uint32_t vip) {
        for (uint32_t slot = 0; slot < store.slotCount(); ++slot) {
            const StoredFlow& s = store.at(slot);
            if (s.roles == 0 || (s.roles & kLocal) || s.record.vip() != vip || isMember(s.record.handler))
                continue;
            adopt(now, s.record, slot);
        }
    }

    void recomputeSent() {
        for (auto& [id, p] : peers) p.sent = Digest{};
        for (uint32_t slot = 0; slot < store.slotCount(); ++slot) {
            const StoredFlow& s = store.at(slot);
            if (!(s.roles & kLocal)) continue;
            Holders h = holdersOf(s.record, members);
            for (NodeId n : h.node)
                if (n != 0) peer(n).sent.add(s.record, +1);
        }
    }

    // ------------------------------------------------------------ applying what peers send
    void applyUpsert(Peer& p, const FlowRecord& r) {
        if (r.handler != p.link.peer()) {
            counters.foreignRecords++;  // a node speaks only for the flows it handles
            return;
        }
        uint32_t slot = store.find(r.forward);
        if (slot == FlowStore::kNone) {
            insertRemote(r, kReplica, p.sessionMark);
            return;
        }
        StoredFlow& s = store.at(slot);
        if (s.roles & kLocal) {
            counters.conflicts++;
            return;
        }
        s.resyncMark = p.sessionMark;
        replace(slot, r, s.roles | kReplica);
    }

    void applyEnd(Peer& p, const FlowTuple& forward) {
        uint32_t slot = store.find(forward);
        if (slot == FlowStore::kNone) return;
        const StoredFlow& s = store.at(slot);
        // Only the flow's handler ends it: an End from an earlier handler of a flow that
        // was adopted since must not erase the adopter's record.
        if ((s.roles & kLocal) || s.record.handler != p.link.peer()) return;
        replace(slot, s.record, 0);
    }

    void applyTransfer(Time now, uint32_t vip, const FlowRecord& r) {
        if (!owns(vip) || r.vip() != vip || r.handler == options.self) return;
        uint32_t slot = store.find(r.forward);
        if (slot != FlowStore::kNone && (store.at(slot).roles & kLocal)) return;
        if (!isMember(r.handler)) {
            adopt(now, r, slot);
            return;
        }
        if (slot == FlowStore::kNone) {
            insertRemote(r, kForwarding);
            return;
        }
        StoredFlow& s = store.at(slot);
        // A replica came from the handler itself: its record is the one to keep.
        replace(slot, (s.roles & kReplica) ? s.record : r, s.roles | kForwarding);
    }

    void endResync(Peer& p) {
        NodeId handler = p.link.peer();
        for (uint32_t slot = 0; slot < store.slotCount(); ++slot) {
            StoredFlow& s = store.at(slot);
            if ((s.roles & kReplica) && s.record.handler == handler && s.resyncMark != p.sessionMark)
                replace(slot, s.record, s.roles & ~kReplica);
        }
    }

    void applyBatch(Time now, Peer& p, const DatagramHeader& h, const std::vector<WireRecord>& records) {
        for (const WireRecord& w : records) store.prefetch(w.record);
        switch (h.kind) {
            case DatagramKind::Data:
                for (const WireRecord& w : records) {
                    if (w.op == RecordOp::Upsert) applyUpsert(p, w.record);
                    else applyEnd(p, w.record.forward);
                }
                counters.recordsReceived += records.size();
                break;
            case DatagramKind::Transfer:
            case DatagramKind::TransferEnd:
                for (const WireRecord& w : records) applyTransfer(now, h.vip, w.record);
                counters.recordsReceived += records.size();
                if (h.kind == DatagramKind::TransferEnd) pullAnswered(h.vip, p.link.peer());
                break;
            case DatagramKind::Pull:
                p.jobs.push_back(BulkJob{false, h.vip, 0, false});
                counters.pullsAnswered++;
                break;
            case DatagramKind::ResyncBegin:
                p.sessionMark = ++nextMark;
                counters.resyncsReceived++;
                for (const WireRecord& w : records) applyUpsert(p, w.record);
                break;
            case DatagramKind::ResyncEnd:
                for (const WireRecord& w : records) applyUpsert(p, w.record);
                endResync(p);
                break;
            default:
                break;
        }
    }

    void answerAsk(Peer& p, const std::vector<WireRecord>& records) {
        std::vector<FlowRecord> answers;
        for (const WireRecord& w : records) {
            uint32_t slot = store.findReverse(w.record.reverse);
            if (slot == FlowStore::kNone) slot = store.find(w.record.reverse);
            if (slot == FlowStore::kNone) continue;
            const FlowRecord& r = store.at(slot).record;
            if (r.handler != options.self && !isMember(r.handler)) continue;
            answers.push_back(r);
        }
        if (answers.empty()) return;
        p.link.sendUnsequenced(DatagramKind::Answer, RecordOp::Upsert, answers);
        counters.asksAnswered += answers.size();
    }

    void applyAnswer(const std::vector<WireRecord>& records) {
        for (const WireRecord& w : records) {
            const FlowRecord& r = w.record;
            // Only what this node asked for: an unasked answer could plant any route.
            if (asks.erase(r.reverse) == 0) continue;
            if (r.handler == options.self || !isMember(r.handler)) continue;
            uint32_t slot = store.find(r.forward);
            if (slot == FlowStore::kNone) {
                insertRemote(r, kCache);
                continue;
            }
            StoredFlow& s = store.at(slot);
            if (s.roles & kLocal) continue;
            replace(slot, (s.roles & (kReplica | kForwarding)) ? s.record : r, s.roles | kCache);
        }
    }

    void peerRestarted(Time now, Peer& p, uint64_t incarnation) {
        p.link.resetForNewPeerLife(incarnation);
        p.jobs.clear();  // its old life's pulls
        p.replays.clear();
        pullsUnanswerable(p.link.peer());
        p.sessionMark = 0;
        p.mismatchSeen = false;
        p.lastResyncAt = kLongAgo;
        requestResync(now, p);
    }
};

FlowReplicator::FlowReplicator(ReplicatorOptions options)
    : state_(std::make_unique<State>(std::move(options))) {}
FlowReplicator::~FlowReplicator() = default;
FlowReplicator::FlowReplicator(FlowReplicator&&) noexcept = default;
FlowReplicator& FlowReplicator::operator=(FlowReplicator&&) noexcept = default;

void FlowReplicator::setMembers(Time now, std::vector<NodeId> members) {
    State& s = *state_;
    sortUnique(members);
    std::vector<uint32_t> old = std::move(s.members);
    s.members = std::move(members);
    std::vector<uint32_t> left, joined;
    std::set_difference(old.begin(), old.end(), s.members.begin(), s.members.end(), std::back_inserter(left));
    std::set_difference(s.members.begin(), s.members.end(), old.begin(), old.end(), std::back_inserter(joined));

    for (NodeId n : left) s.pullsUnanswerable(n);
    // A peer this node never started a session with gets one: its first batch tells it
    // to forget the records of any earlier life of this node.
    for (NodeId n : s.members)
        if (n != s.options.self && s.peer(n).link.sessionStart() == 0) s.requestResync(now, s.peer(n));

    for (uint32_t slot = 0; slot < s.store.slotCount(); ++slot) {
        StoredFlow& e = s.store.at(slot);
        if (e.roles == 0) continue;
        if (e.roles & kLocal) {
            Holders before = holdersOf(e.record, old), after = holdersOf(e.record, s.members);
            for (NodeId n : after.node) {
                if (n == 0 || before.has(n)) continue;
                s.peer(n).link.append(now, DatagramKind::Data, 0, RecordOp::Upsert, e.record);
                s.counters.rehomed++;
            }
            continue;
        }
        bool handlerAlive = s.isMember(e.record.handler);
        if (!handlerAlive && s.owns(e.record.vip())) {
            s.adopt(now, e.record, slot);
            continue;
        }
        uint8_t roles = e.roles;
        // A replica of a dead handler stays until a VIP owner pulls and adopts it.
        if ((roles & kReplica) && handlerAlive && !holdersOf(e.record, s.members).has(s.options.self))
            roles &= ~kReplica;
        if ((roles & kCache) && !handlerAlive) roles &= ~kCache;
        if (roles != e.roles) s.replace(slot, e.record, roles);
    }
    s.recomputeSent();

    // The VIPs this node owns: after a departure every peer may hold flows to adopt; after
    // an arrival (a partition healed) the newcomers may, and the old members may hold
    // copies they are no longer holders of (dropped once pulled).
    if (!left.empty() || !joined.empty())
        for (uint32_t vip : s.ownedVips)
            for (NodeId n : s.members)
                if (n != s.options.self) s.pull(now, s.peer(n), vip);
    s.pumpAll(now);
}

void FlowReplicator::setOwnedVips(Time now, std::vector<uint32_t> vips) {
    State& s = *state_;
    sortUnique(vips);
    std::vector<uint32_t> gained, released;
    std::set_difference(vips.begin(), vips.end(), s.ownedVips.begin(), s.ownedVips.end(), std::back_inserter(gained));
    std::set_difference(s.ownedVips.begin(), s.ownedVips.end(), vips.begin(), vips.end(), std::back_inserter(released));
    s.ownedVips = std::move(vips);
    if (!released.empty()) {
        for (uint32_t slot = 0; slot < s.store.slotCount(); ++slot) {
            StoredFlow& e = s.store.at(slot);
            if ((e.roles & kForwarding) && contains(released, e.record.vip()))
                s.replace(slot, e.record, e.roles & ~kForwarding);
        }
    }
    for (uint32_t vip : released) s.awaitedPulls.erase(vip);
    for (uint32_t vip : gained) {
        s.adoptHeldOrphans(now, vip);
        for (NodeId n : s.members)
            if (n != s.options.self) s.pull(now, s.peer(n), vip);
        if (!s.awaitedPulls.count(vip)) {  // no peer to ask: nothing is on its way
            s.counters.pullsCompleted++;
            s.changes.emplace_back(VipSettled{vip});
        }
    }
    s.pumpAll(now);
}

void FlowReplicator::localCreated(Time now, const FlowRecord& record) {
    State& s = *state_;
    FlowRecord r = record;
    r.handler = s.options.self;
    uint32_t slot = s.store.find(r.forward);
    if (slot == FlowStore::kNone) {
        slot = s.store.insert(r, kLocal);
        s.account(s.store.at(slot), +1);
    } else {
        if (s.store.at(slot).roles == kLocal && s.store.at(slot).record == r) return;
        s.replace(slot, r, kLocal);
    }
    s.sendToHolders(now, r, RecordOp::Upsert);
}

void FlowReplicator::prefetch(const FlowTuple& forward) const { state_->store.prefetchForward(forward); }

void FlowReplicator::localEnded(Time now, const FlowTuple& forward) {
    State& s = *state_;
    uint32_t slot = s.store.find(forward);
    if (slot == FlowStore::kNone || !(s.store.at(slot).roles & kLocal)) return;
    FlowRecord r = s.store.at(slot).record;
    s.replace(slot, r, 0);
    s.sendToHolders(now, r, RecordOp::End);
}

void FlowReplicator::remoteExpired(Time, const FlowTuple& forward) {
    State& s = *state_;
    uint32_t slot = s.store.find(forward);
    if (slot == FlowStore::kNone) return;
    StoredFlow& e = s.store.at(slot);
    if (e.roles & kLocal) return;
    s.replace(slot, e.record, e.roles & ~(kForwarding | kCache));
}

void FlowReplicator::ask(Time now, const FlowTuple& reply) {
    State& s = *state_;
    auto it = s.asks.find(reply);
    if (it != s.asks.end() && it->second > now) return;
    NodeId authority = rendezvousPick(authorityKey(reply.dst, reply.dstPort, reply.proto), s.members).first;
    if (authority == 0 || authority == s.options.self) return;
    s.asks[reply] = now + s.options.resendTimeout;
    FlowRecord query;
    query.reverse = reply;
    s.peer(authority).link.sendUnsequenced(DatagramKind::Ask, RecordOp::Query, std::span(&query, 1));
    s.counters.asksSent++;
}

void FlowReplicator::receive(Time now, NodeId from, std::span<const uint8_t> datagram) {
    State& s = *state_;
    ReplicatorCounters& c = s.counters;
    c.datagramsReceived++;
    DatagramHeader& h = s.header;
    switch (decodeDatagram(datagram, s.key, h, s.records)) {
        case DecodeError::None: break;
        case DecodeError::BadVersion: c.badVersion++; return;
        case DecodeError::Unauthenticated: c.unauthenticated++; return;
        default: c.malformed++; return;
    }
    if (h.sender != from || from == s.options.self || from == 0) {
        c.spoofed++;
        return;
    }
    if (h.receiver != s.options.self) {
        c.notForUs++;
        return;
    }
    if (h.senderIncarnation == 0) {
        c.malformed++;
        return;
    }
    Peer& p = s.peer(from);
    uint64_t known = p.link.peerIncarnation();
    if (h.senderIncarnation < known) {
        c.staleIncarnation++;
        return;
    }
    if (h.receiverIncarnation != 0 && h.receiverIncarnation != s.options.incarnation) {
        // For an earlier life of ours: tell the sender who we are now (it resyncs us).
        c.staleIncarnation++;
        if (h.senderIncarnation > known) p.link.setPeerIncarnation(h.senderIncarnation);
        if (now >= p.lastHelloAt + s.options.resendTimeout) {
            p.lastHelloAt = now;
            p.link.sendHello(now);
        }
        return;
    }
    c.datagramsAccepted++;
    if (h.senderIncarnation > known) {
        if (known != 0) s.peerRestarted(now, p, h.senderIncarnation);
        else p.link.setPeerIncarnation(h.senderIncarnation);
    }

    switch (h.kind) {
        case DatagramKind::Ack:
            p.link.onAck(h.seq);
            s.forgetAcknowledgedReplays(p);
            break;
        case DatagramKind::Nack:
            if (p.link.onNack(now, h.seq, h.seqEnd)) s.requestResync(now, p);
            break;
        case DatagramKind::Ask:
            s.answerAsk(p, s.records);
            break;
        case DatagramKind::Answer:
            s.applyAnswer(s.records);
            break;
        default: {
            if (p.link.onSequenced(now, h, s.records) != PeerLink::Verdict::Apply) break;
            s.applyBatch(now, p, h, s.records);
            p.link.applied(now);
            while (p.link.takeReady(h, s.records)) {
                s.applyBatch(now, p, h, s.records);
                p.link.applied(now);
            }
            break;
        }
    }
    if (!p.jobs.empty()) s.pump(now, p);
}

void FlowReplicator::tick(Time now) {
    State& s = *state_;
    for (auto& [id, p] : s.peers) {
        PeerLink& link = p.link;
        if (link.hasPending() && link.pendingSince() + s.options.flushDelay <= now) link.flush(now);
        link.receiverTick(now);
        if (!s.isMember(id)) continue;
        link.resendExpired(now);
        if (p.resyncWanted && now >= p.lastResyncAt + s.options.resendTimeout) s.requestResync(now, p);
    }
    std::erase_if(s.asks, [now](const auto& a) { return a.second <= now; });
    s.pumpAll(now);
}

std::optional<Time> FlowReplicator::nextDeadline() const {
    const State& s = *state_;
    std::optional<Time> t;
    auto consider = [&t](std::optional<Time> c) {
        if (c && (!t || *c < *t)) t = c;
    };
    for (const auto& [id, p] : s.peers) {
        if (p.link.hasPending()) consider(p.link.pendingSince() + s.options.flushDelay);
        consider(p.link.receiverDeadline());
        if (!s.isMember(id)) continue;
        consider(p.link.resendDeadline());
        if (p.resyncWanted) consider(p.lastResyncAt + s.options.resendTimeout);
    }
    return t;
}

std::vector<Outgoing> FlowReplicator::takeOutgoing() { return std::exchange(state_->out, {}); }
std::vector<Change> FlowReplicator::takeChanges() { return std::exchange(state_->changes, {}); }

void FlowReplicator::onTokenHeld(Time now, std::vector<uint8_t>& carriage) {
    State& s = *state_;
    ConnectionsCarriage c;
    if (!carriage.empty())
        if (auto decoded = decodeCarriage(carriage)) c = std::move(*decoded);
    NodeId self = s.options.self;
    for (const NodeDigests& n : c.nodes) {
        if (n.node == self || !s.isMember(n.node)) continue;
        Peer& p = s.peer(n.node);
        const PairDigest* pair = nullptr;
        for (const PairDigest& d : n.pairs)
            if (d.peer == self) pair = &d;
        // Comparable only when both sides describe the same point of our channel.
        if (!pair || n.budgetFull || n.incarnation != p.link.peerIncarnation() ||
            pair->heldPeerIncarnation != s.options.incarnation || !p.link.quiet() || !p.jobs.empty() ||
            pair->appliedSeq != p.link.lastSentSeq())
            continue;
        bool agree = pair->heldCount == p.sent.count && pair->heldDigest == p.sent.sum;
        if (agree) {
            p.mismatchSeen = false;
        } else if (!p.mismatchSeen) {
            p.mismatchSeen = true;
            p.mismatchVisit = n.visit;
        } else if (n.visit != p.mismatchVisit) {
            p.mismatchSeen = false;
            s.requestResync(now, p);
        }
    }

    NodeDigests mine;
    mine.node = self;
    mine.incarnation = s.options.incarnation;
    mine.visit = ++s.visit;
    mine.budgetFull = s.heldForOthers >= s.options.budgetRecords;
    for (NodeId n : s.members) {
        if (n == self) continue;
        Peer& p = s.peer(n);
        PairDigest d;
        d.peer = n;
        d.sentCount = p.sent.count;
        d.sentDigest = p.sent.sum;
        d.heldCount = p.held.count;
        d.heldDigest = p.held.sum;
        d.heldPeerIncarnation = p.link.peerIncarnation();
        d.appliedSeq = p.link.appliedSeq();
        mine.pairs.push_back(d);
    }
    // Entries of nodes that left go; ours is replaced.
    std::erase_if(c.nodes, [&s, self](const NodeDigests& n) { return n.node == self || !s.isMember(n.node); });
    c.nodes.push_back(std::move(mine));
    std::sort(c.nodes.begin(), c.nodes.end(), [](const NodeDigests& a, const NodeDigests& b) { return a.node < b.node; });
    carriage = encodeCarriage(c);
    s.pumpAll(now);
}

const ReplicatorCounters& FlowReplicator::counters() const { return state_->counters; }

std::optional<HeldRecord> FlowReplicator::find(const FlowTuple& forward) const {
    const State& s = *state_;
    uint32_t slot = s.store.find(forward);
    if (slot == FlowStore::kNone) return std::nullopt;
    return HeldRecord{s.store.at(slot).record, s.store.at(slot).roles};
}

std::vector<HeldRecord> FlowReplicator::sample(uint32_t vip, size_t limit) const {
    const State& s = *state_;
    std::vector<HeldRecord> out;
    for (uint32_t slot = 0; slot < s.store.slotCount() && out.size() < limit; ++slot) {
        const StoredFlow& e = s.store.at(slot);
        if (e.roles != 0 && (vip == 0 || e.record.vip() == vip)) out.push_back(HeldRecord{e.record, e.roles});
    }
    return out;
}

size_t FlowReplicator::localCount() const { return state_->localCount; }
size_t FlowReplicator::heldForOthers() const { return state_->heldForOthers; }

}  // namespace ringgate::flows
