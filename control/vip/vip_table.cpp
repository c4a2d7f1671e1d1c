#include "control/vip/vip_table.h"

#include <algorithm>

namespace ringgate::vip {

VipEntry* VipTable::find(Ipv4Address address) {
    for (VipEntry& e : entries)
        if (e.address == address) return &e;
    return nullptr;
}

const VipEntry* VipTable::find(Ipv4Address address) const {
    return const_cast<VipTable*>(this)->find(address);
}

bool VipTable::isDrained(NodeId node) const {
    return std::find(drained.begin(), drained.end(), node) != drained.end();
}

uint64_t NodeLoad::total() const {
    uint64_t sum = 0;
    for (const auto& [vip, rate] : vipRates) sum += rate;
    return sum;
}

uint64_t LoadTable::loadOf(NodeId node) const {
    auto it = nodes.find(node);
    return it == nodes.end() ? 0 : it->second.total();
}

uint64_t LoadTable::rateOf(NodeId node, Ipv4Address vip) const {
    auto it = nodes.find(node);
    if (it == nodes.end()) return 0;
    auto rate = it->second.vipRates.find(vip);
    return rate == it->second.vipRates.end() ? 0 : rate->second;
}

VipTable initialTable(const config::Config& config) {
    VipTable table;
    table.version = 1;
    for (const config::Subnet& subnet : config.subnets)
        for (const config::Vip& vip : subnet.vips)
            table.entries.push_back(VipEntry{vip.address, kNoNode, vip.preferredHost.value_or(kNoNode),
                                             vip.persistence, kNoNode, false});
    return table;
}

}  // namespace ringgate::vip
