// The choreography of a claim, shared by every VipActuator: optionally probe the address
// first (RFC 5227: ask who has it, wait probe_timeout; while anyone answers, probe again,
// backing off, until the address is free or the claim is withdrawn), then
// install it (start answering; a failed install is tried again, backing off, while the
// claim stands), then announce it: one gratuitous ARP at once and
// garp_repeats more every garp_interval. A release cancels whatever is in progress and
// uninstalls at once. The actuator supplies only the I/O, as callbacks.
#pragma once

#include "common/asio.h"

#include <functional>
#include <map>
#include <memory>

#include "common/expected.h"
#include "common/ipv4.h"
#include "config/config.h"

namespace ringgate::vip {

struct ClaimCounters {
    uint64_t installs = 0;
    uint64_t uninstalls = 0;
    uint64_t announcements = 0;
    uint64_t probes = 0;
    uint64_t conflicts = 0;  // probes answered: the VIP was in use by another host (probed again)
    uint64_t errors = 0;
};

class ClaimSequencer {
public:
    struct Io {
        std::function<Expected<void>(Ipv4Address)> install;    // start answering
        std::function<Expected<void>(Ipv4Address)> uninstall;  // stop answering
        std::function<Expected<void>(Ipv4Address)> announce;   // one gratuitous ARP
        std::function<Expected<void>(Ipv4Address)> probe;      // one ARP probe
        std::function<bool(Ipv4Address)> probeAnswered;        // did anyone else answer the last probe?
    };

    ClaimSequencer(boost::asio::io_context& io, const config::Timers& timers, Io callbacks);

    void claim(Ipv4Address vip, bool probeFirst);
    void release(Ipv4Address vip);
    void announce(Ipv4Address vip);
    // Uninstalls every VIP (shutdown).
    void releaseAll();
    // New timers (configuration applied live): for the claims that start from now.
    void setTimers(const config::Timers& timers) { timers_ = timers; }

    bool installed(Ipv4Address vip) const;
    const ClaimCounters& counters() const { return counters_; }

private:
    struct State {
        bool probing = false;
        uint32_t conflicts = 0;  // probes answered by another host in this claim
        uint32_t failures = 0;   // failed installs in this claim (retried)
        bool installed = false;
        uint32_t announcementsLeft = 0;
        std::unique_ptr<boost::asio::steady_timer> timer;
    };
    static constexpr uint32_t kProbeBackoffMaxMs = 1'000;
    void probe(Ipv4Address vip);
    void install(Ipv4Address vip);
    void scheduleAnnouncements(Ipv4Address vip);
    void sendAnnouncement(Ipv4Address vip);
    void count(const Expected<void>& result, const char* what, Ipv4Address vip);

    boost::asio::io_context& io_;
    config::Timers timers_;
    Io io_callbacks_;
    std::map<Ipv4Address, State> vips_;
    ClaimCounters counters_;
};

}  // namespace ringgate::vip
