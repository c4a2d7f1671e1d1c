// The primary's side of synchronous replication without I/O: (now, event) -> effects, like
// the cluster's ReliableMessenger. It keeps the monitors in line (the first takes over
// first, seed 003 [0029]) and tells each its place ("RANK n"), streams every change
// ("APPLY ...") and holds it until every monitor acknowledged it ("ACK <version>"), drops
// a monitor that does not acknowledge in time or answers wrongly ("DROPPED why": its copy
// is stale from then on), and keeps the streams alive ("HEARTBEAT"). RegistryServer is
// the shell: it owns the connections and answers the change's caller when the core says
// the change is acknowledged.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "control/registry/protocol.h"

namespace ringgate::registry {

class ReplicationSourceCore {
public:
    using Monitor = uint64_t;  // the shell's name for a monitor's connection
    using Time = std::chrono::steady_clock::time_point;

    struct Send {
        Monitor to;
        std::string line;
    };
    struct Drop {  // send "DROPPED <why>" and close the connection
        Monitor monitor;
        std::string why;
    };
    struct Effects {
        std::vector<Send> sends;
        std::vector<Drop> drops;
        bool acknowledged = false;        // the change in hand may now be answered
        std::optional<Time> ackDeadline;  // call expire() then
    };
    struct Counters {
        uint64_t replicated = 0;      // changes acknowledged by every monitor
        uint64_t monitorDropped = 0;  // a change went on without a monitor
        uint64_t badLines = 0;        // a monitor sent something else than the awaited ACK
    };

    explicit ReplicationSourceCore(std::chrono::milliseconds ackTimeout) : ackTimeout_(ackTimeout) {}

    // A registry asked to follow: it gets the table (as of the last finished change) and
    // the term, and joins the line. A change in hand that the snapshot already holds is
    // not awaited from it; one that is not yet in it reaches it by replicate().
    Effects attach(Monitor monitor, const TableSnapshot& snapshot, uint64_t term);
    Effects closed(Monitor monitor);
    // A change every monitor must apply before it is acknowledged; with none attached it
    // is acknowledged at once. One change at a time.
    Effects replicate(const protocol::Apply& apply, Time now);
    Effects line(Monitor monitor, std::string_view line);
    Effects expire(Time now);
    Effects heartbeat();

    bool attached() const { return !line_.empty(); }
    const std::vector<Monitor>& inLine() const { return line_; }
    bool waiting() const { return awaitedVersion_ != 0; }
    const Counters& counters() const { return counters_; }

private:
    void drop(Monitor monitor, const std::string& why, Effects& out);
    void ranks(Effects& out) const;
    void settle(Effects& out);  // acknowledged once nobody is awaited any more

    std::chrono::milliseconds ackTimeout_;
    std::vector<Monitor> line_;
    std::set<Monitor> awaited_;
    uint64_t awaitedVersion_ = 0;
    Time deadline_{};
    Counters counters_;
};

}  // namespace ringgate::registry
