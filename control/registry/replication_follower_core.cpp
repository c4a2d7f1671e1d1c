#include "control/registry/replication_follower_core.h"

#include <charconv>

namespace ringgate::registry {
namespace {

std::optional<uint64_t> number(std::string_view text) {
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

}  // namespace

void ReplicationFollowerCore::connected() {
    waiting_.clear();
    synced_ = false;
    if (busy_ != Busy::No) oldStream_ = true;
}

ReplicationFollowerCore::Effects ReplicationFollowerCore::line(std::string_view text) {
    Effects out;
    if (busy_ != Busy::No) {
        waiting_.emplace_back(text);
        return out;
    }
    handle(text, out);
    return out;
}

ReplicationFollowerCore::Effects ReplicationFollowerCore::loaded(const Expected<void>& result) {
    Effects out;
    busy_ = Busy::No;
    auto snapshot = std::move(loading_);
    loading_.reset();
    if (oldStream_) {
        oldStream_ = false;  // the new stream brings its own snapshot
        if (result && snapshot) version_ = snapshot->version;
    } else if (!result) {
        out.warnings.push_back("cannot store the primary's snapshot: " + result.error().message);
        end("store failed", out);
    } else if (snapshot) {
        version_ = snapshot->version;
        synced_ = everSynced_ = true;
        stale_ = false;
    }
    drain(out);
    return out;
}

ReplicationFollowerCore::Effects ReplicationFollowerCore::replayed(const Expected<uint64_t>& version) {
    Effects out;
    busy_ = Busy::No;
    if (oldStream_) {
        oldStream_ = false;  // its primary no longer waits for the acknowledgement
        if (version) version_ = *version;
    } else if (!version || *version != replaying_) {
        // The copies disagree: reconnecting fetches a fresh snapshot.
        out.warnings.push_back("replaying version " + std::to_string(replaying_) + " gave " +
                               (version ? std::to_string(*version) : version.error().message) + ": resynchronising");
        stale_ = true;
        end("copy diverged", out);
    } else {
        version_ = *version;
        ++applied_;
        out.sends.push_back("ACK " + std::to_string(version_));
    }
    drain(out);
    return out;
}

void ReplicationFollowerCore::drain(Effects& out) {
    while (busy_ == Busy::No && !waiting_.empty() && !out.close) {
        std::string next = std::move(waiting_.front());
        waiting_.pop_front();
        handle(next, out);
    }
}

void ReplicationFollowerCore::handle(std::string_view line, Effects& out) {
    if (line.rfind("DROPPED", 0) == 0) {
        stale_ = true;  // the primary goes on without us until we follow it again
        out.warnings.push_back("the primary dropped this monitor: " + std::string(line.substr(0, 80)));
        return end("dropped by the primary", out);
    }
    if (line.rfind("TERM ", 0) == 0) {
        auto term = number(line.substr(5));
        if (!term) return end("bad term", out);
        if (*term < minimumTerm_) {
            // A primary that missed a newer term (cut off, then back): its copy may lack
            // changes the newer primary acknowledged. Do not follow it.
            stale_ = true;
            synced_ = false;
            out.warnings.push_back("the primary has term " + std::to_string(*term) + ", below " +
                                   std::to_string(minimumTerm_) + ": not following a stale primary");
            return end("stale primary", out);
        }
        term_ = *term;
        return;
    }
    if (line.rfind("RANK ", 0) == 0) {
        auto rank = number(line.substr(5));
        if (!rank || *rank > UINT32_MAX) return end("bad rank", out);
        rank_ = static_cast<uint32_t>(*rank);
        return;
    }
    if (line.rfind("SNAPSHOT", 0) == 0) {
        auto snapshot = protocol::parseTable(line);
        if (!snapshot) {
            out.warnings.push_back("bad snapshot from the primary: " + snapshot.error().message);
            return end("bad snapshot", out);
        }
        loading_ = *snapshot;
        out.load = std::move(*snapshot);
        busy_ = Busy::Loading;
        return;
    }
    if (line.rfind("APPLY", 0) == 0) {
        auto apply = protocol::parseApply(line);
        if (!apply) {
            out.warnings.push_back("bad change from the primary: " + apply.error().message);
            stale_ = true;
            return end("bad change", out);
        }
        replaying_ = apply->version;
        out.replay = *apply;
        busy_ = Busy::Replaying;
        return;
    }
    out.warnings.push_back("unexpected line from the primary: " + std::string(line.substr(0, 60)));
    end("unexpected line", out);
}

void ReplicationFollowerCore::end(const std::string& why, Effects& out) {
    out.close = why;
    waiting_.clear();
}

}  // namespace ringgate::registry
