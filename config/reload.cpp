#include "config/reload.h"

#include <map>
#include <set>

namespace ringgate::config {

namespace {

std::string vipText(const Vip& vip) {
    std::string text = vip.address.toString();
    if (vip.preferredHost) text += " preferred " + std::to_string(*vip.preferredHost);
    return text + " persistence " + std::string(toString(vip.persistence));
}

std::map<Ipv4Address, Vip> vipsOf(const Config& config) {
    std::map<Ipv4Address, Vip> vips;
    for (const Subnet& subnet : config.subnets)
        for (const Vip& vip : subnet.vips) vips[vip.address] = vip;
    return vips;
}

// The subnets without their VIPs: names, prefixes and order are the cluster's paths.
bool sameSubnets(const Config& a, const Config& b) {
    if (a.subnets.size() != b.subnets.size()) return false;
    for (size_t i = 0; i < a.subnets.size(); ++i)
        if (a.subnets[i].name != b.subnets[i].name || a.subnets[i].prefix != b.subnets[i].prefix) return false;
    return true;
}

std::vector<const Service*> httpServices(const Config& config) {
    std::vector<const Service*> out;
    for (const Service& s : config.services)
        if (s.mode == ServiceMode::Http) out.push_back(&s);
    return out;
}

bool sameHttpServices(const Config& a, const Config& b) {
    auto x = httpServices(a), y = httpServices(b);
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
        if (!(*x[i] == *y[i])) return false;
    return true;
}

void diffVips(const Config& running, const Config& next, std::vector<std::string>& changes) {
    auto before = vipsOf(running), after = vipsOf(next);
    for (const auto& [address, vip] : after) {
        auto old = before.find(address);
        if (old == before.end())
            changes.push_back("VIP " + vipText(vip) + " added");
        else if (!(old->second == vip))
            changes.push_back("VIP " + vipText(old->second) + " -> " + vipText(vip));
    }
    for (const auto& [address, vip] : before)
        if (!after.count(address)) changes.push_back("VIP " + address.toString() + " removed");
}

template <typename T>
void diffNamed(const std::vector<T>& before, const std::vector<T>& after, const std::string& kind,
               std::vector<std::string>& changes) {
    std::map<std::string, const T*> old;
    for (const T& item : before) old[item.name] = &item;
    for (const T& item : after) {
        auto it = old.find(item.name);
        if (it == old.end())
            changes.push_back(kind + " " + item.name + " added");
        else if (!(*it->second == item))
            changes.push_back(kind + " " + item.name + " changed");
        if (it != old.end()) old.erase(it);
    }
    for (const auto& [name, item] : old) changes.push_back(kind + " " + name + " removed");
}

}  // namespace

ReloadPlan planReload(const Config& running, const Config& next, NodeId self, bool sameText, VersionRule rule) {
    ReloadPlan plan;
    if (sameText) {
        plan.unchanged = true;
        return plan;
    }
    auto refuse = [&](bool same, const std::string& field) {
        if (!same) plan.refusals.push_back(field + " changed (needs a restart of every node)");
    };
    if (!next.cluster.findNode(self))
        plan.refusals.push_back("node " + std::to_string(self) + " is not in the new node map");
    if (rule == VersionRule::MustGrow && next.cluster.configVersion <= running.cluster.configVersion)
        plan.refusals.push_back("cluster.config_version must grow when the file changes (running " +
                                std::to_string(running.cluster.configVersion) + ", new " +
                                std::to_string(next.cluster.configVersion) + ")");
    refuse(next.cluster.name == running.cluster.name, "cluster.name");
    refuse(next.cluster.port == running.cluster.port, "cluster.port");
    refuse(next.cluster.sharedKey == running.cluster.sharedKey, "cluster.shared_key");
    refuse(next.cluster.nodes == running.cluster.nodes, "cluster.nodes");
    refuse(sameSubnets(running, next), "subnets (names or prefixes)");
    refuse(next.localMonitors == running.localMonitors, "local_monitors");
    refuse(next.loadBalancing == running.loadBalancing, "load_balancing");
    refuse(next.registry == running.registry, "registry");
    refuse(next.management == running.management, "management");
    refuse(next.dataplane == running.dataplane, "dataplane");
    refuse(next.flows == running.flows, "flows");
    refuse(sameHttpServices(running, next), "services in mode http");
    if (!plan.live()) return plan;

    if (next.cluster.configVersion != running.cluster.configVersion)
        plan.changes.push_back("config_version " + std::to_string(running.cluster.configVersion) + " -> " +
                               std::to_string(next.cluster.configVersion));
    diffVips(running, next, plan.changes);
    diffNamed(running.pools, next.pools, "pool", plan.changes);
    diffNamed(running.services, next.services, "service", plan.changes);
    if (!(next.timers == running.timers)) plan.changes.push_back("timers changed");
    return plan;
}

}  // namespace ringgate::config
