// Answers from a registry carry its term (role_core.h). A term below the highest seen
// comes from a stale primary — cut off, and not yet stepped down — and is refused, unless
// only that lower term has answered for `reset`: terms are not kept across a restart of
// every registry, while a stale primary steps down within a few check intervals of
// hearing the newer term. Used by the buddy agents and the gateways' live-list client.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

namespace ringgate::registry {

constexpr std::chrono::seconds kTermReset{30};

class TermFence {
public:
    using Time = std::chrono::steady_clock::time_point;
    explicit TermFence(std::chrono::milliseconds reset = kTermReset) : reset_(reset) {}

    // Whether an answer of this term may be taken; remembers the highest term taken.
    bool accept(uint64_t term, Time now) {
        if (term < highest_) {
            if (!lower_ || lower_->first != term) lower_ = std::pair{term, now};
            if (now - lower_->second < reset_) return false;
        }
        highest_ = term;
        lower_.reset();
        return true;
    }
    uint64_t highest() const { return highest_; }

private:
    std::chrono::milliseconds reset_;
    uint64_t highest_ = 0;
    std::optional<std::pair<uint64_t, Time>> lower_;  // a lower term answering since
};

}  // namespace ringgate::registry
