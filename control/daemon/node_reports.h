// What ringgated reports of itself (`status`) and of its back-end pools (`pool`): plain
// data rendered by control/management/render.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/report.h"
#include "control/monitors/monitors_report.h"

namespace ringgate::daemon {

struct NodeStatus {
    uint32_t node = 0;
    std::string cluster;
    uint64_t configVersion = 0;
    std::string configHash;     // SHA-256 of the running file's text, first 16 hex digits
    std::string configFile;
    // A newer version adopted from the cluster and written to the file that changes what
    // only a restart applies (config/reload.h): its version and why it waits.
    std::optional<uint64_t> restartVersion;
    std::vector<std::string> restartNeeded;
    report::Counts configSync;  // the configuration carriage on the token (config_sync.h)
    uint64_t uptimeMs = 0;
    bool dataplane = false;
    int64_t pid = 0;
    std::string version;  // of ringgated
    bool authenticated = false;         // cluster datagrams carry an HMAC (cluster.shared_key)
    std::vector<std::string> warnings;  // what an operator should fix
    monitors::MonitorsReport monitors;  // local fault monitors (local_monitors)
    // Local load (load_balancing): what this node puts in its row of the load carriage.
    bool loadBalancing = false;
    uint32_t cpuPermille = 0;
};

// What a SIGHUP or `ringgatectl config push` did: applied, unchanged, or refused (and why).
struct ConfigChangeReport {
    std::string source;   // the file read
    bool applied = false;
    bool unchanged = false;
    uint64_t version = 0;  // running after the change
    std::string hash;
    std::vector<std::string> changes;
    std::vector<std::string> errors;  // validation errors (FILE:LINE:COLUMN: field: reason) or refusals
    bool ok() const { return applied || unchanged; }
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
