// Local fault monitors, sans-I/O (WO 00/62502 Figure 5, Local Fault Monitor; the
// configuration's local_monitors). It decides when each monitor probes and what the
// results mean; the shell (monitor_service.h) runs the probes off the control thread's
// critical path and reports each result back, a timeout being a failure.
//
// A monitor is Unknown until its first verdict, Up after a success (from Unknown) or
// `rise` successes in a row (from Down), Down after `fall` failures in a row. A subnet is
// withdrawn while a link or application monitor affecting it is Down, or while every ping
// monitor of it is Down (one answering router is enough, as localmonitor.cfg's ping list
// means). Unknown withdraws nothing: a node is not kept out by a monitor yet to answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"

namespace ringgate::monitors {

using Clock = std::chrono::steady_clock;

enum class Verdict : uint8_t { Unknown, Up, Down };
std::string_view toString(Verdict verdict);

struct MonitorSpec {
    std::string name;                  // "link ext0", "ping 198.18.0.254", ...
    config::MonitorKind kind = config::MonitorKind::Link;
    std::vector<std::string> subnets;  // whose VIPs a Down verdict withdraws
    config::MonitorTiming timing;
};

// One monitor's state, as `status` shows it.
struct MonitorState {
    MonitorSpec spec;
    Verdict verdict = Verdict::Unknown;
    uint32_t failuresInRow = 0;
    uint32_t successesInRow = 0;
    uint64_t probes = 0;        // results received
    uint64_t failures = 0;      // of them failed
    uint64_t transitions = 0;   // verdict changes after the first
    std::string lastResult;     // "ok" or why the last probe failed
    Clock::time_point since{};  // of the current verdict
    // Scheduling (the shell's business only through due()).
    Clock::time_point nextProbe{};
    bool inFlight = false;
};

class MonitorCore {
public:
    MonitorCore(std::vector<MonitorSpec> specs, Clock::time_point start);

    // Indices of monitors whose probe should start now; each is in flight until its
    // result comes back, and its next probe is one interval after this start.
    std::vector<size_t> due(Clock::time_point now);
    // When the next probe falls due (Clock::time_point::max() with no monitors).
    Clock::time_point nextDue() const;
    // A probe's result; `detail` says why it failed ("ok" when it passed). True when the
    // withdrawn subnets changed.
    bool onResult(Clock::time_point now, size_t index, bool ok, std::string detail);

    // Subnet -> the Down monitors that withdraw it.
    std::map<std::string, std::vector<std::string>> withdrawals() const;
    std::set<std::string> withdrawnSubnets() const;
    const std::vector<MonitorState>& monitors() const { return monitors_; }

private:
    std::vector<MonitorState> monitors_;
};

// The specs of a configuration's monitors (subnets resolved as the configuration says).
std::vector<MonitorSpec> specsOf(const config::Config& config);

}  // namespace ringgate::monitors
