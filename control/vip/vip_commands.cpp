#include "control/vip/vip_commands.h"

#include <algorithm>

#include "common/cli.h"

namespace ringgate::vip {

namespace {

Expected<Ipv4Address> parseVip(const std::string& text) {
    auto address = Ipv4Address::parse(text);
    if (!address) return makeError("'" + text + "' is not an IPv4 address");
    return *address;
}

Expected<NodeId> parseNode(const std::string& text) {
    auto node = cli::parseNumber("node", text, 1, 65535);
    if (!node) return makeError("'" + text + "' is not a node id (1-65535)");
    return static_cast<NodeId>(*node);
}

const char* persistenceText(Persistence p) {
    switch (p) {
        case Persistence::Movable: return "0";
        case Persistence::StickyCurrent: return "1";
        case Persistence::StickyPreferred: return "3";
    }
    return "?";
}


std::string stateOf(const VipEntry& e, const std::vector<NodeId>& members) {
    if (e.closed) return "closed";
    if (e.movingTo != kNoNode) return "moving";
    if (e.current == kNoNode) return "unowned";
    if (std::find(members.begin(), members.end(), e.current) == members.end()) return "owner-lost";
    return "owned";
}

}  // namespace

Expected<Command> parseCommand(const std::string& word, const std::vector<std::string>& args) {
    auto usage = [](const std::string& text) { return Expected<Command>(makeError("usage: " + text)); };
    if (word == "drain" || word == "undrain") {
        if (args.size() != 1) return usage(word + " NODE");
        auto node = parseNode(args[0]);
        if (!node) return node.error();
        return Command{word == "drain" ? CommandKind::Drain : CommandKind::Undrain, {}, *node};
    }
    if (word != "vip" || args.empty()) return usage(kVipUsage);
    const std::string& verb = args[0];
    std::vector<std::string> rest(args.begin() + 1, args.end());
    auto vipOnly = [&](CommandKind kind) -> Expected<Command> {
        if (rest.size() != 1) return usage("vip " + verb + " VIP");
        auto vip = parseVip(rest[0]);
        if (!vip) return vip.error();
        return Command{kind, *vip};
    };
    auto vipAndNode = [&](CommandKind kind) -> Expected<Command> {
        if (rest.size() != 2) return usage("vip " + verb + " VIP NODE");
        auto vip = parseVip(rest[0]);
        if (!vip) return vip.error();
        auto node = parseNode(rest[1]);
        if (!node) return node.error();
        return Command{kind, *vip, *node};
    };
    if (verb == "move") return vipAndNode(CommandKind::Move);
    if (verb == "prefer") return vipAndNode(CommandKind::SetPreference);
    if (verb == "unprefer") return vipOnly(CommandKind::ClearPreference);
    if (verb == "close") return vipOnly(CommandKind::Close);
    if (verb == "open") return vipOnly(CommandKind::Open);
    if (verb == "persistence") {
        if (rest.size() != 2) return usage("vip persistence VIP 0|1|3");
        auto vip = parseVip(rest[0]);
        if (!vip) return vip.error();
        Persistence p;
        if (rest[1] == "0") p = Persistence::Movable;
        else if (rest[1] == "1") p = Persistence::StickyCurrent;
        else if (rest[1] == "3") p = Persistence::StickyPreferred;
        else return makeError("persistence must be 0, 1 or 3, not '" + rest[1] + "'");
        return Command{CommandKind::SetPersistence, *vip, kNoNode, p};
    }
    return usage(kVipUsage);
}

std::string describe(const Command& c) {
    switch (c.kind) {
        case CommandKind::Move: return "move " + c.vip.toString() + " to node " + std::to_string(c.node);
        case CommandKind::SetPreference: return "prefer node " + std::to_string(c.node) + " for " + c.vip.toString();
        case CommandKind::ClearPreference: return "clear the preference of " + c.vip.toString();
        case CommandKind::SetPersistence: return std::string("set persistence ") + persistenceText(c.persistence) + " on " + c.vip.toString();
        case CommandKind::Close: return "close " + c.vip.toString();
        case CommandKind::Open: return "open " + c.vip.toString();
        case CommandKind::Drain: return "drain node " + std::to_string(c.node);
        case CommandKind::Undrain: return "undrain node " + std::to_string(c.node);
    }
    return "?";
}

VipTableReport vipReport(const VipView& view) {
    const VipTable& table = *view.table;
    VipTableReport out{view.self, table.version, view.configVersion, {}, {}, {}};
    for (NodeId n : table.drained) out.drained.push_back(n);
    auto node = [](NodeId n) { return n == kNoNode ? std::nullopt : std::optional<uint32_t>(n); };
    for (const VipEntry& e : table.entries)
        out.vips.push_back({e.address.toString(), node(e.current), node(e.preferred), static_cast<int>(e.persistence),
                            node(e.movingTo), stateOf(e, view.members),
                            view.answering && view.answering->count(e.address) > 0,
                            view.loads ? view.loads->rateOf(e.current, e.address) : uint64_t{0}});
    if (view.loads)
        for (const auto& [n, load] : view.loads->nodes) {
            NodeLoadRow row{n, load.total(), load.cpuPermille, {}};
            for (Ipv4Address vip : load.withdrawn) row.withdrawn.push_back(vip.toString());
            out.loads.push_back(std::move(row));
        }
    return out;
}

}  // namespace ringgate::vip
