// What the local fault monitors report (`status`, /metrics): plain data rendered by
// control/management/render.h.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ringgate::monitors {

struct MonitorRow {
    std::string name;                  // "link ext0"
    std::string kind;                  // link, ping, tcp, http
    std::vector<std::string> subnets;  // whose VIPs it withdraws when down
    std::string state;                 // unknown, up, down
    uint32_t failuresInRow = 0;
    uint32_t successesInRow = 0;
    uint32_t fall = 0;
    uint32_t rise = 0;
    uint32_t intervalMs = 0;
    uint64_t probes = 0;
    uint64_t failures = 0;
    uint64_t transitions = 0;
    std::string lastResult;  // "ok" or why the last probe failed
    uint64_t sinceMs = 0;    // in the current state
};

struct MonitorsReport {
    std::vector<MonitorRow> monitors;
    std::map<std::string, std::vector<std::string>> withdrawn;  // subnet -> monitors down
};

}  // namespace ringgate::monitors
