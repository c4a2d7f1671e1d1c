// The ringgate-buddy agent's logic without I/O (seed 000 Fig. 3, 5, 6 and claims 15-16):
// (now, event) -> effects. The shell (buddy_agent.cpp) performs the effects: registry
// calls, probes, ServerReplace messages to other agents' listeners.
//
// A buddy list slot that names the agent itself means "no buddy" (a server alone in the
// table). Every registry answer carries the table version; the agent remembers the
// version its list reflects and ignores ServerReplace messages caused by older changes,
// so that messages crossing each other during simultaneous failures cannot undo newer
// knowledge. When something does not add up (a replace naming a server that is not its
// buddy, a delete someone else already did) the agent asks the registry for its entry,
// and the registry's answer is the authority: a version no registry issued (a forged or
// corrupt ServerReplace "from the future") is overwritten by the next answer.
//
// Every answer names the registry's term (role_core.h): an answer from a term below the
// highest the agent has seen comes from a stale primary (one cut off that has not yet
// stepped down) and is not taken; the call counts as failed and is made again. A lower
// term that alone answers for kTermReset is taken (term_fence.h).
//
// A death is reported as evidence (DEAD server reporter version), which the registry
// may refuse (the reporter is no longer the server's buddy, the report is stale, the
// registry still reaches the server). An agent that reported a death, or could not reach
// the registry, re-reads its own entry until the registry answers: an agent cut off with
// its buddies finds after the heal that it was removed and announces again at once.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "common/ipv4.h"
#include "control/registry/protocol.h"
#include "control/registry/term_fence.h"

namespace ringgate::registry {

struct BuddyConfig {
    Ipv4Address self;
    uint32_t failures = 3;                        // silent probes in a row = dead
    std::chrono::milliseconds reconcile{10000};   // re-read own entry this often (0: never)
};


namespace effect {
struct Announce {};
struct Delete { Ipv4Address server; };      // leaving: DELETE self
struct ReportDeath {                           // a buddy is silent: DEAD server self version
    Ipv4Address server;
    uint64_t version = 0;
};
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
using Effect = std::variant<effect::Announce, effect::Delete, effect::ReportDeath, effect::FetchEntry,
                            effect::Probe, effect::SendReplace, effect::Exit>;

// A ServerReplace more than this many changes ahead of the agent's list names a version
// no registry issued.
constexpr uint64_t kMaxVersionLead = 1u << 20;
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
    // The registry refused a death report (stale, not a buddy, the server answers it):
    // count silences afresh and re-read the own entry.
    Effects reportRefused(Ipv4Address dead);
    Effects entryFetched(const protocol::BuddyReply& reply);
    // A registry call gave up (registry unreachable): retried on a later tick.
    void registryFailed(const Effect& call);
    // Whether an answer from a registry of this term may be taken (and remembers the
    // highest term seen). A false answer is to be handled as registryFailed.
    bool acceptTerm(uint64_t term, Time now);
    uint64_t highestTerm() const { return terms_.highest(); }

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
    TermFence terms_;
    std::map<Ipv4Address, Watch> watches_;
    bool announcing_ = false;
    bool fetching_ = false;
    bool refetch_ = false;
    bool suspect_ = false;  // re-read the own entry until the registry answers
    std::set<Ipv4Address> deleting_;
    Time lastReconcile_{};
};

}  // namespace ringgate::registry
