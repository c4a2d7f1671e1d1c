#include "control/registry/death_judge.h"

#include <cmath>

namespace ringgate::registry {

void DeathJudge::loaded(uint64_t version) {
    loadedAt_ = version;
    placedAt_.clear();
}

uint64_t DeathJudge::placedAt(Ipv4Address server) const {
    auto it = placedAt_.find(server);
    return it == placedAt_.end() ? loadedAt_ : std::max(loadedAt_, it->second);
}

DeathJudge::Decision DeathJudge::assess(Time now, const Report& report, const EntryResult& entry, size_t tableSize,
                                        bool confirmedDead) {
    auto refuse = [](uint64_t& counter, std::string reason) {
        ++counter;
        return Decision{Verdict::Refuse, std::move(reason)};
    };
    const std::string name = report.server.toString();
    if (report.version > entry.version)
        return refuse(counters_.future, "version " + std::to_string(report.version) + " is from the future (table at " +
                                            std::to_string(entry.version) + ")");
    if (!entry.found) return {Verdict::Remove, {}};  // already gone: the removal answers "absent"
    if (report.reporter == report.server ||
        (entry.entry.buddyA != report.reporter && entry.entry.buddyB != report.reporter))
        return refuse(counters_.notBuddy, report.reporter.toString() + " is not a buddy of " + name);
    if (report.version < placedAt(report.server))
        return refuse(counters_.stale, "stale: " + name + " took its place at version " +
                                           std::to_string(placedAt(report.server)) + ", after version " +
                                           std::to_string(report.version));
    if (policy_.confirm && !confirmedDead) return {Verdict::Confirm, {}};

    while (!recent_.empty() && now - recent_.front().at > policy_.window) recent_.pop_front();
    if (tableSize <= policy_.minLive)
        return refuse(counters_.guarded, "guard: " + std::to_string(tableSize) +
                                             " servers left, death reports never remove the last " +
                                             std::to_string(policy_.minLive));
    if (!confirmedDead) {
        size_t unconfirmed = 0;
        for (const auto& r : recent_) unconfirmed += r.confirmed ? 0 : 1;
        // The pool as it was when the window began.
        double poolThen = static_cast<double>(tableSize + recent_.size());
        if (static_cast<double>(unconfirmed + 1) > std::floor(policy_.maxUnconfirmedFraction * poolThen))
            return refuse(counters_.guarded, "guard: " + std::to_string(unconfirmed) +
                                                 " unconfirmed removals already in the window");
    }
    ++counters_.accepted;
    return {Verdict::Remove, {}};
}

void DeathJudge::removed(Time now, Ipv4Address server, bool confirmed) {
    placedAt_.erase(server);
    recent_.push_back({now, confirmed});
}

Expected<void> checkBackendAddress(Ipv4Address address, const std::vector<Ipv4Prefix>& prefixes) {
    uint32_t v = address.value;
    const char* bad = v == 0                     ? "unspecified"
                      : (v >> 24) == 127         ? "loopback"
                      : v == 0xffffffffu         ? "broadcast"
                      : (v >> 28) == 0xe         ? "multicast"
                      : (v >> 28) == 0xf         ? "reserved"
                      : (v >> 24) == 0           ? "in 0.0.0.0/8"
                                                 : nullptr;
    if (bad) return makeError(address.toString() + " is " + bad + ", not a back end");
    if (prefixes.empty()) return {};
    for (const auto& prefix : prefixes)
        if (prefix.contains(address)) return {};
    return makeError(address.toString() + " is outside the back-end prefixes");
}

}  // namespace ringgate::registry
