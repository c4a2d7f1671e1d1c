// Connects the VIP manager to the token ring and to the node's actuator: decodes the VIP
// and load carriages while this node holds the token, lets VipManager decide, encodes
// the result back onto the train and applies the effects before the token leaves.
// Operators' view and changes (`vips`, `vip ...`, `drain`, `undrain`) go through report()
// and submit().
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "control/cluster/membership.h"
#include "common/expected.h"
#include "control/vip/vip_actuator.h"
#include "control/vip/vip_manager.h"
#include "control/vip/vip_report.h"

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
    void onLease(cluster::Time now, bool valid) override;
    std::optional<cluster::Time> nextDeadline() const override;
    void onTimer(cluster::Time now) override;
    // Where fences come from (Membership::fenceFor); unset, every fence is a whole lease.
    void setFence(std::function<cluster::Time(NodeId owner, cluster::Time now)> fence) { fence_ = std::move(fence); }
    // What is left of the lease this node granted an owner (Membership::grantedBy).
    void setGranted(std::function<cluster::Time(NodeId owner, cluster::Time now)> granted) { granted_ = std::move(granted); }
    // Whether the ring is a tie (Membership::tie): takeovers probe first.
    void setTie(std::function<bool(const std::vector<NodeId>& members)> tie) { tie_ = std::move(tie); }

    // Out of the ring (token lost, or leaving): answer for nothing until the next token.
    void onLeftRing();
    // The configuration was replaced in place (a live reload), `before` being the old one:
    // the VIP table takes the change at this node's next token visit.
    void reconfigure(const config::Config& before);

    // This node's row of the load carriage beyond the actuator's byte rates: the subnets
    // whose local monitors failed here (their VIPs go to other nodes; an empty set makes
    // this node eligible again) and the CPU ringgated uses. Effective at the next visit.
    void setWithdrawnSubnets(std::set<std::string> subnets) { withdrawnSubnets_ = std::move(subnets); }
    void setCpuPermille(uint32_t permille) { cpuPermille_ = permille; }

    // The VIP table as this node knows it (`ringgatectl vips`).
    VipTableReport report() const;
    // Queues an operator's change for the next token visit; `who` names the operator in
    // the log. Refused when it cannot apply (unknown VIP, node not a member, ...).
    Expected<CommandAccepted> submit(const Command& command, const std::string& who);

    const VipTable& table() const { return table_; }
    const VipManager& manager() const { return manager_; }
    const VipServiceCounters& counters() const { return counters_; }

private:
    void apply(const std::vector<Effect>& effects);

    const config::Config& config_;
    NodeId self_;
    VipActuator& actuator_;
    VipManager manager_;
    VipTable table_;   // the newest table this node has seen (on the token, or its own copy)
    LoadTable loads_;
    std::vector<NodeId> members_;
    std::vector<NodeId> membersAtLastVisit_;
    std::vector<VipTableEdit> pendingEdits_;  // from live reloads, for the next visit
    std::function<cluster::Time(NodeId, cluster::Time)> fence_;
    std::function<bool(const std::vector<NodeId>&)> tie_;
    std::function<cluster::Time(NodeId, cluster::Time)> granted_;
    VipServiceCounters counters_;
    std::set<std::string> withdrawnSubnets_;
    uint32_t cpuPermille_ = 0;
};

LoadBalancing loadBalancingFrom(const config::Config& config);

}  // namespace ringgate::vip
