#include "control/registry/pool_view.h"

#include <map>

#include <nlohmann/json.hpp>

#include "control/registry/ring_view.h"

namespace ringgate::registry {
namespace {

using Json = nlohmann::ordered_json;  // keys in the order written, like the text view

std::map<Ipv4Address, ServerEntry> byServer(const TableSnapshot& table) {
    std::map<Ipv4Address, ServerEntry> out;
    for (const auto& e : table.entries) out[e.server] = e;
    return out;
}

}  // namespace

std::string poolText(const PoolView& view) {
    auto check = checkRing(view.table.entries);
    auto entries = byServer(view.table);
    std::string out = "registry role " + std::string(roleName(view.role)) + ", service " + view.service +
                      ", table version " + std::to_string(view.table.version) + ", " +
                      std::to_string(entries.size()) + " live servers, " +
                      (check.ok ? "one ring" : "NOT one ring: " + check.problem) + "\n";
    out += "ring order   buddy A          buddy B\n";
    const auto& order = check.ok ? check.order : liveList(view.table.entries);
    for (auto server : order) {
        const auto& e = entries[server];
        char line[128];
        std::snprintf(line, sizeof line, "%-15s  %-15s  %-15s\n", server.toString().c_str(),
                      e.buddyA.toString().c_str(), e.buddyB.toString().c_str());
        out += line;
    }
    out += "requests " + std::to_string(view.counters.requests) + ", refused " +
           std::to_string(view.counters.refused) + ", changes " + std::to_string(view.counters.changes) +
           ", replicated " + std::to_string(view.counters.replicated) + ", monitor " +
           (view.role == Role::Monitor ? "(this registry; " + std::to_string(view.followedChanges) + " changes followed)"
                                       : view.monitorAttached ? view.monitorPeer : "none") +
           ", subscribers " + std::to_string(view.counters.subscribers) + "\n";
    return out;
}

std::string poolJson(const PoolView& view) {
    auto check = checkRing(view.table.entries);
    auto entries = byServer(view.table);
    Json json;
    json["role"] = roleName(view.role);
    json["service"] = view.service;
    json["version"] = view.table.version;
    json["one_ring"] = check.ok;
    if (!check.ok) json["problem"] = check.problem;
    Json ring = Json::array();
    for (auto server : check.ok ? check.order : liveList(view.table.entries)) {
        const auto& e = entries[server];
        ring.push_back({{"server", server.toString()}, {"buddy_a", e.buddyA.toString()}, {"buddy_b", e.buddyB.toString()}});
    }
    json["ring"] = std::move(ring);
    Json live = Json::array();
    for (auto server : liveList(view.table.entries)) live.push_back(server.toString());
    json["live"] = std::move(live);
    json["counters"] = {{"requests", view.counters.requests},
                        {"refused", view.counters.refused},
                        {"changes", view.counters.changes},
                        {"replicated", view.counters.replicated},
                        {"monitor_dropped", view.counters.monitorDropped},
                        {"subscribers", view.counters.subscribers},
                        {"followed_changes", view.followedChanges},
                        {"unauthenticated", view.counters.unauthenticated},
                        {"idle_closed", view.counters.idleClosed},
                        {"accepted", view.counters.accepts.accepted},
                        {"over_cap", view.counters.accepts.overCap},
                        {"accept_paused", view.counters.accepts.paused}};
    json["death_reports"] = {{"accepted", view.deaths.accepted}, {"not_buddy", view.deaths.notBuddy},
                             {"stale", view.deaths.stale},       {"future", view.deaths.future},
                             {"alive", view.deaths.alive},       {"guarded", view.deaths.guarded}};
    json["monitor_attached"] = view.monitorAttached;
    json["monitor"] = view.monitorPeer;
    return json.dump() + "\n";
}

std::string statusText(const PoolView& view) {
    return std::string("role ") + roleName(view.role) + ", store " + view.store + ", version " +
           std::to_string(view.table.version) + "\n";
}

std::string statusJson(const PoolView& view) {
    Json json;
    json["role"] = roleName(view.role);
    json["store"] = view.store;
    json["version"] = view.table.version;
    return json.dump() + "\n";
}

}  // namespace ringgate::registry
