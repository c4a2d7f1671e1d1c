#include "control/registry/role_core.h"

namespace ringgate::registry {

std::vector<RoleAction> RoleCore::start() {
    role_ = Role::Probing;
    return {RoleAction::ProbeAddress};  // Fig. 1 step 6
}

std::vector<RoleAction> RoleCore::probed(bool addressInUse) {
    if (!addressInUse) {
        role_ = Role::Primary;  // Fig. 1 step 10
        return {RoleAction::TakeAddress};
    }
    role_ = Role::Monitor;  // Fig. 1 step 12, Fig. 2
    missed_ = 0;
    pinged_ = answered_ = false;
    return {RoleAction::FollowPrimary};
}

std::vector<RoleAction> RoleCore::tick() {
    if (role_ != Role::Monitor) return {};
    if (pinged_) missed_ = answered_ ? 0 : missed_ + 1;
    if (missed_ >= failures_) {
        role_ = Role::Probing;  // Fig. 2: no response -> try to become the primary
        missed_ = 0;
        pinged_ = false;
        return {RoleAction::ProbeAddress};
    }
    pinged_ = true;
    answered_ = false;
    return {RoleAction::PingPrimary};
}

}  // namespace ringgate::registry
