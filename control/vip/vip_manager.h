// The VIP manager, sans-I/O: decides who answers for each VIP (seed 004 §A.4–A.5, Table 1).
//
// It runs only while this node holds the token, because the token holder is the only
// writer of the VIP table: that is the cluster's consistency. Each visit it
//   1. applies operator commands queued on this node,
//   2. hands over VIPs this node was asked to give away (release, then current := target),
//   3. gives every VIP of a dead (or no) owner to a live node, spreading them by count,
//   4. starts moves that preference (persistence 3) or a drain require,
//   5. takes at most one VIP from an overloaded node (load balancing with hysteresis),
// never giving a VIP to a drained node or to one whose local monitors withdrew it from
// the VIP's subnet (its load row's `withdrawn`; this node's comes in `myLoad`), unless no
// live node may hold it: then availability comes first and it stays where it is,
//   6. reconciles what this node's fast path answers with the table (effects).
// A live move is two-phase: the table marks `movingTo`; the current owner releases on
// its own visit and names the target current; the target claims on its visit. So two
// nodes never answer for one VIP, as long as effects are applied before the token leaves.
// A VIP taken from a dropped owner (which may still run, cut off) carries a fence: the new
// owner answers only once the old owner's lease has run out. And this node answers only
// while it holds its own lease (onLease): without, it releases everything at once.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/expected.h"
#include "control/vip/vip_table.h"

namespace ringgate::vip {

using Clock = std::chrono::steady_clock;

enum class EffectKind {
    Claim,     // start answering ARP for the VIP and send gratuitous ARPs
    Release,   // stop answering at once
    Announce,  // already answering: send gratuitous ARPs again (after a merge)
};

struct Effect {
    EffectKind kind;
    Ipv4Address vip;
    bool probeFirst = false;  // Claim of a VIP nobody was known to own: ARP-probe it first
    // Claim of a VIP a live peer answered for until now (a move): that peer still handles
    // the VIP's older flows, and their packets go on to it (seed 004 §B.2).
    NodeId handOverFrom = kNoNode;
    bool operator==(const Effect&) const = default;
};

enum class CommandKind { Move, SetPreference, ClearPreference, SetPersistence, Close, Open, Drain, Undrain };

struct Command {
    CommandKind kind;
    Ipv4Address vip;          // all but Drain/Undrain
    NodeId node = kNoNode;    // Move, SetPreference, Drain, Undrain
    Persistence persistence = Persistence::Movable;  // SetPersistence
};

// A node's load in points: byteWeight per MB/s through its VIPs plus cpuWeight per
// percent of one CPU; a VIP's share of its node's CPU follows its share of the bytes
// (config.h, LoadBalancingConfig).
struct LoadBalancing {
    bool enabled = true;
    uint32_t byteWeight = 1;
    uint32_t cpuWeight = 1;
    uint32_t imbalancePercent = 125;  // busiest node must carry this much more than us...
    double minImbalance = 1;          // ...and at least this many points more
    Clock::duration cooldown = std::chrono::seconds(5);  // between two takes by this node
};

struct Counters {
    uint64_t claims = 0;
    uint64_t releases = 0;
    uint64_t failovers = 0;       // VIPs given away from dead owners by this node
    uint64_t loadBalanceTakes = 0;
    uint64_t commandsApplied = 0;
    uint64_t commandsRefused = 0;
    uint64_t fencedClaims = 0;    // claims that waited out a dropped owner's lease
    uint64_t leaseReleases = 0;   // VIPs released because this node's lease ran out
};

// How long the new owner of a dropped owner's VIP waits before answering (Membership::fenceFor).
using FenceOf = std::function<Clock::duration(NodeId owner)>;

class VipManager {
public:
    VipManager(NodeId self, std::vector<NodeId> nodeMap, LoadBalancing loadBalancing);

