#include "control/registry/replication_source_core.h"

#include <algorithm>

namespace ringgate::registry {

ReplicationSourceCore::Effects ReplicationSourceCore::attach(Monitor monitor, const TableSnapshot& snapshot,
                                                             uint64_t term) {
    Effects out;
    std::string table = protocol::formatTable(snapshot);
    table.replace(0, 2, "SNAPSHOT");
    out.sends.push_back({monitor, std::move(table)});
    out.sends.push_back({monitor, "TERM " + std::to_string(term)});  // a follower refuses a lower one
    line_.push_back(monitor);
    ranks(out);
    return out;
}

ReplicationSourceCore::Effects ReplicationSourceCore::closed(Monitor monitor) {
    Effects out;
    if (std::find(line_.begin(), line_.end(), monitor) == line_.end()) return out;
    drop(monitor, "connection closed", out);
    out.drops.clear();  // nobody to tell
    return out;
}

ReplicationSourceCore::Effects ReplicationSourceCore::replicate(const protocol::Apply& apply, Time now) {
    Effects out;
    if (line_.empty()) {
        out.acknowledged = true;
        return out;
    }
    awaitedVersion_ = apply.version;
    awaited_ = std::set<Monitor>(line_.begin(), line_.end());
    std::string change = protocol::formatApply(apply);
    for (Monitor monitor : line_) out.sends.push_back({monitor, change});
    deadline_ = now + ackTimeout_;
    out.ackDeadline = deadline_;
    return out;
}

ReplicationSourceCore::Effects ReplicationSourceCore::line(Monitor monitor, std::string_view text) {
    Effects out;
    auto w = protocol::words(text);
    if (w.size() == 2 && w[0] == "ACK" && awaitedVersion_ && w[1] == std::to_string(awaitedVersion_) &&
        awaited_.erase(monitor)) {
        if (awaited_.empty()) ++counters_.replicated;
        settle(out);
        return out;
    }
    ++counters_.badLines;
    drop(monitor, "bad acknowledgement", out);
    return out;
}

ReplicationSourceCore::Effects ReplicationSourceCore::expire(Time now) {
    Effects out;
    if (!awaitedVersion_ || now < deadline_) return out;
    for (Monitor monitor : std::vector(line_))
        if (awaited_.count(monitor)) drop(monitor, "acknowledgement timeout", out);
    return out;
}

ReplicationSourceCore::Effects ReplicationSourceCore::heartbeat() {
    Effects out;
    for (Monitor monitor : line_) out.sends.push_back({monitor, "HEARTBEAT"});
    return out;
}

void ReplicationSourceCore::drop(Monitor monitor, const std::string& why, Effects& out) {
    auto it = std::find(line_.begin(), line_.end(), monitor);
    if (it == line_.end()) return;
    line_.erase(it);
    if (awaited_.erase(monitor) && awaitedVersion_) ++counters_.monitorDropped;
    out.drops.push_back({monitor, why});
    ranks(out);
    settle(out);
}

void ReplicationSourceCore::ranks(Effects& out) const {
    for (size_t i = 0; i < line_.size(); ++i) out.sends.push_back({line_[i], "RANK " + std::to_string(i + 1)});
}

void ReplicationSourceCore::settle(Effects& out) {
    if (!awaitedVersion_ || !awaited_.empty()) return;
    awaitedVersion_ = 0;
    out.acknowledged = true;
}

}  // namespace ringgate::registry
