// Death reports are evidence, not orders (sans-I/O). A buddy agent that stops hearing
// from a buddy reports "DEAD server reporter version"; the registry removes the server
// only when
//   - the reporter is one of the server's two buddies in the table now,
//   - the version the report names (what the reporter's buddy list reflects) is not
//     from the future (above the table's) and not stale (older than the change that put
//     the server into its present place: the report is about an earlier incarnation,
//     e.g. one queued during a partition and replayed after the heal),
//   - the registry's own probe of the server stays silent too (when it can probe), and
//   - the removal guard allows it: inside a sliding window, removals that the registry
//     could not confirm itself may take at most a fraction of the pool, and no report
//     ever removes the last `minLive` servers. A partition between back ends therefore
//     never empties the pool, even where the registry cannot probe them.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <string>

#include "common/ipv4.h"
#include "control/registry/server_store.h"

namespace ringgate::registry {

struct DeathPolicy {
    bool confirm = false;                         // the registry probes before removing
    double maxUnconfirmedFraction = 0.5;          // of the pool, inside `window`
    std::chrono::milliseconds window{10000};
    size_t minLive = 1;                           // never removed by death reports
};

class DeathJudge {
public:
    using Time = std::chrono::steady_clock::time_point;
    enum class Verdict { Refuse, Confirm, Remove };
    struct Decision {
        Verdict verdict = Verdict::Refuse;
        std::string reason;  // why refused
    };
    struct Report {
        Ipv4Address server;
        Ipv4Address reporter;
        uint64_t version = 0;
    };

    explicit DeathJudge(DeathPolicy policy = {}) : policy_(policy) {}
    void setPolicy(DeathPolicy policy) { policy_ = policy; }
    const DeathPolicy& policy() const { return policy_; }

    // The report against the server's entry now and the table's size. `confirmedDead`:
    // the registry's own probe already found the server silent.
    Decision assess(Time now, const Report& report, const EntryResult& entry, size_t tableSize,
                    bool confirmedDead);
    // The table changed: `server` took a place at `version` (announce, replace).
    void placed(Ipv4Address server, uint64_t version) { placedAt_[server] = version; }
    // The whole table was loaded or first read at `version`: a report older than that
    // may predate any row, so every row counts as placed then.
    void loaded(uint64_t version);
    void removed(Time now, Ipv4Address server, bool confirmed);

    struct Counters {
        uint64_t accepted = 0;
        uint64_t notBuddy = 0;
        uint64_t stale = 0;
        uint64_t future = 0;
        uint64_t alive = 0;    // the registry's probe answered
        uint64_t guarded = 0;  // refused by the removal guard
    };
    const Counters& counters() const { return counters_; }
    void countAlive() { ++counters_.alive; }

private:
    uint64_t placedAt(Ipv4Address server) const;

    DeathPolicy policy_;
    uint64_t loadedAt_ = 0;
    std::map<Ipv4Address, uint64_t> placedAt_;
    struct Removal {
        Time at;
        bool confirmed;
    };
    std::deque<Removal> recent_;
    Counters counters_;
};

// Addresses no back end may have: unspecified, loopback, broadcast, multicast, reserved
// (240/4); and, when `prefixes` is not empty, anything outside them.
Expected<void> checkBackendAddress(Ipv4Address address, const std::vector<Ipv4Prefix>& prefixes);

}  // namespace ringgate::registry
