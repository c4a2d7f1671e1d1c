// Reading the server table as a ring: the order in which the buddies link the servers,
// and whether the table is exactly one ring (each server's two buddies are its two
// neighbours, every link symmetric, one cycle through all servers). Used by ringgatectl's
// pool view and by every test that checks the table after failures.
#pragma once

#include <string>
#include <vector>

#include "control/registry/server_store.h"

namespace ringgate::registry {

struct RingCheck {
    bool ok = false;
    std::vector<Ipv4Address> order;  // ring order starting at the lowest address
    std::string problem;             // why it is not one ring
};

RingCheck checkRing(const std::vector<ServerEntry>& entries);

std::vector<Ipv4Address> liveList(const std::vector<ServerEntry>& entries);

}  // namespace ringgate::registry
