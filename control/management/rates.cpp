#include "control/management/rates.h"

namespace ringgate::management {

double RateMeter::rate(const std::string& key, uint64_t value, Clock::time_point now) {
    auto& kept = readings_[key];
    if (!kept.empty() && value < kept.back().value) kept.clear();
    while (kept.size() > 1 && now - kept[1].at >= span_) kept.pop_front();
    if (kept.empty() || now - kept.back().at >= spacing_) kept.push_back({now, value});
    const Reading& oldest = kept.front();
    double seconds = std::chrono::duration<double>(now - oldest.at).count();
    return seconds > 0 ? static_cast<double>(value - oldest.value) / seconds : 0.0;
}

}  // namespace ringgate::management
