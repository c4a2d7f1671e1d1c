#include "control/cluster/membership.h"

#include <algorithm>

#include "common/log.h"

namespace ringgate::cluster {

namespace {

bool contains(const std::vector<NodeId>& list, NodeId node) {
    return std::find(list.begin(), list.end(), node) != list.end();
}

std::string listText(const std::vector<NodeId>& members) {
    std::string text;
    for (NodeId id : members) text += (text.empty() ? "" : ",") + std::to_string(id);
    return "[" + text + "]";
}

}  // namespace

std::string_view toString(Phase phase) {
    switch (phase) {
        case Phase::Starting: return "starting";
        case Phase::Member: return "member";
        case Phase::Leaving: return "leaving";
        case Phase::Left: return "left";
    }
    return "?";
}

MembershipTimers withLease(MembershipTimers t) {
    t.lease = t.handoffAckTimeout * static_cast<int64_t>(t.handoffRetries + 1);
    t.leaseRequestInterval = t.lease / 6;
    return t;
}

Membership::Membership(Options options, ReliableMessenger& messenger)
    : options_(std::move(options)), messenger_(messenger), random_(options_.randomSeed) {}

size_t Membership::indexOf(NodeId node) const {
    auto it = std::find(options_.nodeMap.begin(), options_.nodeMap.end(), node);
    return it == options_.nodeMap.end() ? std::string::npos : static_cast<size_t>(it - options_.nodeMap.begin());
}

// The first node of `ring` after `after` in node-map order, wrapping around; `after` need
// not be in `ring` (a node that steps out, or a 911 routed through a newer member).
std::optional<NodeId> Membership::nextAfter(const std::vector<NodeId>& ring, NodeId after) const {
    size_t base = indexOf(after);
    std::optional<NodeId> best;
    size_t bestDistance = 0;
    size_t n = options_.nodeMap.size();
    for (NodeId node : ring) {
        size_t i = indexOf(node);
        if (node == after || i == std::string::npos) continue;
        size_t distance = (i + n - base) % n;
        if (!best || distance < bestDistance) {
            best = node;
            bestDistance = distance;
        }
    }
    return best;
}

void Membership::insertSorted(std::vector<NodeId>& ring, NodeId node) const {
    if (contains(ring, node) || indexOf(node) == std::string::npos) return;
    auto at = std::find_if(ring.begin(), ring.end(), [&](NodeId m) { return indexOf(m) > indexOf(node); });
    ring.insert(at, node);
}

Time Membership::hold(size_t memberCount) const {
    return options_.timers.tokenInterval / static_cast<int64_t>(std::max<size_t>(memberCount, 1));
}

SendPolicy Membership::handoffPolicy() const {
    return SendPolicy{options_.timers.handoffAckTimeout, options_.timers.handoffRetries, false};
}

void Membership::setMembers(Time now, std::vector<NodeId> members) {
    if (members == members_) return;
    // A node gone from the ring is a warning on every node, not only where it was noticed.
    bool lost = std::any_of(members_.begin(), members_.end(), [&](NodeId id) {
        return std::find(members.begin(), members.end(), id) == members.end();
    });
    if (lost && !members_.empty())
        RG_WARN(Cluster, "membership %s -> %s: node(s) left the ring", listText(members_).c_str(), listText(members).c_str());
    else
        RG_INFO(Cluster, "membership %s -> %s", listText(members_).c_str(), listText(members).c_str());
    members_ = std::move(members);
    membersSince_ = now;
    refreshRing();
    auto successor = nextAfter(members_, options_.self);
    if (successor != successor_) {
        successor_ = successor;
        successorSince_ = now;
    }
    if (hooks_) hooks_->onMembershipChanged(now, members_);
    updateLease(now);
}

void Membership::nameTrain(Train& train) const {
    if (options_.clusterName.empty()) return;
    train.carriages.set(carriage::kClusterName,
                        std::vector<uint8_t>(options_.clusterName.begin(), options_.clusterName.end()));
}

// A train of another cluster (same addresses and key, another cluster.name: two clusters
// wired to one segment, or a node given the wrong file) is refused before it can add a
// member. Both sides say so: each probes the other as a configured node outside its ring.
bool Membership::foreign(Time now, NodeId from, const Train& train) {
    if (options_.clusterName.empty()) return false;
    const auto* name = train.carriages.find(carriage::kClusterName);
    if (!name || std::equal(name->begin(), name->end(), options_.clusterName.begin(), options_.clusterName.end()))
        return false;
    ++counters_.foreignCluster;
    auto logged = foreignLogged_.find(from);
    if (logged == foreignLogged_.end() || now - logged->second >= std::chrono::seconds(10)) {
        foreignLogged_[from] = now;
        std::string theirs;
        for (uint8_t c : *name) theirs += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
        if (theirs.size() > 64) theirs = theirs.substr(0, 64) + "...";
        RG_WARN(Cluster, "refused %s from node %u: it belongs to cluster '%s', this node to cluster '%s' "
                "(cluster.name differs): not admitted",
                std::string(toString(train.signal)).c_str(), from, theirs.c_str(), options_.clusterName.c_str());
    }
    return true;
}

// A member outside this node's map can never be handed the token from here. When this
// node's map is the cluster's newest (setMapCurrent), nobody else hands it the token
// either (the node was removed from the map): it would stay in the ring for good, a ghost
// that the hand-off never drops. While older maps still run, others may know it (a node
// being added): it stays.
void Membership::dropGhosts(std::vector<NodeId>& members) {
    if (!mapCurrent_) return;
    std::erase_if(members, [&](NodeId m) {
        if (indexOf(m) != std::string::npos) return false;
        ++counters_.ghostsDropped;
        RG_WARN(Cluster, "node %u is not in the node map any more: dropped from the ring", m);
        return true;
    });
}

void Membership::setNodeMap(std::vector<NodeId> nodeMap) {
    options_.nodeMap = std::move(nodeMap);
    std::erase_if(joiners_, [&](NodeId j) { return indexOf(j) == std::string::npos; });
}

void Membership::addJoiner(NodeId node, const char* why) {
    if (node == options_.self || indexOf(node) == std::string::npos || contains(members_, node)) return;
    if (joiners_.insert(node).second) RG_DEBUG(Cluster, "node %u will be added to the ring (%s)", node, why);
}

// --- start, leave -------------------------------------------------------------------------

void Membership::start(Time now) {
    if (phase_ != Phase::Starting || ringId_ != 0) return;  // already taken in by a token
    // Jitter keeps nodes started together from all going alone at the same instant.
    auto jitter = Time(static_cast<int64_t>(random_() % static_cast<uint64_t>(options_.timers.tokenInterval.count() + 1)));
    startDeadline_ = now + options_.timers.tokenLossTimeout + jitter;
    for (NodeId node : options_.nodeMap)
        if (node != options_.self) sendSignal(now, Signal::Join, node, false);
}

void Membership::leave(Time now) {
    if (phase_ == Phase::Starting || phase_ == Phase::Left) {
        phase_ = Phase::Left;
        return;
    }
    phase_ = Phase::Leaving;
    leaveDeadline_ = now + options_.timers.tokenLossTimeout +
                     options_.timers.handoffAckTimeout * static_cast<int64_t>(options_.timers.handoffRetries + 1);
    if (holding_) passOn(now);
    updateLease(now);
}

// --- incoming trains ----------------------------------------------------------------------

void Membership::onMessage(Time now, NodeId from, std::span<const uint8_t> bytes) {
    if (phase_ == Phase::Left) return;
    DecodedTrain decoded = decodeTrain(bytes);
    if (!decoded.train) {
        ++counters_.malformedTrains;
        RG_DEBUG(Cluster, "malformed train from node %u: %s", from, std::string(toString(decoded.error)).c_str());
        return;
    }
    Train& train = *decoded.train;
    if (foreign(now, from, train)) return;
    if ((train.signal == Signal::Token || train.signal == Signal::Emergency) && train.destination != options_.self) {
        ++counters_.misrouted;
        return;
    }
    switch (train.signal) {
        case Signal::Token: onToken(now, std::move(train)); break;
        case Signal::Emergency: onEmergency(now, std::move(train)); break;
        case Signal::Join: onJoin(now, train); break;
        case Signal::Probe: onProbe(now, train); break;
        case Signal::Passed: onPassed(train); break;
        case Signal::LeaseRequest: onLeaseRequest(now, train); break;
        case Signal::LeaseGrant: onLeaseGrant(now, from, train); break;
    }
    updateLease(now);
}

void Membership::onToken(Time now, Train train) {
    if (ringId_ == 0 || train.ringId < ringId_) {
        // Starting, or a ring that wins the merge: bring our old ring's members along.
        if (ringId_ != 0)
            for (NodeId m : members_) addJoiner(m, "member of a ring that merged");
        adopt(now, std::move(train));
        return;
    }
    if (train.ringId == ringId_) {
        if (lastStamp_ && !newer(train.stamp, *lastStamp_)) {
            ++counters_.staleTokens;  // an older copy: dropping it is what keeps one token
            return;
        }
        adopt(now, std::move(train));
        return;
    }
    // A token of a ring that loses the merge: step out of it, pass it on, and invite its
    // members into our ring.
    ++counters_.foreignTokens;
    for (NodeId m : train.members) addJoiner(m, "member of a ring that loses a merge");
    std::erase(train.members, options_.self);
    auto next = nextAfter(train.members, options_.self);
    if (!next) return;
    train.stamp.seq += 1;
    train.current = options_.self;
    train.destination = *next;
    uint64_t id = messenger_.send(now, *next, encodeTrain(train), handoffPolicy());
    forwards_[{*next, id}] = Forward{std::move(train)};
}

void Membership::adopt(Time now, Train train) {
    if (phase_ == Phase::Starting) {
        phase_ = Phase::Member;
        RG_INFO(Cluster, "joined ring %016llx", static_cast<unsigned long long>(train.ringId));
    }
    ++counters_.tokensReceived;
    // A member that hands our ring's token on without itself in it has left on purpose
    // (Phase::Leaving): it answers for nothing any more, so majorities are counted without
    // it. Otherwise the last members after a few departures would hold a minority of the
    // ring they last confirmed and never answer again (membership_sim seeds 1275, 2425).
    if (train.ringId == ringId_ && train.current != options_.self && !contains(train.members, train.current))
        std::erase(confirmed_, train.current);
    if (ringId_ != train.ringId && ringId_ != 0)
        RG_INFO(Cluster, "ring %016llx merges into ring %016llx", static_cast<unsigned long long>(ringId_),
                static_cast<unsigned long long>(train.ringId));
    ringId_ = train.ringId;
    lastStamp_ = train.stamp;
    if (!contains(train.members, options_.self)) insertSorted(train.members, options_.self);
    dropGhosts(train.members);
    bool changed = train.members != members_;
    if (handoff_) {  // superseded by a newer token
        messenger_.cancel(handoff_->destination, handoff_->messageId);
        handoff_.reset();
    }
    emergency_.reset();
    watch_.reset();
    if (lastReceiveAt_) lastRotation_ = now - *lastReceiveAt_;
    lastReceiveAt_ = now;
    lastTokenAt_ = now;
    if (primary(train.members) || minorityTooLong(now, train.members)) {
        confirmed_ = train.members;  // it came through another member
        refreshRing();
    }
    setMembers(now, train.members);
    if (!leaseValid(now)) nextLeaseRequest_ = now;  // ask at once, not at the next tick
    holding_ = std::move(train);
    // A changed membership travels the ring at once; otherwise each hop holds its share of
    // the rotation time.
    passAt_ = changed ? now : now + hold(members_.size());
    if (phase_ == Phase::Leaving || passAt_ <= now) passOn(now);
}

void Membership::passOn(Time now) {
    Train t = std::move(*holding_);
    holding_.reset();
    NodeId predecessor = t.current;
    bool leaving = phase_ == Phase::Leaving;
    for (NodeId j : joiners_) {
        if (!contains(t.members, j)) {
            insertSorted(t.members, j);
            ++counters_.membersAdded;
        }
    }
    joiners_.clear();
    if (leaving) std::erase(t.members, options_.self);
    dropGhosts(t.members);
    // Leaving, the riders see the ring without us, so the VIP manager hands our VIPs to
    // the survivors in this same visit instead of leaving them unanswered for a rotation.
    updateLease(now);
    if (hooks_) hooks_->onTokenHeld(now, t.carriages, t.members);
    t.stamp.seq += 1;
    t.signal = Signal::Token;
    t.current = options_.self;
    nameTrain(t);
    lastStamp_ = t.stamp;
    auto next = nextAfter(t.members, options_.self);
    if (!next) {
        lastTokenAt_ = now;
        if (leaving) {  // the last member: the ring ends with us
            phase_ = Phase::Left;
            return;
        }
        // Alone: the token stays here and "rotates" once per interval.
        t.destination = options_.self;
        setMembers(now, t.members);
        lastToken_ = t;
        probeOutsiders(now, t);
        holding_ = std::move(t);
        passAt_ = now + options_.timers.tokenInterval;
        return;
    }
    t.destination = *next;
    if (!leaving) setMembers(now, t.members);
    lastToken_ = t;
    probeOutsiders(now, t);
    uint64_t id = messenger_.send(now, *next, encodeTrain(t), handoffPolicy());
    handoff_ = Handoff{id, *next, std::move(t), leaving, predecessor, now};
}

void Membership::onSendResult(Time now, const ReliableMessenger::SendResult& result) {
    if (auto f = forwards_.find({result.peer, result.messageId}); f != forwards_.end()) {
        Forward forward = std::move(f->second);
        forwards_.erase(f);
        // A 911 skips a destination that does not answer, without changing the membership.
        if (!result.delivered && forward.train.signal == Signal::Emergency)
            forwardEmergency(now, std::move(forward.train), result.peer);
        return;
    }
    if (!handoff_ || handoff_->messageId != result.messageId || handoff_->destination != result.peer) {
        updateLease(now);
        return;
    }
    Handoff h = std::move(*handoff_);
    handoff_.reset();
    if (result.delivered) {
        ++counters_.tokensPassed;
        passedTo_ = h.destination;
        lastTokenAt_ = now;
        if (h.leavingSelf) {
            phase_ = Phase::Left;
            return;
        }
        if (h.predecessor != options_.self && h.predecessor != h.destination &&
            std::find(h.train.members.begin(), h.train.members.end(), h.predecessor) != h.train.members.end())
            sendSignal(now, Signal::Passed, h.predecessor, true);
        if (h.train.members.size() > 2) {
            Time budget = options_.timers.handoffAckTimeout * static_cast<int64_t>(options_.timers.handoffRetries + 2);
            watch_ = Watch{h.destination, now + hold(h.train.members.size()) + budget};
        }
        return;
    }
    // The token is the failure detector: an unacknowledged destination leaves the ring, and
    // a new generation makes this copy win over the one the destination may still pass on.
    ++counters_.membersDropped;
    RG_WARN(Cluster, "node %u did not acknowledge the token: dropped from the ring", h.destination);
    Train t = std::move(h.train);
    if (h.leavingSelf) insertSorted(t.members, options_.self);  // passOn takes us out again
    Stamp stamp = t.stamp;
    regenerate(now, std::move(t), stamp, h.destination);
    updateLease(now);
}

// A new generation of the token, sent on from here: it wins over every copy of the old one
// that may still travel (the stamp's generation orders them).
void Membership::regenerate(Time now, Train t, Stamp from, std::optional<NodeId> without) {
    if (without) {
        std::erase(t.members, *without);
        joiners_.erase(*without);
    }
    t.stamp = from;
    t.stamp.generation += 1;
    t.stamp.producer = options_.self;
    t.current = options_.self;
    lastTokenAt_ = now;
    holding_ = std::move(t);
    passOn(now);
}

// --- 911 ----------------------------------------------------------------------------------

void Membership::sendEmergency(Time now) {
    Train e;
    e.signal = Signal::Emergency;
    e.permission = true;
    e.ringId = ringId_;
    e.stamp = lastStamp_.value_or(Stamp{});
    e.originator = options_.self;
    e.members = members_;
    nameTrain(e);
    emergency_ = Emergency{e.stamp, now};
    ++counters_.emergenciesSent;
    RG_INFO(Cluster, "no token for %lld ms: sending 911", static_cast<long long>((now - lastTokenAt_).count() / 1000));
    forwardEmergency(now, std::move(e), options_.self);
}

void Membership::forwardEmergency(Time now, Train e, NodeId after) {
    // Route round the originator's view of the ring, plus the originator itself.
    std::vector<NodeId> route = e.members;
    insertSorted(route, e.originator);
    std::erase(route, options_.self);
    // Skip to the node after `after`, but never past the originator, nor round past
    // ourselves: a 911 that finds nobody else comes back to its originator unopposed, and
    // one whose originator died ends with us.
    std::optional<NodeId> next = nextAfter(route, after);
    if (next) {
        size_t n = options_.nodeMap.size();
        size_t self = indexOf(options_.self);
        auto distance = [&](NodeId node) { return (indexOf(node) + n - self) % n; };
        size_t limit = e.originator == options_.self ? n : distance(e.originator);
        if (distance(*next) > limit || (after != options_.self && distance(*next) <= distance(after))) next.reset();
    }
    if (!next) {
        if (e.originator == options_.self) emergencyReturned(now, e);
        return;
    }
    e.current = options_.self;
    e.destination = *next;
    uint64_t id = messenger_.send(now, *next, encodeTrain(e), handoffPolicy());
    forwards_[{*next, id}] = Forward{std::move(e)};
}

void Membership::onEmergency(Time now, Train e) {
    if (e.originator == options_.self) {
        emergencyReturned(now, e);
        return;
    }
    bool sameRing = ringId_ != 0 && e.ringId == ringId_;
    if (sameRing && holdsToken())
        e.permission = false;  // the token is alive right here
    else if (sameRing && lastStamp_ && newer(*lastStamp_, e.stamp))
        e.permission = false;  // we have seen a newer token
    else if (ringId_ != 0 && ringId_ < e.ringId)
        e.permission = false;  // our ring wins the merge; the originator joins it
    // The seed: a 911 is also a request to be (re)admitted.
    if (phase_ == Phase::Member && ringId_ != 0 &&
        (ringId_ < e.ringId || (sameRing && !contains(members_, e.originator))))
        addJoiner(e.originator, "its 911");
    ++counters_.emergenciesForwarded;
    forwardEmergency(now, std::move(e), options_.self);
}

void Membership::emergencyReturned(Time now, const Train& e) {
    if (!emergency_ || !(e.stamp == emergency_->stamp) || phase_ != Phase::Member || holdsToken()) return;
    emergency_.reset();
    RG_DEBUG(Cluster, "our 911 came back with permission %s", e.permission ? "true" : "false");
    if (!e.permission || !lastToken_ || lastToken_->ringId != ringId_) {
        lastTokenAt_ = now;  // someone has a newer token: wait for it
        return;
    }
    // Nobody has seen a newer token: ours is the newest copy, so we, alone, regenerate it.
    ++counters_.regenerations;
    RG_WARN(Cluster, "token lost: regenerating it from stamp seq %u", lastStamp_ ? lastStamp_->seq : 0);
    Train t = *lastToken_;
    t.members = members_;
    insertSorted(t.members, options_.self);
    regenerate(now, std::move(t), lastStamp_.value_or(lastToken_->stamp), std::nullopt);
}

// --- predecessor watch ------------------------------------------------------------------

void Membership::onPassed(const Train& p) {
    if (watch_ && watch_->node == p.originator && p.ringId == ringId_) watch_.reset();
}

void Membership::successorSilent(Time now) {
    NodeId silent = watch_->node;
    watch_.reset();
    if (phase_ != Phase::Member || holdsToken() || !lastToken_ || lastToken_->ringId != ringId_) return;
    ++counters_.silentSuccessors;
    ++counters_.membersDropped;
    RG_WARN(Cluster, "node %u took the token and went silent: dropped, token regenerated", silent);
    regenerate(now, *lastToken_, lastStamp_.value_or(lastToken_->stamp), silent);
}

// --- join, probe, alone -------------------------------------------------------------------

void Membership::sendSignal(Time now, Signal signal, NodeId to, bool retry) {
    Train s;
    s.signal = signal;
    s.ringId = ringId_;
    s.originator = options_.self;
    s.current = options_.self;
    s.destination = to;
    if (signal != Signal::Passed) s.members = members_;
    nameTrain(s);
    SendPolicy once{options_.timers.handoffAckTimeout, retry ? options_.timers.handoffRetries : 0, false};
    messenger_.send(now, to, encodeTrain(s), once);
    if (signal == Signal::Join) ++counters_.joinsSent;
    if (signal == Signal::Probe) ++counters_.probesSent;
}

void Membership::onJoin(Time now, const Train& j) {
    if (phase_ == Phase::Starting) {
        addJoiner(j.originator, "join while starting");  // whoever goes alone first takes the other in
        return;
    }
    if (phase_ != Phase::Member) return;
    if (j.ringId != 0 && j.ringId < ringId_) {
        sendSignal(now, Signal::Join, j.originator, false);  // their ring wins: we join it
        return;
    }
    addJoiner(j.originator, "join");
    // Alone, the token is here: do not make the newcomer wait for the next "rotation".
    if (holding_ && members_.size() == 1) passAt_ = now;
}

void Membership::onProbe(Time now, const Train& p) {
    if (phase_ == Phase::Starting || (phase_ == Phase::Member && p.ringId <= ringId_)) {
        // We are outside the prober's ring although we live: ask to be taken in.
        sendSignal(now, Signal::Join, p.originator, false);
        return;
    }
    if (phase_ == Phase::Member) {  // their ring loses the merge: bring them into ours
        for (NodeId m : p.members) addJoiner(m, "member of a probing ring that loses a merge");
        addJoiner(p.originator, "probe from a ring that loses a merge");
        if (holding_ && members_.size() == 1) passAt_ = now;
    }
}

void Membership::probeOutsiders(Time now, const Train& token) {
    if (lastProbeAt_ && now - *lastProbeAt_ < options_.timers.tokenLossTimeout) return;
    lastProbeAt_ = now;
    for (NodeId node : options_.nodeMap)
        if (node != options_.self && !contains(token.members, node)) sendSignal(now, Signal::Probe, node, false);
}

void Membership::goAlone(Time now) {
    phase_ = Phase::Member;
    do ringId_ = random_(); while (ringId_ == 0);
    Train t;
    t.signal = Signal::Token;
    t.ringId = ringId_;
    t.stamp = Stamp{0, options_.self, options_.firstSequence.value_or(static_cast<uint32_t>(random_()))};
    t.current = options_.self;
    t.destination = options_.self;
    t.members = {options_.self};
    lastStamp_ = t.stamp;
    lastTokenAt_ = now;
    RG_INFO(Cluster, "no live ring answered: running alone (ring %016llx)", static_cast<unsigned long long>(ringId_));
    setMembers(now, t.members);
    holding_ = std::move(t);
    passOn(now);
}

// --- time ---------------------------------------------------------------------------------

void Membership::onTimer(Time now) {
    if (phase_ == Phase::Starting && now >= startDeadline_) goAlone(now);
    if (holding_ && now >= passAt_) passOn(now);
    if (phase_ == Phase::Leaving && now >= leaveDeadline_) phase_ = Phase::Left;
    if (watch_ && now >= watch_->deadline) successorSilent(now);
    if (phase_ == Phase::Member && predecessor() && now >= nextLeaseRequest_) requestLease(now);
    updateLease(now);
    if (hooks_)
        if (auto due = hooks_->nextDeadline(); due && *due <= now) hooks_->onTimer(now);
    if (phase_ != Phase::Member || holdsToken()) return;
    if (emergency_ && now - emergency_->sentAt >= options_.timers.tokenLossTimeout) {
        emergency_.reset();  // our 911 got lost on the way: try again
        lastTokenAt_ = now - options_.timers.tokenLossTimeout;
    }
    if (!emergency_ && now - lastTokenAt_ >= options_.timers.tokenLossTimeout) sendEmergency(now);
}

std::optional<Time> Membership::nextDeadline() const {
    std::optional<Time> next;
    auto consider = [&](Time t) { if (!next || t < *next) next = t; };
    if (phase_ == Phase::Starting) consider(startDeadline_);
    if (holding_) consider(passAt_);
    if (phase_ == Phase::Leaving) consider(leaveDeadline_);
    if (watch_) consider(watch_->deadline);
    if (phase_ == Phase::Member && predecessor()) consider(nextLeaseRequest_);
    if (leaseHeld_ && leaseUntil_ && !(members_.size() == 1)) consider(*leaseUntil_);
    if (hooks_)
        if (auto due = hooks_->nextDeadline()) consider(*due);
    if (phase_ == Phase::Member && !holdsToken()) {
        if (emergency_)
            consider(emergency_->sentAt + options_.timers.tokenLossTimeout);
        else
            consider(lastTokenAt_ + options_.timers.tokenLossTimeout);
    }
    return next;
}

MembershipStatus Membership::status() const {
    MembershipStatus s;
    s.phase = phase_;
    s.ringId = ringId_;
    s.members = members_;
    s.holding = holdsToken();
    s.passedTo = passedTo_;
    s.stamp = lastStamp_;
    s.lastRotation = lastRotation_;
    if (lastReceiveAt_) s.lastToken = lastReceiveAt_;
    s.lease = leaseHeld_;
    s.primary = inPrimary_;
    s.leaseUntil = leaseUntil_;
    return s;
}

// --- the VIP lease ------------------------------------------------------------------------
//
// A member answers for its VIPs only while it holds a lease, and a node that takes over a
// dropped owner's VIPs first waits out whatever lease that owner may still hold. Leases
// are granted by the ring predecessor, the one node that can drop this node (its
// hand-off fails, or its watch sees the token stop here). A lease runs from when its
// request was sent, so a late grant never stretches it past what the grantor counted on,
// whatever the network delay. The grantor stops granting while a hand-off to the node is
// unacknowledged, so by the time that hand-off fails (one lease: the hand-off budget) the
// lease has run out too, and the new owner need not wait at all (fenceFor).

// members_ is in ring order: the predecessor is the member before us (called on every
// deadline query, so no search through the node map).
std::optional<NodeId> Membership::predecessor() const {
    auto self = std::find(members_.begin(), members_.end(), options_.self);
    if (members_.size() < 2 || self == members_.end()) return std::nullopt;
    return self == members_.begin() ? members_.back() : *std::prev(self);
}

void Membership::requestLease(Time now) {
    auto to = predecessor();
    nextLeaseRequest_ = now + options_.timers.leaseRequestInterval;
    if (!to) return;
    uint32_t seq = ++leaseSeq_;
    leaseRequests_[seq] = LeaseRequest{*to, now};
    while (leaseRequests_.size() > 16) leaseRequests_.erase(leaseRequests_.begin());
    Train r;
    r.signal = Signal::LeaseRequest;
    r.ringId = ringId_;
    r.stamp.seq = seq;
    r.originator = options_.self;
    r.current = options_.self;
    r.destination = *to;
    nameTrain(r);
    // One try: the next request is never far behind.
    messenger_.send(now, *to, encodeTrain(r), SendPolicy{options_.timers.leaseRequestInterval, 0, false});
    ++counters_.leaseRequests;
}

void Membership::onLeaseRequest(Time now, const Train& r) {
    if (phase_ != Phase::Member || r.ringId != ringId_ || !inRing_ || !inPrimary_) return;
    if (nextAfter(members_, options_.self) != r.originator) return;  // not our successor (any more)
    if (handoff_ && handoff_->destination == r.originator) return;  // it may be about to be dropped
    Train g;
    g.signal = Signal::LeaseGrant;
    g.ringId = ringId_;
    g.stamp.seq = r.stamp.seq;
    g.originator = options_.self;
    g.current = options_.self;
    g.destination = r.originator;
    nameTrain(g);
    messenger_.send(now, r.originator, encodeTrain(g), SendPolicy{options_.timers.leaseRequestInterval, 0, false});
    grantedAt_[r.originator] = now;
    ++counters_.leaseGrants;
}

void Membership::onLeaseGrant(Time now, NodeId from, const Train& g) {
    auto it = leaseRequests_.find(g.stamp.seq);
    if (it == leaseRequests_.end() || it->second.to != from || g.ringId != ringId_) return;
    Time until = it->second.sentAt + options_.timers.lease;
    if (!leaseUntil_ || until > *leaseUntil_) leaseUntil_ = until;
    leaseRequests_.erase(leaseRequests_.begin(), std::next(it));
    updateLease(now);
}

// A ring may answer for VIPs only if it holds more than half of the last membership this
// node saw confirmed, or exactly half with that membership's lowest node (or of two nodes,
// either: a two-node cluster must fail over, and cannot tell a dead peer from a cut link).
// A node cut off from receiving drops everyone by failed hand-offs and ends up alone; it
// confirmed none of those steps, so it holds a minority and stops answering, while the
// majority takes its VIPs over.
bool Membership::primary(const std::vector<NodeId>& members) const {
    if (confirmed_.empty()) return true;  // cold start: nothing to hold a majority of
    size_t kept = 0;
    for (NodeId m : confirmed_) kept += contains(members, m);
    if (2 * kept != confirmed_.size()) return 2 * kept > confirmed_.size();
    return confirmed_.size() == 2 || contains(members, *std::min_element(confirmed_.begin(), confirmed_.end()));
}

// The majority rule keeps a cut-off minority from answering while the majority takes its
// VIPs. But when the majority is really gone (crashed, or left while the ring was too
// unsettled to confirm the smaller rings), the survivors would never answer again. A ring
// that has stayed exactly this one for kMinorityPatience is taken as all that is left.
// The price: a minority cut off for longer than that answers too, as every ring did
// before leases (docs/CLUSTER.md, "One answer per VIP: leases", limits).
bool Membership::minorityTooLong(Time now, const std::vector<NodeId>& members) const {
    return phase_ == Phase::Member && members == members_ && now - membersSince_ >= kMinorityPatience;
}

bool Membership::tie(const std::vector<NodeId>& members) const {
    size_t kept = 0;
    for (NodeId m : confirmed_) kept += contains(members, m);
    return !confirmed_.empty() && 2 * kept == confirmed_.size() && primary(members);
}

// leaseValid runs on every event: what it needs of members_ is kept ready.
void Membership::refreshRing() {
    inRing_ = contains(members_, options_.self);
    inPrimary_ = primary(members_);
}

bool Membership::leaseValid(Time now) const {
    if (phase_ != Phase::Member || !inRing_ || !inPrimary_) return false;
    if (members_.size() == 1) return true;  // alone: nobody else can drop us
    return leaseUntil_ && now < *leaseUntil_;
}

void Membership::updateLease(Time now) {
    // Alone, nobody else can drop us: the lease is ours, and it carries over into a ring we
    // join for a lease's time (a joined ring drops us only after a whole hand-off budget,
    // and grants soon).
    if (phase_ == Phase::Member && members_.size() == 1 && members_[0] == options_.self &&
        (primary(members_) || minorityTooLong(now, members_))) {
        if (confirmed_ != members_) {
            confirmed_ = members_;
            refreshRing();
        }
        leaseUntil_ = std::max(leaseUntil_.value_or(now), now + options_.timers.lease);
    }
    bool valid = leaseValid(now);
    if (valid == leaseHeld_) return;
    leaseHeld_ = valid;
    if (!valid && phase_ == Phase::Member) {
        ++counters_.leaseLapses;
        RG_INFO(Cluster, "no lease from the ring predecessor for %lld ms: not answering for VIPs",
                static_cast<long long>(options_.timers.lease.count() / 1000));
    }
    if (hooks_) hooks_->onLease(now, valid);
}

// The short fence is only for the node that granted the owner's lease all along: the owner
// has been its successor since before its last grant, and its own view of the ring is fresh
// (a token came from another member within a rotation and a hand-off budget; a node that
// was paused meanwhile may have missed a ring that went on without it, with another node
// granting the owner). Anyone else waits a whole lease.
Time Membership::fenceFor(NodeId owner, Time now) const {
    if (owner == options_.self) return Time{0};
    auto it = grantedAt_.find(owner);
    Time granted = grantedBy(owner, now);
    Time budget = options_.timers.handoffAckTimeout * static_cast<int64_t>(options_.timers.handoffRetries + 1);
    bool fresh = lastReceiveAt_ && now - *lastReceiveAt_ <= options_.timers.tokenInterval + budget;
    if (it != grantedAt_.end() && it->second >= successorSince_ && fresh) return granted;
    return std::max(granted, options_.timers.lease);
}

Time Membership::grantedBy(NodeId owner, Time now) const {
    auto it = grantedAt_.find(owner);
    if (it == grantedAt_.end()) return Time{0};
    return std::max(Time{0}, it->second + options_.timers.lease - now);
}

}  // namespace ringgate::cluster
