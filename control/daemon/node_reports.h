// What ringgated reports of itself (`status`) and of its back-end pools (`pool`): plain
// data rendered by control/management/render.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ringgate::daemon {

struct NodeStatus {
    uint32_t node = 0;
    std::string cluster;
    uint64_t configVersion = 0;
    uint64_t uptimeMs = 0;
    bool dataplane = false;
    int64_t pid = 0;
    std::string version;  // of ringgated
    bool authenticated = false;         // cluster datagrams carry an HMAC (cluster.shared_key)
    std::vector<std::string> warnings;  // what an operator should fix
};

struct PoolBackend {
    std::string address;
    uint16_t port = 0;
    uint32_t weight = 0;
};

struct PoolRow {
    std::string name;
    bool fromRegistry = false;  // live back ends follow ringgate-registry, else the configured ones
    std::vector<PoolBackend> backends;
};

struct PoolReport {
    std::vector<std::string> registry;  // endpoints of ringgate-registry, if configured
    bool connected = false;
    uint64_t liveListVersion = 0;
    uint64_t updates = 0;
    std::vector<std::string> live;  // the registry's live servers
    std::vector<PoolRow> pools;
};

}  // namespace ringgate::daemon
