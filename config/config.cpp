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

}  // namespace ringgate::config
