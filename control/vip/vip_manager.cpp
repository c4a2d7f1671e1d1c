#include "control/vip/vip_manager.h"

#include <algorithm>
#include <tuple>

namespace ringgate::vip {

namespace {

bool contains(const std::vector<NodeId>& nodes, NodeId node) {
    return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

// Whether `node` may hold `vip`: not drained, and its local monitors have not withdrawn it
// from the VIP's subnet.
bool mayHold(NodeId node, Ipv4Address vip, const VipTable& table, const LoadTable& loads) {
    return !table.isDrained(node) && !loads.isWithdrawn(node, vip);
}

// The node that will answer for `e` once any move in progress completes.
NodeId futureOwner(const VipEntry& e) { return e.movingTo != kNoNode ? e.movingTo : e.current; }

}  // namespace

std::string_view toString(EffectKind kind) {
    switch (kind) {
        case EffectKind::Claim: return "claim";
        case EffectKind::Release: return "release";
        case EffectKind::Announce: return "announce";
    }
    return "?";
}

VipManager::VipManager(NodeId self, std::vector<NodeId> nodeMap, LoadBalancing loadBalancing)
    : self_(self), nodeMap_(std::move(nodeMap)), loadBalancing_(loadBalancing) {}

std::vector<Effect> VipManager::onToken(Clock::time_point now, const std::vector<NodeId>& members,
                                        bool membershipGrew, const NodeLoad& myLoad, VipTable& table,
                                        LoadTable& loads, const FenceOf& fenceOf, const FenceOf& grantedOf) {
    std::set<NodeId> live(members.begin(), members.end());
    bool changed = false;
    // A node that never saw the table before learns who owned each VIP from it, so that
    // only VIPs nobody was known to answer are probed before the claim. A VIP the table
    // already gives to us, on our first visit, has not been answered by anyone yet.
    for (const VipEntry& e : table.entries)
        lastSeenOwner_.try_emplace(e.address, e.current == self_ ? kNoNode : e.current);

    // Our own load row is fresh; rows of nodes that left the ring are stale.
    loads.nodes[self_] = myLoad;
    for (auto it = loads.nodes.begin(); it != loads.nodes.end();)
        it = live.count(it->first) ? std::next(it) : loads.nodes.erase(it);

    for (const Command& command : pending_) changed |= applyCommand(command, table, live);
    pending_.clear();

    handOver(table, live, loads, changed);
    repair(table, members, live, loads, fenceOf, changed);
    rebalancePreferences(table, members, live, loads, changed);
    balanceLoad(now, table, members, loads, changed);
    if (changed) ++table.version;
    return reconcile(now, table, membershipGrew, members, fenceOf, grantedOf);
}

std::vector<Effect> VipManager::onLeftRing() {
    std::vector<Effect> effects;
    for (Ipv4Address vip : answering_) effects.push_back({EffectKind::Release, vip, false});
    counters_.releases += answering_.size();
    answering_.clear();
    claims_.clear();
    return effects;
}

std::vector<Effect> VipManager::onLease(Clock::time_point now, bool valid) {
    std::vector<Effect> effects;
    leaseValid_ = valid;
    if (valid) {
        flush(now, effects);
        return effects;
    }
    // Answer again as soon as the lease returns, unless the next token says otherwise; but
    // probe first: a ring that dropped us may have taken them over once our lease ran out.
    for (Ipv4Address vip : answering_) {
        effects.push_back({EffectKind::Release, vip, false});
        claims_[vip] = PendingClaim{now, true, kNoNode};
    }
    counters_.releases += answering_.size();
    counters_.leaseReleases += answering_.size();
    answering_.clear();
    return effects;
}

std::vector<Effect> VipManager::onTimer(Clock::time_point now) {
    std::vector<Effect> effects;
    flush(now, effects);
    return effects;
}

std::optional<Clock::time_point> VipManager::nextDeadline() const {
    if (!leaseValid_) return std::nullopt;
    std::optional<Clock::time_point> next;
    for (const auto& [vip, claim] : claims_)
        if (!next || claim.notBefore < *next) next = claim.notBefore;
    return next;
}

void VipManager::flush(Clock::time_point now, std::vector<Effect>& effects) {
    if (!leaseValid_) return;
    for (auto it = claims_.begin(); it != claims_.end();) {
        if (it->second.notBefore > now) {
            ++it;
            continue;
        }
        effects.push_back({EffectKind::Claim, it->first, it->second.probeFirst, it->second.handOverFrom});
        ++counters_.claims;
        answering_.insert(it->first);
        it = claims_.erase(it);
    }
}

Expected<void> VipManager::queue(const Command& command, const VipTable& current,
                                 const std::vector<NodeId>& members) {
    // Judge the command against the table as it will be once the commands queued before
    // it have applied: "persistence 0" then "unprefer" is a valid sequence.
    VipTable table = current;
    std::set<NodeId> live(members.begin(), members.end());
    for (const Command& earlier : pending_) project(earlier, table, live);
    auto refuse = [this](std::string why) {
        ++counters_.commandsRefused;
        return Expected<void>(makeError(std::move(why)));
    };
    bool needsVip = command.kind != CommandKind::Drain && command.kind != CommandKind::Undrain;
    const VipEntry* entry = needsVip ? table.find(command.vip) : nullptr;
    if (needsVip && !entry) return refuse(command.vip.toString() + " is not a VIP of this cluster");
    bool needsNode = command.kind == CommandKind::Move || command.kind == CommandKind::SetPreference ||
                     command.kind == CommandKind::Drain || command.kind == CommandKind::Undrain;
    if (needsNode && !contains(nodeMap_, command.node))
        return refuse("node " + std::to_string(command.node) + " is not in the node map");

    switch (command.kind) {
        case CommandKind::Move:
            if (!contains(members, command.node))
                return refuse("node " + std::to_string(command.node) + " is not a live member");
            if (table.isDrained(command.node))
                return refuse("node " + std::to_string(command.node) + " is drained (undrain it first)");
            if (entry->closed) return refuse(command.vip.toString() + " is closed (open it first)");
            break;
        case CommandKind::SetPersistence:
            if (command.persistence == Persistence::StickyPreferred && entry->preferred == kNoNode)
                return refuse("persistence 3 needs a preferred host (set one first)");
            break;
        case CommandKind::ClearPreference:
            if (entry->persistence == Persistence::StickyPreferred)
                return refuse("persistence 3 needs its preferred host (set persistence 0 or 1 first)");
            break;
        case CommandKind::Drain: {
            size_t undrained = 0;
            for (NodeId m : members)
                if (m != command.node && !table.isDrained(m)) ++undrained;
            if (undrained == 0) return refuse("draining node " + std::to_string(command.node) +
                                              " would leave no live node for the VIPs");
            break;
        }
        default:
            break;
    }
    pending_.push_back(command);
    return {};
}

bool VipManager::applyCommand(const Command& command, VipTable& table, const std::set<NodeId>& live) {
    ++counters_.commandsApplied;
    return project(command, table, live);
}

bool VipManager::project(const Command& command, VipTable& table, const std::set<NodeId>& live) const {
    if (command.kind == CommandKind::Drain) {
        if (table.isDrained(command.node)) return false;
        table.drained.push_back(command.node);
        return true;
    }
    if (command.kind == CommandKind::Undrain) {
        auto it = std::find(table.drained.begin(), table.drained.end(), command.node);
        if (it == table.drained.end()) return false;
        table.drained.erase(it);
        return true;
    }
    VipEntry* e = table.find(command.vip);
    if (!e) return false;
    switch (command.kind) {
        case CommandKind::Move:
            // Like the seed's drag and drop: the target becomes the preference.
            e->preferred = command.node;
            if (live.count(command.node) && futureOwner(*e) != command.node && !e->closed)
                startMove(*e, command.node);
            return true;
        case CommandKind::SetPreference:
            e->preferred = command.node;
            return true;
        case CommandKind::ClearPreference:
            e->preferred = kNoNode;
            return true;
        case CommandKind::SetPersistence:
            e->persistence = command.persistence;
            return true;
        case CommandKind::Close:
            e->closed = true;
            e->movingTo = kNoNode;
            return true;
        case CommandKind::Open:
            e->closed = false;
            return true;
        default:
            return false;
    }
}

void VipManager::startMove(VipEntry& entry, NodeId target) const {
    entry.fenceMs = 0;  // a live move: the owner releases before the target hears of it
    if (entry.current == self_) {
        // We are the owner: reconcile() releases it before the token leaves us.
        entry.current = target;
        entry.movingTo = kNoNode;
    } else {
        entry.movingTo = target;
    }
}

void VipManager::handOver(VipTable& table, const std::set<NodeId>& live, const LoadTable& loads,
                          bool& changed) {
    for (VipEntry& e : table.entries) {
        if (e.current != self_) continue;
        if (e.closed) {
            e.current = kNoNode;  // released below; nobody answers a closed VIP
            e.movingTo = kNoNode;
            changed = true;
        } else if (e.movingTo != kNoNode) {
            if (live.count(e.movingTo) && mayHold(e.movingTo, e.address, table, loads)) e.current = e.movingTo;
            e.fenceMs = 0;
            e.movingTo = kNoNode;
            changed = true;
        }
    }
}

void VipManager::repair(VipTable& table, const std::vector<NodeId>& members,
                        const std::set<NodeId>& live, const LoadTable& loads, const FenceOf& fenceOf,
                        bool& changed) {
    for (VipEntry& e : table.entries) {
        if (e.closed || live.count(e.current)) continue;
        NodeId target = live.count(e.movingTo) && mayHold(e.movingTo, e.address, table, loads)
                            ? e.movingTo
                            : choose(e, table, members, loads, kNoNode);
        // The dropped owner may still run, cut off, and answer until its lease runs out
        // (none if it was us: reconcile releases before the token leaves). A fence its
        // owner never saw still stands: the owner before it may still answer.
        if (e.current != kNoNode && e.current != self_ && fenceOf) {
            auto ms = std::chrono::ceil<std::chrono::milliseconds>(fenceOf(e.current)).count();
            e.fenceMs = std::max(e.fenceMs, static_cast<uint16_t>(std::clamp<int64_t>(ms, 0, UINT16_MAX)));
            e.fenced = true;
        } else if (e.current == self_) {
            e.fenced = true;  // released by us in this visit: nothing to wait for
            e.fenceMs = 0;
        }
        if (e.current != kNoNode) ++counters_.failovers;
        e.current = target;
        e.movingTo = kNoNode;
        changed = true;
    }
}

void VipManager::rebalancePreferences(VipTable& table, const std::vector<NodeId>& members,
                                      const std::set<NodeId>& live, const LoadTable& loads,
                                      bool& changed) {
    for (VipEntry& e : table.entries) {
        if (e.closed || e.movingTo != kNoNode || !live.count(e.current)) continue;
        NodeId desired = e.current;
        if (table.isDrained(e.current)) {
            desired = choose(e, table, members, loads, e.current);
        } else if (loads.isWithdrawn(e.current, e.address)) {
            // A failed local monitor beats persistence, as a dead node does; but with no
            // node fit to take it, the VIP is better answered here than nowhere.
            NodeId other = choose(e, table, members, loads, e.current);
            if (other != e.current && mayHold(other, e.address, table, loads)) desired = other;
        } else if (e.persistence == Persistence::StickyPreferred && live.count(e.preferred) &&
                   mayHold(e.preferred, e.address, table, loads)) {
            desired = e.preferred;  // seed 004: returns to the preferred host when it lives
        }
        if (desired != e.current) {
            startMove(e, desired);
            changed = true;
        }
    }
}

void VipManager::balanceLoad(Clock::time_point now, VipTable& table,
                             const std::vector<NodeId>& members, const LoadTable& loads,
                             bool& changed) {
    if (!loadBalancing_.enabled || table.isDrained(self_) || members.size() < 2) return;
    if (!contains(members, self_)) return;  // leaving the ring: take nothing
    if (tookOnce_ && now - lastTake_ < loadBalancing_.cooldown) return;

    // Rates are measured by whichever node answered for a VIP; attribute each VIP to the
    // node that will own it once moves in flight complete, so a move already decided is
    // not decided again from stale per-node totals. A VIP's points are its bytes plus its
    // share (by bytes) of the measuring node's CPU: CPU that no traffic explains (other
    // work, an idle poll loop) moves no VIP.
    auto vipPoints = [&](Ipv4Address vip) {
        double points = 0;
        for (const auto& [node, load] : loads.nodes) {
            uint64_t rate = loads.rateOf(node, vip);
            if (rate == 0) continue;
            double share = static_cast<double>(rate) / static_cast<double>(load.total());
            points = std::max(points, loadBalancing_.byteWeight * static_cast<double>(rate) / 1e6 +
                                          loadBalancing_.cpuWeight * load.cpuPermille / 10.0 * share);
        }
        return points;
    };
    std::map<NodeId, double> load;
    double sum = 0;
    for (const VipEntry& e : table.entries) {
        if (e.closed) continue;
        double points = vipPoints(e.address);
        load[futureOwner(e)] += points;
        sum += points;
    }
    double mine = load[self_];
    NodeId busiest = kNoNode;
    double busiestLoad = 0;
    for (NodeId m : members)
        if (m != self_ && load[m] > busiestLoad) busiest = m, busiestLoad = load[m];
    if (busiest == kNoNode || mine * static_cast<double>(members.size()) >= sum) return;  // not below average
    if (busiestLoad < mine + loadBalancing_.minImbalance) return;
    if (busiestLoad * 100 <= mine * loadBalancing_.imbalancePercent) return;

    // Take the busiest node's largest movable VIP that does not invert the imbalance:
    // after the move it must still carry at least as much as we do, so nobody will want
    // to move it straight back (no flapping). Never one our monitors withdrew us from.
    VipEntry* best = nullptr;
    double bestPoints = 0;
    for (VipEntry& e : table.entries) {
        if (e.current != busiest || e.movingTo != kNoNode || e.closed) continue;
        if (e.persistence != Persistence::Movable || e.preferred != kNoNode) continue;
        if (loads.isWithdrawn(self_, e.address)) continue;
        double points = vipPoints(e.address);
        if (points <= 0 || busiestLoad - points < mine + points) continue;
        if (points > bestPoints) best = &e, bestPoints = points;
    }
    if (!best) return;
    startMove(*best, self_);
    lastTake_ = now;
    tookOnce_ = true;
    ++counters_.loadBalanceTakes;
    changed = true;
}

NodeId VipManager::choose(const VipEntry& entry, const VipTable& table,
                          const std::vector<NodeId>& members, const LoadTable& loads,
                          NodeId exclude) const {
    std::vector<NodeId> candidates;
    for (NodeId m : members)
        if (m != exclude && mayHold(m, entry.address, table, loads)) candidates.push_back(m);
    if (candidates.empty()) {  // every live node is withdrawn from it (or drained)
        for (NodeId m : members)
            if (m != exclude && !table.isDrained(m)) candidates.push_back(m);
    }
    if (candidates.empty()) {
        // Every live node is drained: availability comes before the operator's drain.
        for (NodeId m : members)
            if (m != exclude) candidates.push_back(m);
    }
    if (candidates.empty()) return self_;
    if (entry.preferred != kNoNode && contains(candidates, entry.preferred)) return entry.preferred;

    // Spread by VIP count, then by load, then by ring position: deterministic, and a dead
    // node's VIPs go to different survivors rather than heaping on one.
    auto key = [&](NodeId node) {
        size_t count = 0;
        for (const VipEntry& e : table.entries)
            if (!e.closed && futureOwner(e) == node) ++count;
        size_t position = std::find(members.begin(), members.end(), node) - members.begin();
        return std::make_tuple(count, loads.loadOf(node), position);
    };
    return *std::min_element(candidates.begin(), candidates.end(),
                             [&](NodeId a, NodeId b) { return key(a) < key(b); });
}

std::vector<Effect> VipManager::reconcile(Clock::time_point now, VipTable& table, bool membershipGrew,
                                          const std::vector<NodeId>& members, const FenceOf& fenceOf,
                                          const FenceOf& grantedOf) {
    std::vector<Effect> effects;
    std::erase_if(claims_, [&](const auto& c) {
        const VipEntry* e = table.find(c.first);
        return !e || e->closed || e->current != self_;
    });
    // Releases first: the shell applies effects in order, before the token moves on.
    for (auto it = answering_.begin(); it != answering_.end();) {
        const VipEntry* e = table.find(*it);
        if (!e || e->closed || e->current != self_) {
            effects.push_back({EffectKind::Release, *it, false});
            ++counters_.releases;
            it = answering_.erase(it);
        } else {
            ++it;
        }
    }
    for (VipEntry& e : table.entries) {
        bool mine = !e.closed && e.current == self_;
        if (mine && !answering_.count(e.address) && !claims_.count(e.address)) {
            auto seen = lastSeenOwner_.find(e.address);
            NodeId previous = seen == lastSeenOwner_.end() ? kNoNode : seen->second;
            bool ownerUnknown = previous == kNoNode;
            bool peerAlive = previous != self_ && !ownerUnknown &&
                             std::find(members.begin(), members.end(), previous) != members.end();
            bool takeover = previous != self_ && !ownerUnknown && !peerAlive;
            Clock::duration fence = std::chrono::milliseconds(e.fenceMs);
            if (takeover && !e.fenced && fenceOf) fence = fenceOf(previous);  // nobody decided: our own view
            if (takeover && grantedOf) fence = std::max(fence, grantedOf(previous));
            // After a merge the table may come from the other ring, whose owner never
            // released to us in two phases: the ARP probe waits until it has.
            bool merged = peerAlive && membershipGrew;
            claims_[e.address] = PendingClaim{now + fence, ownerUnknown || merged || (takeover && probeTakeovers_),
                                              peerAlive ? previous : kNoNode};
            if (fence > Clock::duration::zero()) ++counters_.fencedClaims;
            e.fenceMs = 0;  // waited out from here; a later owner needs none
            e.fenced = false;
        } else if (mine && membershipGrew && answering_.count(e.address)) {
            effects.push_back({EffectKind::Announce, e.address, false});
        }
    }
    for (const VipEntry& e : table.entries) lastSeenOwner_[e.address] = e.current;
    flush(now, effects);
    return effects;
}

}  // namespace ringgate::vip
