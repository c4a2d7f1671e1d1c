#include "control/monitors/cpu_meter.h"

#include <sys/resource.h>

#include <algorithm>

namespace ringgate::monitors {

uint32_t CpuMeter::update(Clock::time_point now, std::chrono::microseconds used, std::chrono::milliseconds minWindow) {
    if (!last_) {
        last_ = {now, used};
        return permille_;
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(now - last_->first);
    if (elapsed < minWindow || elapsed.count() <= 0) return permille_;
    auto spent = std::max(used - last_->second, std::chrono::microseconds(0));
    permille_ = static_cast<uint32_t>(std::min<int64_t>(spent.count() * 1000 / elapsed.count(), 64'000));
    last_ = {now, used};
    return permille_;
}

std::chrono::microseconds processCpuTime() {
    rusage usage{};
    if (::getrusage(RUSAGE_SELF, &usage) != 0) return {};
    auto micros = [](const timeval& t) { return int64_t{t.tv_sec} * 1'000'000 + t.tv_usec; };
    return std::chrono::microseconds(micros(usage.ru_utime) + micros(usage.ru_stime));
}

}  // namespace ringgate::monitors
