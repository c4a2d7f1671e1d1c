// The configuration's rider on the token train: runs ConfigSync (control/cluster/
// config_sync.h) while this node holds the token, and hands a complete newer configuration
// to `judge` (the daemon's validation, the same as SIGHUP's), which adopts or refuses it.
// Added to the riders before the VIP manager, so that a VIP the new version adds is known
// here before the VIP table is read in the same visit.
#pragma once

#include <functional>

#include "common/log.h"
#include "control/cluster/config_sync.h"
#include "control/cluster/membership.h"

namespace ringgate::daemon {

class ConfigRider : public cluster::MembershipHooks {
public:
    using Judge = std::function<bool(const cluster::SharedConfig&)>;

    ConfigRider(cluster::ConfigSync& sync, Judge judge) : sync_(sync), judge_(std::move(judge)) {}

    void onTokenHeld(cluster::Time, cluster::Carriages& carriages, const std::vector<cluster::NodeId>&) override {
        auto offer = sync_.onToken(carriages);
        if (auto notice = sync_.takeNotice()) RG_WARN(Config, "%s", notice->c_str());
        if (!offer) return;
        if (judge_(*offer))
            sync_.adopted(*offer);
        else
            sync_.refused(*offer);
    }
    void onMembershipChanged(cluster::Time, const std::vector<cluster::NodeId>&) override {}

private:
    cluster::ConfigSync& sync_;
    Judge judge_;
};

}  // namespace ringgate::daemon
