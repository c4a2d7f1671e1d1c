#include "control/registry/live_set_guard.h"

#include <algorithm>

namespace ringgate::registry {

LiveSetGuard::Decision LiveSetGuard::offer(Time now, const protocol::LiveList& list) {
    if (!lastGood_ || list.servers.size() >= lastGood_->size() ||
        (!list.servers.empty() &&
         static_cast<double>(lastGood_->size() - list.servers.size()) <=
             options_.maxDrop * static_cast<double>(lastGood_->size()))) {
        lastGood_ = list.servers;
        held_.reset();
        return {true, {}};
    }
    ++heldCount_;
    bool sameAsHeld = held_ && held_->servers == list.servers;
    if (!sameAsHeld) heldSince_ = now;
    held_ = list;
    if (list.servers.empty())
        return {false, "the registry's live list (version " + std::to_string(list.version) +
                           ") is empty: keeping the last good " + std::to_string(lastGood_->size()) + " back ends"};
    return {false, "the registry's live list (version " + std::to_string(list.version) + ") drops " +
                       std::to_string(lastGood_->size() - list.servers.size()) + " of " +
                       std::to_string(lastGood_->size()) + " back ends at once: keeping the last good set unless it persists"};
}

std::optional<LiveSetGuard::Time> LiveSetGuard::heldUntil() const {
    if (!held_ || held_->servers.empty()) return std::nullopt;
    return heldSince_ + options_.holdFor;
}

std::optional<protocol::LiveList> LiveSetGuard::due(Time now) {
    auto until = heldUntil();
    if (!until || now < *until) return std::nullopt;
    auto list = std::move(*held_);
    held_.reset();
    lastGood_ = list.servers;
    return list;
}

}  // namespace ringgate::registry
