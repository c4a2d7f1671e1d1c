// Several riders on one train: the VIP manager and the flow records both read and write
// carriages while this node holds the token, and both follow membership changes. Each is
// called in the order added.
#pragma once

#include <vector>

#include "control/cluster/membership.h"

namespace ringgate::cluster {

class Riders : public MembershipHooks {
public:
    void add(MembershipHooks* rider) { riders_.push_back(rider); }

    void onTokenHeld(Time now, Carriages& carriages, const std::vector<NodeId>& members) override {
        for (MembershipHooks* rider : riders_) rider->onTokenHeld(now, carriages, members);
    }
    void onMembershipChanged(Time now, const std::vector<NodeId>& members) override {
        for (MembershipHooks* rider : riders_) rider->onMembershipChanged(now, members);
    }
    void onLease(Time now, bool valid) override {
        for (MembershipHooks* rider : riders_) rider->onLease(now, valid);
    }
    std::optional<Time> nextDeadline() const override {
        std::optional<Time> next;
        for (MembershipHooks* rider : riders_)
            if (auto d = rider->nextDeadline(); d && (!next || *d < *next)) next = d;
        return next;
    }
    void onTimer(Time now) override {
        for (MembershipHooks* rider : riders_)
            if (auto d = rider->nextDeadline(); d && *d <= now) rider->onTimer(now);
    }

private:
    std::vector<MembershipHooks*> riders_;
};

}  // namespace ringgate::cluster
