// Seed 003 (Fig. 1-2) without I/O: which registry serves the shared service address.
// At start a registry asks whether the address is in use (an ARP probe): free -> it takes
// the address and serves as primary; in use -> it becomes the monitor, follows the
// primary's table and pings the address; after `failures` silent pings it probes again
// and takes the address if it is free. A returning old primary finds the address in use
// and becomes the monitor. Further registries are monitors in line: whoever probes first
// after a failure takes the address, the others keep following.
#pragma once

#include <cstdint>
#include <vector>

#include "control/registry/registry_service.h"

namespace ringgate::registry {

enum class RoleAction { ProbeAddress, TakeAddress, FollowPrimary, PingPrimary };

class RoleCore {
public:
    explicit RoleCore(uint32_t failures) : failures_(failures) {}

    std::vector<RoleAction> start();
    std::vector<RoleAction> probed(bool addressInUse);
    std::vector<RoleAction> tick();  // once per check interval
    void primaryAnswered() { answered_ = true; }

    Role role() const { return role_; }
    uint32_t missed() const { return missed_; }

private:
    uint32_t failures_;
    Role role_ = Role::Probing;
    uint32_t missed_ = 0;
    bool pinged_ = false;
    bool answered_ = false;
};

}  // namespace ringgate::registry
