#include "control/monitors/monitor_service.h"

#include "common/log.h"
#include "control/registry/prober.h"

namespace ringgate::monitors {

namespace {

std::string joined(const std::vector<std::string>& names) {
    std::string text;
    for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
    return text;
}

}  // namespace

MonitorService::MonitorService(boost::asio::io_context& io, const config::Config& config, OnChange onChange)
    : io_(io),
      onChange_(std::move(onChange)),
      configured_(config.localMonitors.monitors),
      core_(specsOf(config), Clock::now()),
      timer_(io),
      links_(io),
      attempts_(configured_.size()) {
    streams_.resize(configured_.size());
}

MonitorService::~MonitorService() { *alive_ = false; }

Expected<void> MonitorService::start() {
    if (configured_.empty()) return {};
    bool needLinks = false, needPing = false;
    for (size_t i = 0; i < configured_.size(); ++i) {
        const config::LocalMonitor& m = configured_[i];
        needLinks |= m.kind == config::MonitorKind::Link;
        needPing |= m.kind == config::MonitorKind::Ping;
        if (m.kind != config::MonitorKind::Tcp && m.kind != config::MonitorKind::Http) continue;
        registry::ProbeSpec spec{m.kind == config::MonitorKind::Tcp ? registry::ProbeKind::Tcp : registry::ProbeKind::Http,
                                 m.port, m.path};
        streams_[i] = std::make_unique<registry::Prober>(io_, spec, std::nullopt);
        uint64_t* attempt = &attempts_[i].number;
        if (auto opened = streams_[i]->open([this, i, attempt](Ipv4Address) { finish(i, *attempt, true, "ok"); }); !opened)
            return makeError("local monitor " + core_.monitors()[i].spec.name + ": " + opened.error().message);
    }
    if (needLinks) {
        auto opened = links_.open([this](LinkReply reply) {
            auto it = linkQueries_.find(reply.sequence);
            if (it == linkQueries_.end()) return;
            auto [index, attempt] = it->second;
            linkQueries_.erase(it);
            if (!reply.state) return finish(index, attempt, false, reply.state.error().message);
            finish(index, attempt, reply.state->healthy(), reply.state->describe());
        });
        if (!opened) return makeError("local monitors: " + opened.error().message);
    }
    if (needPing) {
        ping_ = std::make_unique<registry::Prober>(io_, registry::ProbeSpec{}, std::nullopt);
        auto opened = ping_->open([this](Ipv4Address from) {
            for (size_t i = 0; i < configured_.size(); ++i)
                if (configured_[i].kind == config::MonitorKind::Ping && configured_[i].target == from &&
                    core_.monitors()[i].inFlight)
                    finish(i, attempts_[i].number, true, "ok");
        });
        if (!opened) return makeError("local monitors: " + opened.error().message);
    }
    RG_INFO(Monitor, "%zu local monitors started", configured_.size());
    schedule();
    return {};
}

void MonitorService::stop() {
    stopped_ = true;
    timer_.cancel();
    for (Attempt& a : attempts_)
        if (a.deadline) a.deadline->cancel();
}

void MonitorService::schedule() {
    if (stopped_) return;
    for (size_t index : core_.due(Clock::now())) startProbe(index);
    Clock::time_point next = core_.nextDue();
    if (next == Clock::time_point::max()) return;  // every monitor in flight: finish() reschedules
    timer_.expires_at(next);
    timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
        if (*alive && !ec) schedule();
    });
}

void MonitorService::startProbe(size_t index) {
    const config::LocalMonitor& m = configured_[index];
    Attempt& attempt = attempts_[index];
    uint64_t number = ++attempt.number;
    auto timeout = std::chrono::milliseconds(m.timing.timeoutMs);
    if (!attempt.deadline) attempt.deadline = std::make_unique<boost::asio::steady_timer>(io_);
    attempt.deadline->expires_after(timeout);
    attempt.deadline->async_wait([this, alive = alive_, index, number, timeout](boost::system::error_code ec) {
        if (*alive && !ec) finish(index, number, false, "no answer in " + std::to_string(timeout.count()) + " ms");
    });
    switch (m.kind) {
        case config::MonitorKind::Link:
            if (auto sequence = links_.query(m.interface))
                linkQueries_[*sequence] = {index, number};
            else
                finish(index, number, false, sequence.error().message);
            break;
        case config::MonitorKind::Ping:
            ping_->probe(m.target, timeout);
            break;
        case config::MonitorKind::Tcp:
        case config::MonitorKind::Http:
            streams_[index]->probe(m.target, timeout);
            break;
    }
}

void MonitorService::finish(size_t index, uint64_t attempt, bool ok, std::string detail) {
    if (stopped_ || index >= attempts_.size() || attempt != attempts_[index].number ||
        !core_.monitors()[index].inFlight)
        return;  // a late answer, or one to a probe already judged
    attempts_[index].deadline->cancel();
    Verdict before = core_.monitors()[index].verdict;
    bool changed = core_.onResult(Clock::now(), index, ok, std::move(detail));
    const MonitorState& m = core_.monitors()[index];
    if (m.verdict != before) {
        if (m.verdict == Verdict::Down)
            RG_WARN(Monitor, "%s is down (%s, %u failures in a row)", m.spec.name.c_str(), m.lastResult.c_str(),
                    m.failuresInRow);
        else
            RG_INFO(Monitor, "%s is %s", m.spec.name.c_str(), std::string(toString(m.verdict)).c_str());
    }
    if (changed) {
        auto withdrawals = core_.withdrawals();
        std::set<std::string> subnets;
        std::string text;
        for (const auto& [subnet, why] : withdrawals) {
            subnets.insert(subnet);
            text += (text.empty() ? "" : "; ") + subnet + " (" + joined(why) + ")";
        }
        if (subnets.empty())
            RG_INFO(Monitor, "every local monitor passes: this node may hold every VIP again");
        else
            RG_WARN(Monitor, "withdrawing from the VIPs of subnet %s: other nodes take them", text.c_str());
        if (onChange_) onChange_(subnets);
    }
    schedule();
}

MonitorsReport MonitorService::report() const {
    MonitorsReport report;
    auto now = Clock::now();
    for (const MonitorState& m : core_.monitors()) {
        MonitorRow row;
        row.name = m.spec.name;
        row.kind = std::string(config::toString(m.spec.kind));
        row.subnets = m.spec.subnets;
        row.state = std::string(toString(m.verdict));
        row.failuresInRow = m.failuresInRow;
        row.successesInRow = m.successesInRow;
        row.fall = m.spec.timing.fall;
        row.rise = m.spec.timing.rise;
        row.intervalMs = m.spec.timing.intervalMs;
        row.probes = m.probes;
        row.failures = m.failures;
        row.transitions = m.transitions;
        row.lastResult = m.lastResult;
        row.sinceMs = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now - m.since).count());
        report.monitors.push_back(std::move(row));
    }
    report.withdrawn = core_.withdrawals();
    return report;
}

}  // namespace ringgate::monitors
