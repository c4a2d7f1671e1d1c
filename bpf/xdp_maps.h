// User-space side of ringgate's XDP program: which addresses it steers to the fast path.
// The AF_XDP PMD loads and attaches the program itself (devarg xdp_prog); this code finds
// the maps of the program attached to an interface and fills them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.h"

namespace ringgate::bpf {

struct XdpAddresses {
    std::vector<uint32_t> vips;    // host byte order
    std::vector<uint32_t> locals;  // this node's own addresses
    bool steerTransit = true;      // dnat replies routed through the gateway
};

// Fills rg_addrs and rg_config given their file descriptors.
Expected<void> fillXdpMaps(int addrsFd, int configFd, const XdpAddresses& addresses);

// Finds the XDP program attached to `interface` (it must be ringgate's) and fills its maps.
Expected<void> configureAttachedXdp(const std::string& interface, const XdpAddresses& addresses);

}  // namespace ringgate::bpf
