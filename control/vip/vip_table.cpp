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

uint32_t LoadTable::cpuOf(NodeId node) const {
    auto it = nodes.find(node);
    return it == nodes.end() ? 0 : it->second.cpuPermille;
}

bool LoadTable::isWithdrawn(NodeId node, Ipv4Address vip) const {
    auto it = nodes.find(node);
    return it != nodes.end() && it->second.withdrawn.count(vip) > 0;
}

namespace {
std::vector<VipEntry> configuredEntries(const config::Config& config) {
    std::vector<VipEntry> entries;
    for (const config::Subnet& subnet : config.subnets)
        for (const config::Vip& vip : subnet.vips)
            entries.push_back(VipEntry{vip.address, kNoNode, vip.preferredHost.value_or(kNoNode), vip.persistence,
                                       kNoNode, false});
    return entries;
}
}  // namespace

VipTableEdit tableEdit(const config::Config& before, const config::Config& after) {
    VipTableEdit edit;
    auto old = configuredEntries(before), next = configuredEntries(after);
    auto find = [](const std::vector<VipEntry>& list, Ipv4Address address) -> const VipEntry* {
        for (const VipEntry& e : list)
            if (e.address == address) return &e;
        return nullptr;
    };
    for (const VipEntry& e : next) {
        const VipEntry* was = find(old, e.address);
        if (!was)
            edit.added.push_back(e);
        else if (was->preferred != e.preferred || was->persistence != e.persistence)
            edit.changed.push_back(e);
    }
    for (const VipEntry& e : old)
        if (!find(next, e.address)) edit.removed.push_back(e.address);
    return edit;
}

bool applyEdit(const VipTableEdit& edit, VipTable& table) {
    bool changed = false;
    for (const VipEntry& e : edit.added)
        if (!table.find(e.address)) {
            table.entries.push_back(e);
            changed = true;
        }
    for (Ipv4Address address : edit.removed)
        changed |= std::erase_if(table.entries, [&](const VipEntry& e) { return e.address == address; }) > 0;
    for (const VipEntry& e : edit.changed)
        if (VipEntry* entry = table.find(e.address);
            entry && (entry->preferred != e.preferred || entry->persistence != e.persistence)) {
            entry->preferred = e.preferred;
            entry->persistence = e.persistence;
            changed = true;
        }
    if (changed) ++table.version;
    return changed;
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
