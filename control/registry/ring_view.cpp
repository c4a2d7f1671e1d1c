#include "control/registry/ring_view.h"

#include <map>
#include <set>

namespace ringgate::registry {

RingCheck checkRing(const std::vector<ServerEntry>& entries) {
    RingCheck check;
    if (entries.empty()) {
        check.ok = true;
        return check;
    }
    std::map<Ipv4Address, ServerEntry> byServer;
    for (const auto& e : entries) byServer[e.server] = e;
    auto fail = [&](std::string problem) {
        check.ok = false;
        check.problem = std::move(problem);
        return check;
    };
    const size_t n = byServer.size();
    for (const auto& [server, e] : byServer) {
        std::string name = server.toString();
        for (Ipv4Address buddy : {e.buddyA, e.buddyB}) {
            if (!byServer.count(buddy)) return fail(name + " has buddy " + buddy.toString() + " not in the table");
            if (n == 1 && buddy != server) return fail(name + " is alone but has buddy " + buddy.toString());
            if (n > 1 && buddy == server) return fail(name + " is its own buddy");
            const ServerEntry& other = byServer[buddy];
            if (other.buddyA != server && other.buddyB != server)
                return fail(name + " watches " + buddy.toString() + " but is not watched back");
        }
        if (n == 2 && e.buddyA != e.buddyB) return fail(name + " has two different buddies in a ring of two");
        if (n > 2 && e.buddyA == e.buddyB) return fail(name + " has the same buddy twice");
    }
    // Walk the cycle: from the lowest server to its buddy A, then always onward.
    Ipv4Address start = byServer.begin()->first;
    Ipv4Address previous = start, current = byServer[start].buddyA;
    check.order.push_back(start);
    while (current != start) {
        if (check.order.size() > n) return fail("buddy links do not close into a ring");
        check.order.push_back(current);
        const ServerEntry& e = byServer[current];
        Ipv4Address next = e.buddyA == previous ? e.buddyB : e.buddyA;
        previous = current;
        current = next;
    }
    if (check.order.size() != n)
        return fail("the buddy links form a ring of " + std::to_string(check.order.size()) + " of the " +
                    std::to_string(n) + " servers");
    check.ok = true;
    return check;
}

std::vector<Ipv4Address> liveList(const std::vector<ServerEntry>& entries) {
    std::set<Ipv4Address> live;
    for (const auto& e : entries) live.insert(e.server);
    return {live.begin(), live.end()};
}

}  // namespace ringgate::registry
