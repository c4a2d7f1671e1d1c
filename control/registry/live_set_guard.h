// A gateway's judgement of a live list before it replaces the back ends (sans-I/O).
// A registry that lost its table, a stale primary, or a partition the registry's own
// guard did not catch must not leave the gateways without back ends: an empty list is
// never applied (the last good set stays, with a warning), and a list that drops more
// than `maxDrop` of the last good set at once is applied only after the registry kept
// sending it for `holdFor` — a real mass failure still goes through, a blip does not.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/ipv4.h"
#include "control/registry/protocol.h"

namespace ringgate::registry {

class LiveSetGuard {
public:
    using Time = std::chrono::steady_clock::time_point;
    struct Options {
        double maxDrop = 0.5;
        std::chrono::milliseconds holdFor{10000};
    };
    explicit LiveSetGuard(Options options) : options_(options) {}
    LiveSetGuard() : LiveSetGuard(Options{}) {}

    struct Decision {
        bool apply = false;
        std::string warning;  // why the list was held (or applied late); empty: plausible
    };
    Decision offer(Time now, const protocol::LiveList& list);
    // A held list that the registry kept sending for `holdFor`: apply it now.
    std::optional<protocol::LiveList> due(Time now);
    std::optional<Time> heldUntil() const;
    bool holding() const { return held_.has_value(); }
    uint64_t heldCount() const { return heldCount_; }

private:
    Options options_;
    std::optional<std::vector<Ipv4Address>> lastGood_;
    std::optional<protocol::LiveList> held_;
    Time heldSince_{};
    uint64_t heldCount_ = 0;
};

}  // namespace ringgate::registry
