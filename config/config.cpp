#include "config/config.h"

namespace ringgate::config {

std::optional<Ipv4Address> Node::addressOn(const std::string& subnet) const {
    for (const NodeAddress& a : addresses)
        if (a.subnet == subnet) return a.address;
    return std::nullopt;
}

const Node* Cluster::findNode(NodeId id) const {
    for (const Node& node : nodes)
        if (node.id == id) return &node;
    return nullptr;
}

namespace {
std::string withNode(std::string path, NodeId node) {
    const std::string placeholder = "{node}";
    for (size_t at = path.find(placeholder); at != std::string::npos; at = path.find(placeholder))
        path.replace(at, placeholder.size(), std::to_string(node));
    return path;
}
}  // namespace

std::string Management::socketPathFor(NodeId node) const { return withNode(socketPath, node); }

std::string Management::readOnlySocketPathFor(NodeId node) const { return withNode(readOnlySocketPath, node); }

const Subnet* Config::findSubnet(const std::string& name) const {
    for (const Subnet& subnet : subnets)
        if (subnet.name == name) return &subnet;
    return nullptr;
}

const BackendPool* Config::findPool(const std::string& name) const {
    for (const BackendPool& pool : pools)
        if (pool.name == name) return &pool;
    return nullptr;
}

std::vector<std::string> affectedSubnets(const Config& config, const LocalMonitor& monitor) {
    if (!monitor.subnets.empty()) return monitor.subnets;
    std::vector<std::string> names;
    switch (monitor.kind) {
        case MonitorKind::Link:
            for (const Port& port : config.dataplane.ports)
                if (port.interface == monitor.interface) names.push_back(port.subnet);
            break;
        case MonitorKind::Ping:
            for (const Subnet& subnet : config.subnets)
                if (subnet.prefix.contains(monitor.target)) names.push_back(subnet.name);
            break;
        case MonitorKind::Tcp:
        case MonitorKind::Http:
            for (const Subnet& subnet : config.subnets) names.push_back(subnet.name);
            break;
    }
    return names;
}

std::string describe(const LocalMonitor& monitor) {
    std::string kind(toString(monitor.kind));
    switch (monitor.kind) {
        case MonitorKind::Link: return kind + " " + monitor.interface;
        case MonitorKind::Ping: return kind + " " + monitor.target.toString();
        case MonitorKind::Tcp: return kind + " " + monitor.target.toString() + ":" + std::to_string(monitor.port);
        case MonitorKind::Http:
            return kind + " " + monitor.target.toString() + ":" + std::to_string(monitor.port) + monitor.path;
    }
    return kind;
}

}  // namespace ringgate::config
