// Which node of the node map this host is, for programs started without --node: the one
// node that has an address the host holds. The choice is plain data in, answer out;
// hostIpv4Addresses() is the thin I/O shell that lists the host's addresses.
#pragma once

#include <string>
#include <vector>

#include "common/expected.h"
#include "common/ipv4.h"
#include "config/config.h"

namespace ringgate::config {

// Where the programs look for the configuration when --config is not given.
inline constexpr const char* kDefaultConfigPath = "/etc/ringgate/ringgate.yaml";

// The node whose addresses include one of `hostAddresses`; an error naming the
// candidates when none or more than one node match (two nodes' addresses on one host is
// a test set-up or a mistake, and guessing would start the wrong node).
Expected<NodeId> localNode(const Cluster& cluster, const std::vector<Ipv4Address>& hostAddresses);

// The IPv4 addresses on this host's interfaces (in the calling network namespace).
Expected<std::vector<Ipv4Address>> hostIpv4Addresses();

}  // namespace ringgate::config
