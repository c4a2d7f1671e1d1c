// Addresses on the host's own interfaces, through rtnetlink: what the kernel actuator
// does on claim and release, and how fast-path mode puts every VIP on every host (seed
// 004's dynamic address assignment; the XDP program hides the duplicates). Each change is
// acknowledged by the kernel before the call returns.
#pragma once

#include <string>

#include "common/expected.h"
#include "common/ipv4.h"
#include "dataplane/packet.h"

namespace ringgate::vip {

struct HostLink {
    std::string name;
    int index = 0;
    dataplane::MacAddress mac;
};

// The interface holding `address`, with its index and MAC.
Expected<HostLink> findHostLink(Ipv4Address address);
Expected<HostLink> findHostLinkByName(const std::string& name);

class HostAddresses {
public:
    HostAddresses() = default;
    ~HostAddresses();
    HostAddresses(const HostAddresses&) = delete;
    HostAddresses& operator=(const HostAddresses&) = delete;

    Expected<void> open();
    Expected<void> add(const HostLink& link, Ipv4Address address, uint8_t prefixLength);
    // Removing an address that is not there is not an error: that is the state wanted.
    Expected<void> remove(const HostLink& link, Ipv4Address address, uint8_t prefixLength);
    uint64_t changes() const { return changes_; }

private:
    Expected<void> change(const HostLink& link, Ipv4Address address, uint8_t prefixLength, bool add);

    int socket_ = -1;
    uint32_t sequence_ = 0;
    uint64_t changes_ = 0;
};

}  // namespace ringgate::vip
