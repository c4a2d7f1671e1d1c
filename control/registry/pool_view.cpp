#include "control/registry/pool_view.h"

#include <map>

#include "common/json_writer.h"
#include "control/registry/ring_view.h"

namespace ringgate::registry {
namespace {

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
    JsonWriter json;
    json.beginObject();
    json.field("role", roleName(view.role));
    json.field("service", view.service);
    json.field("version", view.table.version);
    json.field("one_ring", check.ok);
    if (!check.ok) json.field("problem", check.problem);
    json.key("ring").beginArray();
    for (auto server : check.ok ? check.order : liveList(view.table.entries)) {
        const auto& e = entries[server];
        json.beginObject()
            .field("server", server.toString())
            .field("buddy_a", e.buddyA.toString())
            .field("buddy_b", e.buddyB.toString())
            .endObject();
    }
    json.endArray();
    json.key("live").beginArray();
    for (auto server : liveList(view.table.entries)) json.value(server.toString());
    json.endArray();
    json.key("counters").beginObject()
        .field("requests", view.counters.requests)
        .field("refused", view.counters.refused)
        .field("changes", view.counters.changes)
        .field("replicated", view.counters.replicated)
        .field("monitor_dropped", view.counters.monitorDropped)
        .field("subscribers", view.counters.subscribers)
        .field("followed_changes", view.followedChanges)
        .field("unauthenticated", view.counters.unauthenticated)
        .field("idle_closed", view.counters.idleClosed)
        .field("accepted", view.counters.accepts.accepted)
        .field("over_cap", view.counters.accepts.overCap)
        .field("accept_paused", view.counters.accepts.paused)
        .endObject();
    json.key("death_reports").beginObject()
        .field("accepted", view.deaths.accepted)
        .field("not_buddy", view.deaths.notBuddy)
        .field("stale", view.deaths.stale)
        .field("future", view.deaths.future)
        .field("alive", view.deaths.alive)
        .field("guarded", view.deaths.guarded)
        .endObject();
    json.field("monitor_attached", view.monitorAttached);
    json.field("monitor", view.monitorPeer);
    json.endObject();
    return json.str() + "\n";
}

}  // namespace ringgate::registry
