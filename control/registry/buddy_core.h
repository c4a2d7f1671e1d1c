// The ringgate-buddy agent's logic without I/O (seed 000 Fig. 3, 5, 6 and claims 15-16):
// (now, event) -> effects. The shell (buddy_agent.cpp) performs the effects: registry
// calls, probes, ServerReplace messages to other agents' listeners.
//
// A buddy list slot that names the agent itself means "no buddy" (a server alone in the
// table). Every registry answer carries the table version; the agent remembers the
// version its list reflects and ignores ServerReplace messages caused by older changes,
// so that messages crossing each other during simultaneous failures cannot undo newer
// knowledge. When something does not add up (a replace naming a server that is not its
// buddy, a delete someone else already did) the agent asks the registry for its entry.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "common/ipv4.h"
#include "control/registry/protocol.h"

namespace ringgate::registry {

struct BuddyConfig {
    Ipv4Address self;
    uint32_t failures = 3;                        // silent probes in a row = dead
    std::chrono::milliseconds reconcile{10000};   // re-read own entry this often (0: never)
};

namespace effect {
struct Announce {};
struct Delete { Ipv4Address server; };
struct FetchEntry {};
struct Probe { Ipv4Address target; };
struct SendReplace {
    Ipv4Address to;
    Ipv4Address toReplace;
    Ipv4Address replacement;
    uint64_t version = 0;
    bool operator==(const SendReplace&) const = default;
};
struct Exit {};
}  // namespace effect
using Effect = std::variant<effect::Announce, effect::Delete, effect::FetchEntry, effect::Probe,
                            effect::SendReplace, effect::Exit>;
using Effects = std::vector<Effect>;

class BuddyCore {
public:
    using Time = std::chrono::steady_clock::time_point;
    enum class State { Joining, Running, Leaving, Gone };

    explicit BuddyCore(BuddyConfig config);

    Effects start(Time now);
    // Called once per probe interval: counts silences, declares deaths, probes again.
    Effects tick(Time now);
    void answered(Ipv4Address from);

    Effects announced(const protocol::BuddyReply& reply);
    Effects deleted(Ipv4Address dead, const protocol::BuddyReply& reply);
    Effects entryFetched(const protocol::BuddyReply& reply);
    // A registry call gave up (registry unreachable): retried on a later tick.
    void registryFailed(const Effect& call);

    struct ReplaceOutcome {
        bool accepted = false;
        std::string reason;
        Effects effects;
    };
    // Seed 000 Fig. 5: another agent says "replace toReplace with replacement".
    ReplaceOutcome replaceRequested(uint64_t version, Ipv4Address toReplace, Ipv4Address replacement);

    // Claims 15-16: delete self, then make the two buddies each other's.
    Effects shutdown();
    Effects leftTable(const protocol::BuddyReply& reply);

    State state() const { return state_; }
    Ipv4Address buddyA() const { return a_; }
    Ipv4Address buddyB() const { return b_; }
    uint64_t version() const { return version_; }
    Ipv4Address self() const { return config_.self; }

private:
    void adopt(Ipv4Address a, Ipv4Address b, uint64_t version);
    std::set<Ipv4Address> watched() const;
    Effects wantFetch();

    struct Watch {
        bool probed = false;
        bool answered = false;
        uint32_t missed = 0;
    };

    BuddyConfig config_;
    State state_ = State::Joining;
    Ipv4Address a_, b_;
    uint64_t version_ = 0;
    std::map<Ipv4Address, Watch> watches_;
    bool announcing_ = false;
    bool fetching_ = false;
    bool refetch_ = false;
    std::set<Ipv4Address> deleting_;
    Time lastReconcile_{};
};

}  // namespace ringgate::registry
