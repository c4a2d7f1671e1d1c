// Connects the VIP manager to the token ring and to the node's actuator: decodes the VIP
// and load carriages while this node holds the token, lets VipManager decide, encodes
// the result back onto the train and applies the effects before the token leaves.
// Also serves `vips`, `vip ...`, `drain` and `undrain` on the management socket.
#pragma once

#include <optional>
#include <vector>

#include "config/config.h"
#include "control/cluster/membership.h"
#include "control/management/command_table.h"
#include "control/vip/vip_actuator.h"
#include "control/vip/vip_manager.h"

namespace ringgate::vip {

struct VipServiceCounters {
    uint64_t tokenVisits = 0;
    uint64_t badCarriages = 0;  // undecodable VIP or load carriage, replaced by our last copy
};

class VipService : public cluster::MembershipHooks {
public:
    VipService(const config::Config& config, NodeId self, VipActuator& actuator);

    void onTokenHeld(cluster::Time now, cluster::Carriages& carriages,
                     const std::vector<NodeId>& members) override;
    void onMembershipChanged(cluster::Time now, const std::vector<NodeId>& members) override;

    // Out of the ring (token lost, or leaving): answer for nothing until the next token.
    void onLeftRing();

    void registerCommands(management::CommandTable& commands);

    const VipTable& table() const { return table_; }
    const VipManager& manager() const { return manager_; }
    const VipServiceCounters& counters() const { return counters_; }

private:
    management::Reply view(const management::Request& request) const;
    management::Reply command(const management::Request& request);
    void apply(const std::vector<Effect>& effects);

    const config::Config& config_;
    NodeId self_;
    VipActuator& actuator_;
    VipManager manager_;
    VipTable table_;   // the newest table this node has seen (on the token, or its own copy)
    LoadTable loads_;
    std::vector<NodeId> members_;
    std::vector<NodeId> membersAtLastVisit_;
    VipServiceCounters counters_;
};

LoadBalancing loadBalancingFrom(const config::Config& config);

}  // namespace ringgate::vip