    // This node holds the token. `members` are the live members in ring order (self
    // included); `membershipGrew` is true when nodes joined since the last visit (a
    // merge: every owner re-announces). Changes `table` and `loads` in place.
    // `fenceOf`: the fence written on a dropped owner's VIPs (absent: claimed at once);
    // `grantedOf`: the least this node waits before claiming a VIP of that owner, whatever
    // the entry's fence says (what is left of a lease it granted the owner itself).
    std::vector<Effect> onToken(Clock::time_point now, const std::vector<NodeId>& members,
                                bool membershipGrew, const NodeLoad& myLoad, VipTable& table,
                                LoadTable& loads, const FenceOf& fenceOf = {}, const FenceOf& grantedOf = {});

    // This node's lease to answer ran out (release everything now; claimed again when it
    // returns, if the VIPs are still ours) or came back (claims waiting for it go ahead).
    // Without a call, the manager acts as if it held a lease.
    std::vector<Effect> onLease(Clock::time_point now, bool valid);
    // A takeover from a dropped owner probes the VIP on the wire first (the ring is a tie
    // and cannot tell the owner dead from cut off: Membership::tie).
    void setProbeTakeovers(bool probe) { probeTakeovers_ = probe; }
    // Claims whose fence has run out.
    std::vector<Effect> onTimer(Clock::time_point now);
    std::optional<Clock::time_point> nextDeadline() const;

    // This node is out of the ring (token lost, not yet rejoined): answer for nothing.
    std::vector<Effect> onLeftRing();

    // Operator command, checked against what this node knows now; applied at the next
    // token visit. The error says why a command is refused.
    Expected<void> queue(const Command& command, const VipTable& current,
                         const std::vector<NodeId>& members);

    const std::set<Ipv4Address>& answering() const { return answering_; }
    const Counters& counters() const { return counters_; }
    size_t pendingCommands() const { return pending_.size(); }

private:
    bool applyCommand(const Command& command, VipTable& table, const std::set<NodeId>& live);
    // The table change a command makes (no counters): used to apply it, and to judge a
    // new command against the table as the commands queued before it will leave it.
    bool project(const Command& command, VipTable& table, const std::set<NodeId>& live) const;
    void handOver(VipTable& table, const std::set<NodeId>& live, const LoadTable& loads, bool& changed);
    void repair(VipTable& table, const std::vector<NodeId>& members, const std::set<NodeId>& live,
                const LoadTable& loads, const FenceOf& fenceOf, bool& changed);
    void rebalancePreferences(VipTable& table, const std::vector<NodeId>& members,
                              const std::set<NodeId>& live, const LoadTable& loads, bool& changed);
    void balanceLoad(Clock::time_point now, VipTable& table, const std::vector<NodeId>& members,
                     const LoadTable& loads, bool& changed);
    std::vector<Effect> reconcile(Clock::time_point now, VipTable& table, bool membershipGrew,
                                  const std::vector<NodeId>& members, const FenceOf& fenceOf,
                                  const FenceOf& grantedOf);
    void flush(Clock::time_point now, std::vector<Effect>& effects);

    NodeId choose(const VipEntry& entry, const VipTable& table, const std::vector<NodeId>& members,
                  const LoadTable& loads, NodeId exclude) const;
    void startMove(VipEntry& entry, NodeId target) const;

    NodeId self_;
    std::vector<NodeId> nodeMap_;
    LoadBalancing loadBalancing_;
    std::vector<Command> pending_;
    std::set<Ipv4Address> answering_;
    // Ours in the table, not answered yet: waiting for a fence or for our lease.
    struct PendingClaim {
        Clock::time_point notBefore;
        bool probeFirst = false;
        NodeId handOverFrom = kNoNode;
    };
    std::map<Ipv4Address, PendingClaim> claims_;
    bool leaseValid_ = true;
    bool probeTakeovers_ = false;
    std::map<Ipv4Address, NodeId> lastSeenOwner_;  // owner in the table at our last visit
    Clock::time_point lastTake_{};
    bool tookOnce_ = false;
    Counters counters_;
};

std::string_view toString(EffectKind kind);

}  // namespace ringgate::vip
