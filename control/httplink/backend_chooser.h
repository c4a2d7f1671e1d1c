// Which back end of a pool serves a proxied request, sans-I/O: the L4 path's choice
// (a Maglev table over the live back ends, indexed by the client's flow hash), so that
// an HTTP service and a TCP service on one pool spread clients alike, plus what the
// L4 path cannot know: a back end that failed a transfer is held out of new choices
// for `holdMs` (and counted), and a resume never goes back to a back end that already
// failed this transfer.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "common/ipv4.h"
#include "config/config.h"
#include "control/httplink/http_report.h"

namespace ringgate::httplink {

using Clock = std::chrono::steady_clock;

class BackendChooser {
public:
    explicit BackendChooser(uint32_t holdMs);

    // The pool's live back ends (static, or the registry's live list); keeps the
    // failure counts of back ends that stay.
    void setLive(const std::vector<config::Backend>& live);

    // The back end for a flow, skipping `exclude` (back ends that failed this transfer)
    // and back ends held out since a failure. When every candidate is held out, a held
    // one is better than none: the hold is a preference, `exclude` is a rule.
    std::optional<Ipv4Endpoint> choose(uint32_t flowHash, const std::set<Ipv4Endpoint>& exclude,
                                       Clock::time_point now);

    // A transfer failed on `backend` (reported like the registry's live list would stop
    // listing it: new choices avoid it until the hold expires).
    void reportFailure(const Ipv4Endpoint& backend, Clock::time_point now);

    std::vector<BackendHealth> health(Clock::time_point now) const;

private:
    struct Member {
        config::Backend backend;
        uint64_t chosen = 0;
        uint64_t failures = 0;
        Clock::time_point heldUntil{};
    };
    Member* find(const Ipv4Endpoint& endpoint);

    std::chrono::milliseconds hold_;
    std::vector<Member> members_;
    std::vector<uint16_t> table_;  // Maglev: slot -> index into members_
};

}  // namespace ringgate::httplink
