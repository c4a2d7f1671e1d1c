// Per-second rates of growing counters, from readings the reader keeps: components are
// never changed by being read, and one reader's question does not reset the rate another
// sees. A reading is kept at most once per `spacing`, for `span`; a rate compares the
// current value with the oldest reading kept (so it covers between `spacing` and `span`).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <string>

namespace ringgate::management {

class RateMeter {
public:
    using Clock = std::chrono::steady_clock;

    explicit RateMeter(Clock::duration spacing = std::chrono::seconds(1),
                       Clock::duration span = std::chrono::seconds(5))
        : spacing_(spacing), span_(span) {}

    // Per second, of the counter `key` now at `value`; 0 until a first reading is older
    // than now. A counter that went backwards (a restart) starts over.
    double rate(const std::string& key, uint64_t value, Clock::time_point now);

private:
    struct Reading {
        Clock::time_point at;
        uint64_t value;
    };
    Clock::duration spacing_;
    Clock::duration span_;
    std::map<std::string, std::deque<Reading>> readings_;
};

}  // namespace ringgate::management
