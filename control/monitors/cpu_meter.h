// The CPU ringgated uses, in permille of one CPU over the last window: WO 00/62502's
// Local Load Monitor names the CPU load beside the byte rate. All the process's threads
// count (the control thread, the fast path's lcores, the HTTP proxies): on a dedicated
// gateway that is the machine's load, and unlike the machine's total it is this node's
// own even when several nodes share a host. update() is arithmetic over two readings.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace ringgate::monitors {

class CpuMeter {
public:
    using Clock = std::chrono::steady_clock;
    // A new reading of the process's CPU time; returns the permille since the previous
    // one (0 for the first), or the previous value when less than `minWindow` passed.
    uint32_t update(Clock::time_point now, std::chrono::microseconds used,
                    std::chrono::milliseconds minWindow = std::chrono::milliseconds(500));
    uint32_t permille() const { return permille_; }

private:
    std::optional<std::pair<Clock::time_point, std::chrono::microseconds>> last_;
    uint32_t permille_ = 0;
};

// User and system time of every thread of this process (getrusage).
std::chrono::microseconds processCpuTime();

}  // namespace ringgate::monitors
