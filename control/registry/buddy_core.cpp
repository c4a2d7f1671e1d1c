#include "control/registry/buddy_core.h"

namespace ringgate::registry {

BuddyCore::BuddyCore(BuddyConfig config) : config_(config), a_(config.self), b_(config.self) {}

Effects BuddyCore::start(Time now) {
    lastReconcile_ = now;
    announcing_ = true;
    return {effect::Announce{}};  // Fig. 3 step 310
}

std::set<Ipv4Address> BuddyCore::watched() const {
    std::set<Ipv4Address> out;
    for (auto buddy : {a_, b_})
        if (buddy != config_.self) out.insert(buddy);
    return out;
}

void BuddyCore::adopt(Ipv4Address a, Ipv4Address b, uint64_t version) {
    a_ = a;
    b_ = b;
    version_ = version;
    std::map<Ipv4Address, Watch> kept;
    for (auto buddy : watched()) kept[buddy] = watches_.count(buddy) ? watches_[buddy] : Watch{};
    watches_ = std::move(kept);
}

Effects BuddyCore::tick(Time now) {
    Effects out;
    if (state_ == State::Joining && !announcing_) {
        announcing_ = true;
        out.push_back(effect::Announce{});
    }
    if (state_ != State::Running) return out;
    for (auto buddy : watched()) {
        if (deleting_.count(buddy)) continue;
        Watch& watch = watches_[buddy];
        if (watch.probed) watch.missed = watch.answered ? 0 : watch.missed + 1;
        if (watch.missed >= config_.failures) {
            // Fig. 6: the discovering server reports the dead buddy.
            deleting_.insert(buddy);
            out.push_back(effect::ReportDeath{buddy, version_});
            suspect_ = true;  // or we are the one cut off: the registry will tell
            continue;
        }
        watch.probed = true;
        watch.answered = false;
        out.push_back(effect::Probe{buddy});
    }
    bool reconcile = config_.reconcile.count() > 0 && now - lastReconcile_ >= config_.reconcile;
    if ((reconcile || suspect_) && !fetching_) {
        lastReconcile_ = now;
        fetching_ = true;
        out.push_back(effect::FetchEntry{});
    }
    return out;
}

void BuddyCore::answered(Ipv4Address from) {
    auto it = watches_.find(from);
    if (it != watches_.end()) it->second.answered = true;
}

Effects BuddyCore::announced(const protocol::BuddyReply& reply) {
    announcing_ = false;
    if (state_ != State::Joining) return {};
    state_ = State::Running;
    adopt(reply.buddyA, reply.buddyB, reply.version);
    Effects out;
    if (reply.flag) return out;  // already in the table: the buddies know us
    // Fig. 3 step 325 / Fig. 5: each new buddy replaces the other one with us.
    if (a_ != config_.self) out.push_back(effect::SendReplace{a_, b_, config_.self, version_});
    if (b_ != config_.self && b_ != a_) out.push_back(effect::SendReplace{b_, a_, config_.self, version_});
    return out;
}

Effects BuddyCore::deleted(Ipv4Address dead, const protocol::BuddyReply& reply) {
    deleting_.erase(dead);
    watches_.erase(dead);
    Effects out = wantFetch();  // confirm: other deaths may have crossed this one
    if (!reply.flag || state_ != State::Running) return out;
    // Fig. 6 step 625: one of the dead server's buddies is us; the other becomes our buddy
    // and is told to replace the dead server with us.
    Ipv4Address other;
    if (reply.buddyA == config_.self) other = reply.buddyB;
    else if (reply.buddyB == config_.self) other = reply.buddyA;
    else return out;
    if (other == dead) other = config_.self;
    if (reply.version > version_) {
        adopt(a_ == dead ? other : a_, b_ == dead ? other : b_, reply.version);
    }
    if (other != config_.self) out.insert(out.begin(), effect::SendReplace{other, dead, config_.self, reply.version});
    return out;
}

Effects BuddyCore::reportRefused(Ipv4Address dead) {
    deleting_.erase(dead);
    if (auto it = watches_.find(dead); it != watches_.end()) it->second = Watch{};
    return wantFetch();
}

Effects BuddyCore::wantFetch() {
    if (fetching_) {
        refetch_ = true;  // the answer in flight may predate what we just learnt
        return {};
    }
    fetching_ = true;
    return {effect::FetchEntry{}};
}

Effects BuddyCore::entryFetched(const protocol::BuddyReply& reply) {
    fetching_ = false;
    suspect_ = false;  // the registry answered
    bool superseded = refetch_;
    refetch_ = false;
    if (state_ != State::Running) return {};
    if (!reply.flag) {
        // Not in the table (declared dead while alive, or the table was rebuilt): announce
        // again, as a server that comes back does. Nothing else is pending any more: a
        // re-read requested meanwhile would only find the same absence, and leaving it
        // flagged would stop the periodic re-read for good.
        state_ = State::Joining;
        announcing_ = true;
        watches_.clear();
        deleting_.clear();
        return {effect::Announce{}};
    }
    if (superseded) {
        // Something newer arrived while this answer was on its way: take it only if it is
        // at least as new, and ask again.
        if (reply.version >= version_) adopt(reply.buddyA, reply.buddyB, reply.version);
        return wantFetch();
    }
    // Nothing arrived since the question: the registry's answer is the authority, also
    // over a version above its own (which no registry issued).
    adopt(reply.buddyA, reply.buddyB, reply.version);
    return {};
}

void BuddyCore::registryFailed(const Effect& call) {
    suspect_ = true;
    if (std::holds_alternative<effect::Announce>(call)) announcing_ = false;
    if (auto* report = std::get_if<effect::ReportDeath>(&call)) deleting_.erase(report->server);
    if (std::holds_alternative<effect::FetchEntry>(call)) fetching_ = refetch_ = false;
}

bool BuddyCore::acceptTerm(uint64_t term, Time now) { return terms_.accept(term, now); }

BuddyCore::ReplaceOutcome BuddyCore::replaceRequested(uint64_t version, Ipv4Address toReplace,
                                                      Ipv4Address replacement) {
    ReplaceOutcome out;
    if (state_ != State::Running) {
        out.reason = "not in the ring yet";
        return out;
    }
    if (version > version_ + kMaxVersionLead) {
        out.reason = "version " + std::to_string(version) + " is from the future";
        out.effects = wantFetch();
        return out;
    }
    if (version <= version_) {  // caused by a change our list already reflects
        out.accepted = true;
        out.reason = "stale";
        return out;
    }
    if (a_ != toReplace && b_ != toReplace) {
        out.reason = toReplace.toString() + " is not a buddy of " + config_.self.toString();
        out.effects = wantFetch();
        return out;
    }
    adopt(a_ == toReplace ? replacement : a_, b_ == toReplace ? replacement : b_, version);
    out.accepted = true;
    // Changes with lower versions may still be on their way (and would then be ignored as
    // stale): the registry's entry settles it.
    out.effects = wantFetch();
    return out;
}

Effects BuddyCore::shutdown() {
    if (state_ != State::Running) {
        state_ = State::Gone;
        return {effect::Exit{}};
    }
    state_ = State::Leaving;
    return {effect::Delete{config_.self}};
}

Effects BuddyCore::leftTable(const protocol::BuddyReply& reply) {
    state_ = State::Gone;
    Effects out;
    Ipv4Address a = reply.flag ? reply.buddyA : a_, b = reply.flag ? reply.buddyB : b_;
    // Claims 15-16 / seed text: buddy A replaces us with buddy B, buddy B with buddy A.
    if (a != config_.self) out.push_back(effect::SendReplace{a, config_.self, b, reply.version});
    if (b != config_.self && b != a) out.push_back(effect::SendReplace{b, config_.self, a, reply.version});
    out.push_back(effect::Exit{});
    return out;
}

}  // namespace ringgate::registry
