// User-space side of ringgate's XDP program: which addresses it steers to the fast path.
// The AF_XDP PMD loads and attaches the program itself (devarg xdp_prog); this code finds
// the maps of the program attached to an interface and fills them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/ipv4.h"

namespace ringgate::bpf {

struct XdpAddresses {
    std::vector<uint32_t> vips;    // host byte order
    std::vector<uint32_t> locals;  // this node's own addresses
    bool steerTransit = true;      // dnat replies routed through the gateway
    uint16_t natPortFirst = 0;     // fullnat replies to a local address on these ports
    uint16_t natPortLast = 0;
};

// Fills rg_addrs and rg_config given their file descriptors.
Expected<void> fillXdpMaps(int addrsFd, int configFd, const XdpAddresses& addresses);

// Makes rg_host_ports hold exactly `ports` (VIP:port pairs the host's HTTP proxy serves
// on this node, the owned VIPs' only): adds the new ones, then removes the rest.
Expected<void> fillHostPorts(int hostPortsFd, const std::vector<Ipv4Endpoint>& ports);

// The same on the program attached to `interface`.
Expected<void> setAttachedHostPorts(const std::string& interface, const std::vector<Ipv4Endpoint>& ports);

// Detaches ringgate's XDP program left on `interface` by a ringgated that was killed (it
// keeps dropping VIP traffic meanwhile: fail closed), so that a new one can attach. A
// program that is not ringgate's is left alone and reported as an error.
Expected<void> detachStaleXdp(const std::string& interface);

// Finds the XDP program attached to `interface` (it must be ringgate's) and fills its maps.
Expected<void> configureAttachedXdp(const std::string& interface, const XdpAddresses& addresses);

}  // namespace ringgate::bpf
