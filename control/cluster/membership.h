// Group membership by the token train (seed 004, Figures 8 and 9), sans-I/O.
//
// The token circulates the ring in node-map order; it is the failure detector: a hand-off
// that is not acknowledged drops the destination from the membership and the token goes on
// to the next node. A member that sees no token for token_loss_timeout sends a 911 around
// the ring; the permission flag and the stamps decide that only the node holding the newest
// copy regenerates it. A starting node asks the live members to add it (join) and runs
// alone when nobody answers; the token holder probes configured nodes outside the ring so
// that a slow node, a restarted node and the two halves of a healed partition come back.
// Rings that meet merge toward the lowest ring id. docs/CLUSTER.md has the whole design.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "control/cluster/reliable.h"
#include "control/cluster/train.h"

namespace ringgate::cluster {

struct MembershipTimers {
    Time tokenInterval{100'000};     // one full rotation; per-hop hold = interval / members
    Time handoffAckTimeout{40'000};  // wait for a hand-off acknowledgement
    uint32_t handoffRetries = 2;     // resends before the destination is dropped
    Time tokenLossTimeout{300'000};  // no token for this long: 911
    // The VIP lease (docs/CLUSTER.md, "One answer per VIP"): a member answers for its VIPs
    // only while its ring predecessor has granted it a lease within this time. Derived
    // from the hand-off budget (leaseFor): a node stops answering after the same silence
    // after which its predecessor drops it.
    Time lease{120'000};
    Time leaseRequestInterval{20'000};  // a lease request to the predecessor this often
};
// The lease and request interval that go with a hand-off budget.
MembershipTimers withLease(MembershipTimers timers);

enum class Phase : uint8_t { Starting, Member, Leaving, Left };
std::string_view toString(Phase phase);

struct MembershipCounters {
    uint64_t tokensReceived = 0;
    uint64_t tokensPassed = 0;
    uint64_t staleTokens = 0;        // older copies of the token, dropped
    uint64_t foreignTokens = 0;      // tokens of a ring that loses a merge, stepped out of
    uint64_t emergenciesSent = 0;    // 911s this node originated
    uint64_t emergenciesForwarded = 0;
    uint64_t regenerations = 0;      // after a 911 with permission
    uint64_t silentSuccessors = 0;   // successor died holding the token: regenerated at once
    uint64_t membersDropped = 0;     // unacknowledged hand-offs
    uint64_t membersAdded = 0;
    uint64_t joinsSent = 0;
    uint64_t probesSent = 0;
    uint64_t malformedTrains = 0;    // reassembled message that is not a valid train
    uint64_t misrouted = 0;          // a train whose destination is another node
    uint64_t foreignCluster = 0;     // a train of another cluster (cluster.name differs): refused
    uint64_t ghostsDropped = 0;      // members outside the node map, dropped (setMapCurrent)
    uint64_t leaseRequests = 0;
    uint64_t leaseGrants = 0;        // granted to our successor
    uint64_t leaseLapses = 0;        // our lease ran out while a member: stopped answering
};

// How long a ring that holds a minority of the membership it last confirmed must stay
// unchanged before it takes itself as all that is left (Membership::minorityTooLong).
constexpr Time kMinorityPatience = std::chrono::seconds(2);

// What the VIP manager and other riders of the train plug in.
class MembershipHooks {
public:
    virtual ~MembershipHooks() = default;
    // Called while this node holds the token, just before passing it on: the carriages may
    // be read and changed (whoever holds the token may change what it carries).
    virtual void onTokenHeld(Time now, Carriages& carriages, const std::vector<NodeId>& members) = 0;
    virtual void onMembershipChanged(Time now, const std::vector<NodeId>& members) = 0;
    // The lease to answer for VIPs was gained (true) or lost (false).
    virtual void onLease(Time, bool) {}
    // Riders with timers of their own (a claim that waits a lease out).
    virtual std::optional<Time> nextDeadline() const { return std::nullopt; }
    virtual void onTimer(Time) {}
};

struct MembershipStatus {
    Phase phase = Phase::Starting;
    uint64_t ringId = 0;
    std::vector<NodeId> members;
    bool holding = false;            // this node holds the token (or is handing it off)
    std::optional<NodeId> passedTo;  // where the token last went from here, acknowledged
    std::optional<Stamp> stamp;      // newest stamp seen or sent
    std::optional<Time> lastRotation;
    std::optional<Time> lastToken;   // when the token was last here
    bool lease = false;              // may answer for its VIPs
    bool primary = true;             // the ring holds a majority of the last confirmed one
    std::optional<Time> leaseUntil;
};

class Membership {
public:
    struct Options {
        NodeId self = 0;
        std::vector<NodeId> nodeMap;  // every configured node, in ring order
        MembershipTimers timers;
        uint64_t randomSeed = 1;
        std::optional<uint32_t> firstSequence;  // tests: a ring's start (random otherwise)
        // cluster.name: carried by every train sent, and a train naming another is refused
        // (empty: neither, as in the simulation).
        std::string clusterName;
    };

    Membership(Options options, ReliableMessenger& messenger);

    void setHooks(MembershipHooks* hooks) { hooks_ = hooks; }
    // New timers (a configuration applied live): used from the next deadline on.
    void setTimers(const MembershipTimers& timers) { options_.timers = timers; }
    // Another node map (ring order): members outside it are never handed the token from here.
    void setNodeMap(std::vector<NodeId> nodeMap);
    // This node runs the cluster's newest configuration (its version is the highest on the
    // token): its node map is the truth, and a member outside it is dropped as a ghost
    // (dropGhosts). False (the default, and while older maps may still run): kept.
    void setMapCurrent(bool current) { mapCurrent_ = current; }
    void start(Time now);
    void leave(Time now);
    void onMessage(Time now, NodeId from, std::span<const uint8_t> bytes);
    void onSendResult(Time now, const ReliableMessenger::SendResult& result);
    void onTimer(Time now);
    std::optional<Time> nextDeadline() const;

    Phase phase() const { return phase_; }
    bool holdsToken() const { return holding_.has_value() || handoff_.has_value(); }
    bool heldNow() const { return holding_.has_value(); }
    uint64_t ringId() const { return ringId_; }
    const std::vector<NodeId>& members() const { return members_; }
    std::optional<Stamp> lastStamp() const { return lastStamp_; }
    // May this node answer for its VIPs now? (a member alone, or granted by its predecessor)
    bool leaseValid(Time now) const;
    // How long a node that takes over `owner`'s VIPs must wait from now before answering,
    // so that `owner`, if it still runs, has stopped: what is left of the last lease granted
    // from here, or a whole lease when this node did not grant the last one.
    Time fenceFor(NodeId owner, Time now) const;
    // What is left of the last lease this node granted `owner` (0: none): the least any
    // claimer here must wait, whatever the token says.
    Time grantedBy(NodeId owner, Time now) const;
    // The ring holds exactly half of the last confirmed membership (a peer of two lost):
    // it cannot tell the others dead from cut off, so it checks a VIP on the wire (an ARP
    // probe) before taking it over.
    bool tie(const std::vector<NodeId>& members) const;
    MembershipStatus status() const;
    const MembershipCounters& counters() const { return counters_; }
    const Options& options() const { return options_; }

private:
    struct Handoff {
        uint64_t messageId = 0;
        NodeId destination = 0;
        Train train;
        bool leavingSelf = false;  // this hand-off takes us out of the ring
        NodeId predecessor = 0;    // who gave us the token: told once it has moved on
        Time sentAt{};             // no lease is granted to the destination meanwhile
    };
    struct LeaseRequest {
        NodeId to = 0;
        Time sentAt{};
    };
    // After a hand-off, the successor must pass the token on within its hold time plus one
    // hand-off budget; if it does not say so, it died holding the token, and the token is
    // regenerated here without it: much sooner than the ring-wide 911 after a token loss.
    struct Watch {
        NodeId node = 0;
        Time deadline{};
    };
    // A train sent on for someone else: a 911 going round (skips a dead destination), or
    // a losing ring's token we stepped out of (dropped if its next node is dead).
    struct Forward {
        Train train;
    };
    struct Emergency {
        Stamp stamp;
        Time sentAt;
    };

    void onToken(Time now, Train train);
    void onEmergency(Time now, Train train);
    void onJoin(Time now, const Train& train);
    void onProbe(Time now, const Train& train);
    void onPassed(const Train& train);
    void onLeaseRequest(Time now, const Train& train);
    void onLeaseGrant(Time now, NodeId from, const Train& train);
    void requestLease(Time now);
    void updateLease(Time now);
    std::optional<NodeId> predecessor() const;
    bool primary(const std::vector<NodeId>& members) const;
    void refreshRing();
    void successorSilent(Time now);
    void regenerate(Time now, Train train, Stamp from, std::optional<NodeId> without);
    void adopt(Time now, Train train);
    void passOn(Time now);
    void goAlone(Time now);
    void sendEmergency(Time now);
    void emergencyReturned(Time now, const Train& train);
    void forwardEmergency(Time now, Train train, NodeId after);
    void sendSignal(Time now, Signal signal, NodeId to, bool retry);
    void probeOutsiders(Time now, const Train& token);
    void addJoiner(NodeId node, const char* why);
    void setMembers(Time now, std::vector<NodeId> members);
    void nameTrain(Train& train) const;
    void dropGhosts(std::vector<NodeId>& members);
    bool foreign(Time now, NodeId from, const Train& train);

    size_t indexOf(NodeId node) const;  // position in the node map (unknown: npos)
    std::optional<NodeId> nextAfter(const std::vector<NodeId>& ring, NodeId after) const;
    void insertSorted(std::vector<NodeId>& ring, NodeId node) const;
    Time hold(size_t memberCount) const;
    SendPolicy handoffPolicy() const;

    Options options_;
    ReliableMessenger& messenger_;
    MembershipHooks* hooks_ = nullptr;
    std::mt19937_64 random_;

    Phase phase_ = Phase::Starting;
    uint64_t ringId_ = 0;
    std::vector<NodeId> members_;
    std::optional<Stamp> lastStamp_;
    std::optional<Train> lastToken_;  // the newest token this node passed on: what a 911 regenerates
    std::optional<Train> holding_;
    Time passAt_{};
    std::optional<Handoff> handoff_;
    std::map<std::pair<NodeId, uint64_t>, Forward> forwards_;  // by (peer, message id)
    std::optional<Emergency> emergency_;
    std::optional<Watch> watch_;
    std::set<NodeId> joiners_;
    std::optional<NodeId> passedTo_;
    Time startDeadline_{};
    Time leaveDeadline_{};
    Time lastTokenAt_{};
    std::optional<Time> lastReceiveAt_;
    std::optional<Time> lastRotation_;
    std::optional<Time> lastProbeAt_;
    MembershipCounters counters_;
    std::map<NodeId, Time> foreignLogged_;  // one log line per node and 10 s
    bool mapCurrent_ = false;
    // Lease: requests in flight by number, when our lease ends, whether the riders were
    // last told it holds, and when we last granted each successor one.
    uint32_t leaseSeq_ = 0;
    std::map<uint32_t, LeaseRequest> leaseRequests_;
    std::optional<Time> leaseUntil_;
    Time nextLeaseRequest_{};
    bool leaseHeld_ = false;
    std::map<NodeId, Time> grantedAt_;
    std::optional<NodeId> successor_;
    Time successorSince_{};
    // The last membership this node saw confirmed (a token received from another member, or
    // alone): a ring answers for VIPs only while it holds a majority of it (primary()).
    std::vector<NodeId> confirmed_;
    // Since when members_ has been what it is: a minority ring that stays unchanged for
    // kMinorityPatience is all that is left (the others died or left) and confirms itself.
    Time membersSince_{};
    bool minorityTooLong(Time now, const std::vector<NodeId>& members) const;
    bool inRing_ = false;     // members_ names us
    bool inPrimary_ = true;   // primary(members_)
};

}  // namespace ringgate::cluster
