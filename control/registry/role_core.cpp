#include "control/registry/role_core.h"

namespace ringgate::registry {

std::vector<RoleAction> RoleCore::start() {
    role_ = Role::Probing;
    std::vector<RoleAction> out;
    if (peers_ > 0) out.push_back(RoleAction::QueryPeers);  // know who is there before probing
    out.push_back(RoleAction::ProbeAddress);                // Fig. 1 step 6
    return out;
}

bool RoleCore::peerOutranks(const Heard& heard, Ipv4Address peer) const {
    if (heard.tick + 1 < ticks_) return false;  // not heard in this or the last interval
    if (heard.role == Role::Primary) return true;
    // Two probing at once: the lower address goes first, the other waits for it.
    return heard.role == Role::Probing && peer < self_;
}

std::vector<RoleAction> RoleCore::probed(bool addressInUse) {
    if (!addressInUse) {
        for (const auto& [peer, heard] : heard_)
            if (peerOutranks(heard, peer)) {
                // Someone else is (or is about to be) primary: stay probing and look
                // again next interval; its address will be in use by then.
                waiting_ = true;
                return {};
            }
        role_ = Role::Primary;  // Fig. 1 step 10
        term_ = highest_ + 1;
        highest_ = term_;
        return {RoleAction::TakeAddress};
    }
    role_ = Role::Monitor;  // Fig. 1 step 12, Fig. 2
    missed_ = 0;
    pinged_ = answered_ = false;
    return {RoleAction::FollowPrimary};
}

void RoleCore::primaryAnswered(uint64_t term) {
    answered_ = true;
    sawTerm(term);
}

std::vector<RoleAction> RoleCore::peerReported(Ipv4Address peer, Role role, uint64_t term) {
    heard_[peer] = {role, term, ticks_};
    sawTerm(term);
    if (role_ != Role::Primary || role != Role::Primary) return {};
    if (term > term_ || (term == term_ && peer < self_)) {
        // Fenced: another primary has the newer term. Give the address up and follow it.
        role_ = Role::Monitor;
        missed_ = 0;
        pinged_ = answered_ = false;
        return {RoleAction::ReleaseAddress, RoleAction::FollowPrimary};
    }
    return {};
}

std::vector<RoleAction> RoleCore::tick() {
    ++ticks_;
    std::vector<RoleAction> out;
    if (peers_ > 0) out.push_back(RoleAction::QueryPeers);
    if (role_ == Role::Probing && waiting_) {
        // Waiting behind a peer (simultaneous start): follow it once it is primary; probe
        // again once it no longer outranks us (it is gone).
        bool outranked = false, primary = false;
        for (const auto& [peer, heard] : heard_) {
            outranked = outranked || peerOutranks(heard, peer);
            primary = primary || (peerOutranks(heard, peer) && heard.role == Role::Primary);
        }
        if (primary) {
            waiting_ = false;
            for (auto action : probed(true)) out.push_back(action);
        } else if (!outranked) {
            waiting_ = false;
            out.push_back(RoleAction::ProbeAddress);
        }
        return out;
    }
    if (role_ != Role::Monitor) return out;
    if (pinged_) missed_ = answered_ ? 0 : missed_ + 1;
    if (missed_ >= failures_) {
        role_ = Role::Probing;  // Fig. 2: no response -> try to become the primary
        missed_ = 0;
        pinged_ = false;
        out.push_back(RoleAction::ProbeAddress);
        return out;
    }
    pinged_ = true;
    answered_ = false;
    out.push_back(RoleAction::CheckPrimary);
    return out;
}

}  // namespace ringgate::registry
