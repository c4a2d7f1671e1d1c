#include "control/monitors/monitor_core.h"

#include <algorithm>

namespace ringgate::monitors {

std::string_view toString(Verdict verdict) {
    switch (verdict) {
        case Verdict::Unknown: return "unknown";
        case Verdict::Up: return "up";
        case Verdict::Down: return "down";
    }
    return "?";
}

MonitorCore::MonitorCore(std::vector<MonitorSpec> specs, Clock::time_point start) {
    for (MonitorSpec& spec : specs) {
        MonitorState state;
        state.spec = std::move(spec);
        state.since = start;
        state.nextProbe = start;
        monitors_.push_back(std::move(state));
    }
}

std::vector<size_t> MonitorCore::due(Clock::time_point now) {
    std::vector<size_t> starting;
    for (size_t i = 0; i < monitors_.size(); ++i) {
        MonitorState& m = monitors_[i];
        if (m.inFlight || now < m.nextProbe) continue;
        m.inFlight = true;
        // After a stall (a busy thread), the next probe is one interval from now, not a
        // burst of the missed ones.
        auto interval = std::chrono::milliseconds(m.spec.timing.intervalMs);
        m.nextProbe = m.nextProbe + interval < now ? now + interval : m.nextProbe + interval;
        starting.push_back(i);
    }
    return starting;
}

Clock::time_point MonitorCore::nextDue() const {
    Clock::time_point next = Clock::time_point::max();
    for (const MonitorState& m : monitors_)
        if (!m.inFlight) next = std::min(next, m.nextProbe);
    return next;
}

bool MonitorCore::onResult(Clock::time_point now, size_t index, bool ok, std::string detail) {
    if (index >= monitors_.size()) return false;
    std::set<std::string> before = withdrawnSubnets();
    MonitorState& m = monitors_[index];
    m.inFlight = false;
    ++m.probes;
    m.lastResult = std::move(detail);
    Verdict next = m.verdict;
    if (ok) {
        m.failuresInRow = 0;
        ++m.successesInRow;
        if (m.verdict == Verdict::Unknown || (m.verdict == Verdict::Down && m.successesInRow >= m.spec.timing.rise))
            next = Verdict::Up;
    } else {
        ++m.failures;
        m.successesInRow = 0;
        ++m.failuresInRow;
        if (m.verdict != Verdict::Down && m.failuresInRow >= m.spec.timing.fall) next = Verdict::Down;
    }
    if (next != m.verdict) {
        if (m.verdict != Verdict::Unknown) ++m.transitions;
        m.verdict = next;
        m.since = now;
    }
    return withdrawnSubnets() != before;
}

std::map<std::string, std::vector<std::string>> MonitorCore::withdrawals() const {
    std::map<std::string, std::vector<std::string>> out;
    std::map<std::string, std::pair<size_t, std::vector<std::string>>> pings;  // subnet -> (count, down)
    for (const MonitorState& m : monitors_) {
        bool down = m.verdict == Verdict::Down;
        for (const std::string& subnet : m.spec.subnets) {
            if (m.spec.kind == config::MonitorKind::Ping) {
                auto& [count, failed] = pings[subnet];
                ++count;
                if (down) failed.push_back(m.spec.name);
            } else if (down) {
                out[subnet].push_back(m.spec.name);
            }
        }
    }
    for (auto& [subnet, group] : pings)
        if (group.first == group.second.size())
            for (std::string& name : group.second) out[subnet].push_back(std::move(name));
    return out;
}

std::set<std::string> MonitorCore::withdrawnSubnets() const {
    std::set<std::string> subnets;
    for (const auto& [subnet, why] : withdrawals()) subnets.insert(subnet);
    return subnets;
}

std::vector<MonitorSpec> specsOf(const config::Config& config) {
    std::vector<MonitorSpec> specs;
    for (const config::LocalMonitor& m : config.localMonitors.monitors)
        specs.push_back({config::describe(m), m.kind, config::affectedSubnets(config, m), m.timing});
    return specs;
}

}  // namespace ringgate::monitors
