// What `ringgatectl vips` and /metrics show of the VIP table (seed 004 Table 1 plus byte
// rates): plain data from VipService::report(), rendered by control/management/render.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ringgate::vip {

struct VipRow {
    std::string vip;
    std::optional<uint32_t> currentHost;
    std::optional<uint32_t> preferredHost;
    int persistence = 0;  // 0 movable, 1 sticky to the current host, 3 sticky to the preferred
    std::optional<uint32_t> movingTo;
    std::string state;    // owned, moving, unowned, owner-lost, closed
    bool answeredHere = false;
    uint64_t bytesPerSecond = 0;  // measured by the owner, carried on the token
};

// One node's row of the load carriage, as the token last brought it here.
struct NodeLoadRow {
    uint32_t node = 0;
    uint64_t bytesPerSecond = 0;
    uint32_t cpuPermille = 0;             // of one CPU, used by that node's ringgated
    std::vector<std::string> withdrawn;   // VIPs its local monitors keep it from
};

struct VipTableReport {
    uint32_t node = 0;
    uint64_t tableVersion = 0;
    uint64_t configVersion = 0;
    std::vector<uint32_t> drained;
    std::vector<VipRow> vips;
    std::vector<NodeLoadRow> loads;
};

// An operator's change accepted; it applies at the next token visit.
struct CommandAccepted {
    std::string what;  // "move 198.18.0.100 to node 2"
    uint64_t tableVersion = 0;
    uint64_t configVersion = 0;
};

}  // namespace ringgate::vip
