#include "config/local_node.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ringgate::config {

Expected<NodeId> localNode(const Cluster& cluster, const std::vector<Ipv4Address>& hostAddresses) {
    std::vector<NodeId> matches;
    for (const auto& node : cluster.nodes) {
        bool here = std::any_of(node.addresses.begin(), node.addresses.end(), [&](const NodeAddress& a) {
            return std::find(hostAddresses.begin(), hostAddresses.end(), a.address) != hostAddresses.end();
        });
        if (here) matches.push_back(node.id);
    }
    if (matches.size() == 1) return matches.front();
    if (matches.empty())
        return makeError("no node of the node map has an address of this host: give --node ID");
    std::string ids;
    for (NodeId id : matches) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
    return makeError("nodes " + ids + " all have addresses on this host: give --node ID");
}

Expected<std::vector<Ipv4Address>> hostIpv4Addresses() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return makeError(std::string("getifaddrs: ") + std::strerror(errno));
    std::vector<Ipv4Address> out;
    for (ifaddrs* a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
        out.push_back(Ipv4Address{ntohl(reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr)});
    }
    ::freeifaddrs(list);
    return out;
}

}  // namespace ringgate::config
