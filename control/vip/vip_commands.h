// Operator side of the VIP manager: parses `ringgatectl ... vip ...` arguments into
// Commands, and builds the `vips` report (seed 004 Table 1 plus byte rates).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/expected.h"
#include "control/vip/vip_report.h"
#include "control/vip/vip_manager.h"

namespace ringgate::vip {

// "vip move 198.18.0.100 2", "vip prefer V N", "vip unprefer V", "vip persistence V 0|1|3",
// "vip close V", "vip open V", "drain N", "undrain N" (the command word included).
Expected<Command> parseCommand(const std::string& word, const std::vector<std::string>& args);

constexpr const char* kVipUsage =
    "vip move VIP NODE | prefer VIP NODE | unprefer VIP | persistence VIP 0|1|3 | close VIP | open VIP";

std::string describe(const Command& command);

struct VipView {
    NodeId self = kNoNode;
    uint64_t configVersion = 0;
    const VipTable* table = nullptr;
    const LoadTable* loads = nullptr;
    std::vector<NodeId> members;
    const std::set<Ipv4Address>* answering = nullptr;  // what this node's fast path answers
};

VipTableReport vipReport(const VipView& view);

}  // namespace ringgate::vip
