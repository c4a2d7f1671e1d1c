// The configuration's rider on the token train: runs ConfigSync (control/cluster/
// config_sync.h) while this node holds the token, and hands a complete newer configuration
// to `judge` (the daemon's validation, the same as SIGHUP's), which adopts or refuses it.
// Added to the riders before the VIP manager, so that a VIP the new version adds is known
// here before the VIP table is read in the same visit. It also tells the membership whether
// this node runs the newest version on the token: then its node map is the truth, and a
// member outside it (a node removed from the map) is dropped instead of staying a ghost.
#pragma once

#include <algorithm>
#include <functional>

#include "common/log.h"
#include "control/cluster/config_sync.h"
#include "control/cluster/membership.h"

namespace ringgate::daemon {

class ConfigRider : public cluster::MembershipHooks {
public:
    using Judge = std::function<bool(const cluster::SharedConfig&)>;
    using RunningVersion = std::function<uint64_t()>;
    using MapCurrent = std::function<void(bool)>;

    ConfigRider(cluster::ConfigSync& sync, Judge judge, RunningVersion running, MapCurrent mapCurrent)
        : sync_(sync), judge_(std::move(judge)), running_(std::move(running)), mapCurrent_(std::move(mapCurrent)) {}

    void onTokenHeld(cluster::Time, cluster::Carriages& carriages, const std::vector<cluster::NodeId>&) override {
        auto offer = sync_.onToken(carriages);
        if (auto notice = sync_.takeNotice()) RG_WARN(Config, "%s", notice->c_str());
        if (offer) {
            if (judge_(*offer))
                sync_.adopted(*offer);
            else
                sync_.refused(*offer);
        }
        uint64_t newest = sync_.local().version;
        if (const auto* bytes = carriages.find(cluster::carriage::kClusterConfig))
            if (auto decoded = cluster::decodeConfigChunk(*bytes); decoded.chunk)
                newest = std::max(newest, decoded.chunk->version);
        mapCurrent_(running_() >= newest);
    }
    void onMembershipChanged(cluster::Time, const std::vector<cluster::NodeId>&) override {}

private:
    cluster::ConfigSync& sync_;
    Judge judge_;
    RunningVersion running_;
    MapCurrent mapCurrent_;
};

}  // namespace ringgate::daemon
