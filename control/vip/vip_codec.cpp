#include "control/vip/vip_codec.h"

#include <algorithm>
#include <set>

#include "control/cluster/byte_io.h"

namespace ringgate::vip {

using cluster::ByteReader;
using cluster::ByteWriter;

std::vector<uint8_t> encodeVipTable(const VipTable& table) {
    std::vector<uint8_t> out;
    ByteWriter w(out);
    w.u8(kVipCarriageVersion);
    w.u64(table.version);
    w.u16(static_cast<uint16_t>(table.entries.size()));
    for (const VipEntry& e : table.entries) {
        w.u32(e.address.value);
        w.u16(static_cast<uint16_t>(e.current));
        w.u16(static_cast<uint16_t>(e.preferred));
        w.u8(static_cast<uint8_t>(e.persistence));
        w.u16(static_cast<uint16_t>(e.movingTo));
        w.u8((e.closed ? 1 : 0) | (e.fenced ? 2 : 0));
        w.u16(e.fenceMs);
    }
    w.u16(static_cast<uint16_t>(table.drained.size()));
    for (NodeId node : table.drained) w.u16(static_cast<uint16_t>(node));
    return out;
}

std::vector<uint8_t> encodeLoadTable(const LoadTable& loads) {
    std::vector<uint8_t> out;
    ByteWriter w(out);
    w.u8(kLoadCarriageVersion);
    w.u16(static_cast<uint16_t>(loads.nodes.size()));
    for (const auto& [node, load] : loads.nodes) {
        w.u16(static_cast<uint16_t>(node));
        w.u16(static_cast<uint16_t>(std::min(load.cpuPermille, kMaxCpuPermille)));
        w.u16(static_cast<uint16_t>(load.vipRates.size()));
        for (const auto& [vip, rate] : load.vipRates) {
            w.u32(vip.value);
            w.u64(rate);
        }
        w.u16(static_cast<uint16_t>(load.withdrawn.size()));
        for (Ipv4Address vip : load.withdrawn) w.u32(vip.value);
    }
    return out;
}

std::optional<VipTable> decodeVipTable(std::span<const uint8_t> bytes, std::string& error) {
    ByteReader r(bytes);
    auto fail = [&](const char* why) {
        error = why;
        return std::optional<VipTable>();
    };
    uint8_t version = 0;
    uint16_t count = 0;
    VipTable table;
    if (!r.u8(version)) return fail("truncated header");
    if (version != kVipCarriageVersion) return fail("unknown VIP carriage version");
    if (!r.u64(table.version) || !r.u16(count)) return fail("truncated header");
    if (count > kMaxVipEntries) return fail("too many VIP entries");
    std::set<uint32_t> seen;
    for (uint16_t i = 0; i < count; ++i) {
        uint32_t address = 0;
        uint16_t current = 0, preferred = 0, movingTo = 0;
        uint8_t persistence = 0, flags = 0;
        uint16_t fenceMs = 0;
        if (!r.u32(address) || !r.u16(current) || !r.u16(preferred) || !r.u8(persistence) ||
            !r.u16(movingTo) || !r.u8(flags) || !r.u16(fenceMs))
            return fail("truncated VIP entry");
        if (persistence != 0 && persistence != 1 && persistence != 3) return fail("bad persistence");
        if (flags & ~3u) return fail("reserved flag bits set");
        if (!seen.insert(address).second) return fail("VIP listed twice");
        table.entries.push_back({Ipv4Address{address}, current, preferred,
                                 static_cast<Persistence>(persistence), movingTo, (flags & 1) != 0, (flags & 2) != 0, fenceMs});
    }
    uint16_t drained = 0;
    if (!r.u16(drained)) return fail("truncated drained list");
    if (drained > kMaxLoadNodes) return fail("too many drained nodes");
    for (uint16_t i = 0; i < drained; ++i) {
        uint16_t node = 0;
        if (!r.u16(node)) return fail("truncated drained list");
        if (node == 0) return fail("drained node 0");
        table.drained.push_back(node);
    }
    if (r.remaining() != 0) return fail("trailing bytes");
    return table;
}

std::optional<LoadTable> decodeLoadTable(std::span<const uint8_t> bytes, std::string& error) {
    ByteReader r(bytes);
    auto fail = [&](const char* why) {
        error = why;
        return std::optional<LoadTable>();
    };
    uint8_t version = 0;
    uint16_t nodes = 0;
    if (!r.u8(version)) return fail("truncated header");
    if (version != kLoadCarriageVersion) return fail("unknown load carriage version");
    if (!r.u16(nodes)) return fail("truncated header");
    if (nodes > kMaxLoadNodes) return fail("too many nodes");
    LoadTable loads;
    for (uint16_t n = 0; n < nodes; ++n) {
        uint16_t node = 0, cpu = 0, vips = 0;
        if (!r.u16(node) || !r.u16(cpu) || !r.u16(vips)) return fail("truncated node row");
        if (node == 0 || loads.nodes.count(node)) return fail("bad or repeated node");
        if (cpu > kMaxCpuPermille) return fail("CPU load out of range");
        if (vips > kMaxVipEntries) return fail("too many VIPs in a row");
        NodeLoad& row = loads.nodes[node];
        row.cpuPermille = cpu;
        for (uint16_t v = 0; v < vips; ++v) {
            uint32_t address = 0;
            uint64_t rate = 0;
            if (!r.u32(address) || !r.u64(rate)) return fail("truncated rate");
            if (!row.vipRates.emplace(Ipv4Address{address}, rate).second) return fail("VIP rated twice");
        }
        uint16_t withdrawn = 0;
        if (!r.u16(withdrawn)) return fail("truncated withdrawn list");
        if (withdrawn > kMaxVipEntries) return fail("too many withdrawn VIPs");
        for (uint16_t v = 0; v < withdrawn; ++v) {
            uint32_t address = 0;
            if (!r.u32(address)) return fail("truncated withdrawn list");
            if (!row.withdrawn.insert(Ipv4Address{address}).second) return fail("VIP withdrawn twice");
        }
    }
    if (r.remaining() != 0) return fail("trailing bytes");
    return loads;
}

}  // namespace ringgate::vip
