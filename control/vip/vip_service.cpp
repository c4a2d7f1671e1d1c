#include "control/vip/vip_service.h"

#include <algorithm>

#include "common/log.h"
#include "control/vip/vip_codec.h"
#include "control/vip/vip_commands.h"

namespace ringgate::vip {

namespace {
std::vector<NodeId> nodeIds(const config::Config& config) {
    std::vector<NodeId> ids;
    for (const config::Node& node : config.cluster.nodes) ids.push_back(node.id);
    return ids;
}
}  // namespace

LoadBalancing loadBalancingFrom(const config::Config& config) {
    const config::LoadBalancingConfig& c = config.loadBalancing;
    LoadBalancing lb;
    lb.enabled = c.enabled;
    lb.byteWeight = c.byteWeight;
    lb.cpuWeight = c.cpuWeight;
    lb.imbalancePercent = c.imbalancePercent;
    lb.minImbalance = c.minImbalance;
    lb.cooldown = std::chrono::milliseconds(c.cooldownMs);
    return lb;
}

VipService::VipService(const config::Config& config, NodeId self, VipActuator& actuator)
    : config_(config),
      self_(self),
      actuator_(actuator),
      manager_(self, nodeIds(config), loadBalancingFrom(config)),
      table_(initialTable(config)) {
    // No answer before the ring's first lease (Membership tells onLease when it comes).
    manager_.onLease(Clock::time_point{}, false);
}

void VipService::onTokenHeld(cluster::Time now, cluster::Carriages& carriages,
                             const std::vector<NodeId>& members) {
    ++counters_.tokenVisits;
    // The train's copy is the cluster's truth; ours only stands in when the train has
    // none yet (first token of a new ring) or carries one we cannot read.
    if (const auto* bytes = carriages.find(cluster::carriage::kVipTable)) {
        std::string error;
        if (auto decoded = decodeVipTable(*bytes, error)) {
            table_ = std::move(*decoded);
        } else {
            ++counters_.badCarriages;
            RG_WARN(Vip, "undecodable VIP carriage (%s); continuing from table version %llu",
                    error.c_str(), static_cast<unsigned long long>(table_.version));
        }
    }
    for (const VipTableEdit& edit : pendingEdits_)
        if (applyEdit(edit, table_))
            RG_INFO(Vip, "VIP table follows the configuration (version %llu): %zu added, %zu removed, %zu changed",
                    static_cast<unsigned long long>(config_.cluster.configVersion), edit.added.size(),
                    edit.removed.size(), edit.changed.size());
    pendingEdits_.clear();
    if (const auto* bytes = carriages.find(cluster::carriage::kNodeLoad)) {
        std::string error;
        if (auto decoded = decodeLoadTable(*bytes, error))
            loads_ = std::move(*decoded);
        else
            ++counters_.badCarriages;
    }

    bool grew = std::any_of(members.begin(), members.end(), [&](NodeId m) {
        return std::find(membersAtLastVisit_.begin(), membersAtLastVisit_.end(), m) ==
               membersAtLastVisit_.end();
    }) && !membersAtLastVisit_.empty();
    membersAtLastVisit_ = members;
    members_ = members;

    uint64_t before = table_.version;
    NodeLoad mine = actuator_.measuredLoad();
    mine.cpuPermille = cpuPermille_;
    for (const config::Subnet& subnet : config_.subnets)
        if (withdrawnSubnets_.count(subnet.name))
            for (const config::Vip& vip : subnet.vips) mine.withdrawn.insert(vip.address);
    if (tie_) manager_.setProbeTakeovers(tie_(members));
    FenceOf fenceOf = [&](NodeId owner) -> Clock::duration {
        if (fence_) return fence_(owner, now);
        cluster::MembershipTimers timers;
        timers.handoffAckTimeout = std::chrono::milliseconds(config_.timers.handoffAckTimeoutMs);
        timers.handoffRetries = config_.timers.handoffRetries;
        return cluster::withLease(timers).lease;  // a whole lease
    };
    FenceOf grantedOf = [&](NodeId owner) -> Clock::duration { return granted_ ? granted_(owner, now) : Clock::duration{}; };
    auto effects = manager_.onToken(Clock::time_point{} + now, members, grew, mine,
                                    table_, loads_, fenceOf, grantedOf);
    apply(effects);
    if (table_.version != before)
        RG_DEBUG(Vip, "VIP table version %llu -> %llu", static_cast<unsigned long long>(before),
                 static_cast<unsigned long long>(table_.version));
    carriages.set(cluster::carriage::kVipTable, encodeVipTable(table_));
    carriages.set(cluster::carriage::kNodeLoad, encodeLoadTable(loads_));
}

void VipService::onMembershipChanged(cluster::Time, const std::vector<NodeId>& members) {
    members_ = members;
    if (std::find(members.begin(), members.end(), self_) == members.end()) onLeftRing();
}

void VipService::onLeftRing() { apply(manager_.onLeftRing()); }

void VipService::onLease(cluster::Time now, bool valid) {
    if (!valid && !manager_.answering().empty())
        RG_WARN(Vip, "lease lost (no grant from the ring predecessor): releasing %zu VIP(s) until it returns",
                manager_.answering().size());
    apply(manager_.onLease(Clock::time_point{} + now, valid));
}

std::optional<cluster::Time> VipService::nextDeadline() const {
    auto next = manager_.nextDeadline();
    if (!next) return std::nullopt;
    return std::chrono::duration_cast<cluster::Time>(next->time_since_epoch());
}

void VipService::onTimer(cluster::Time now) { apply(manager_.onTimer(Clock::time_point{} + now)); }

void VipService::reconfigure(const config::Config& before) {
    VipTableEdit edit = tableEdit(before, config_);
    if (edit.empty()) return;
    applyEdit(edit, table_);  // our own copy at once (what `vips` shows until the token comes)
    pendingEdits_.push_back(std::move(edit));
}

void VipService::apply(const std::vector<Effect>& effects) {
    for (const Effect& e : effects) {
        std::string why = e.probeFirst ? " (probing first: no known owner)" : "";
        if (e.handOverFrom != kNoNode) why = " (its older flows stay with node " + std::to_string(e.handOverFrom) + ")";
        RG_INFO(Vip, "%s %s%s", std::string(toString(e.kind)).c_str(), e.vip.toString().c_str(), why.c_str());
        switch (e.kind) {
            case EffectKind::Claim: actuator_.claim(e.vip, e.probeFirst, e.handOverFrom); break;
            case EffectKind::Release: actuator_.release(e.vip); break;
            case EffectKind::Announce: actuator_.announce(e.vip); break;
        }
    }
}

VipTableReport VipService::report() const {
    return vipReport({self_, config_.cluster.configVersion, &table_, &loads_, members_, &manager_.answering()});
}

Expected<CommandAccepted> VipService::submit(const Command& command, const std::string& who) {
    auto queued = manager_.queue(command, table_, members_);
    if (!queued) return makeError("refused: " + queued.error().message);
    std::string what = describe(command);
    RG_INFO(Vip, "operator %s: %s (applies at the next token visit)", who.c_str(), what.c_str());
    return CommandAccepted{what, table_.version, config_.cluster.configVersion};
}

}  // namespace ringgate::vip
