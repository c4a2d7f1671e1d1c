// `ringgatectl pool` and `status` on a registry: the ring in order with each server's
// buddies, the live list, the registry's role and counters, as text or JSON.
#pragma once

#include <string>

#include "control/registry/registry_server.h"

namespace ringgate::registry {

struct PoolView {
    Role role = Role::Probing;
    std::string service;  // service endpoint
    TableSnapshot table;
    RegistryCounters counters;
    bool monitorAttached = false;
    std::string monitorPeer;       // on a primary: where its monitor connects from
    uint64_t followedChanges = 0;  // on a monitor: changes replayed from the primary
    DeathJudge::Counters deaths;   // death reports and why refused
    std::string store;             // "sqlite" or "postgresql"
};

std::string poolText(const PoolView& view);
std::string poolJson(const PoolView& view);
std::string statusText(const PoolView& view);  // role, store, table version
std::string statusJson(const PoolView& view);

}  // namespace ringgate::registry
