#include "control/vip/claim_sequencer.h"

#include <algorithm>

#include "common/log.h"

namespace ringgate::vip {

ClaimSequencer::ClaimSequencer(boost::asio::io_context& io, const config::Timers& timers, Io callbacks)
    : io_(io), timers_(timers), io_callbacks_(std::move(callbacks)) {}

void ClaimSequencer::count(const Expected<void>& result, const char* what, Ipv4Address vip) {
    if (result) return;
    ++counters_.errors;
    RG_ERROR(Vip, "%s %s: %s", what, vip.toString().c_str(), result.error().message.c_str());
}

void ClaimSequencer::claim(Ipv4Address vip, bool probeFirst) {
    State& state = vips_[vip];
    if (state.timer) state.timer->cancel();
    state.timer = std::make_unique<boost::asio::steady_timer>(io_);
    if (state.installed || !probeFirst) {
        install(vip);
        return;
    }
    state.probing = true;
    state.conflicts = 0;
    probe(vip);
}

void ClaimSequencer::probe(Ipv4Address vip) {
    State& state = vips_[vip];
    ++counters_.probes;
    count(io_callbacks_.probe(vip), "probe", vip);
    state.timer->expires_after(std::chrono::milliseconds(timers_.probeTimeoutMs));
    state.timer->async_wait([this, vip](boost::system::error_code ec) {
        auto it = vips_.find(vip);
        if (ec || it == vips_.end() || !it->second.probing) return;
        State& s = it->second;
        if (io_callbacks_.probeAnswered(vip)) {
            // Someone else answers for it. Most often a peer that has not released it yet
            // (two nodes that started alone both claimed it, and the ring has given it to
            // us): probe again until the address is free or the claim is withdrawn. A
            // foreign host that keeps it keeps us from answering, as RFC 5227 wants.
            ++counters_.conflicts;
            if (s.conflicts++ == 0)
                RG_ERROR(Vip, "%s is in use by another host (it answered our ARP probe); probing again until it is free",
                         vip.toString().c_str());
            uint32_t wait = std::min<uint32_t>(timers_.probeTimeoutMs << std::min<uint32_t>(s.conflicts, 4), kProbeBackoffMaxMs);
            s.timer->expires_after(std::chrono::milliseconds(wait));
            s.timer->async_wait([this, vip](boost::system::error_code ec) {
                auto again = vips_.find(vip);
                if (!ec && again != vips_.end() && again->second.probing) probe(vip);
            });
            return;
        }
        s.probing = false;
        if (s.conflicts > 0) RG_WARN(Vip, "%s is free now; claiming it", vip.toString().c_str());
        install(vip);
    });
}

void ClaimSequencer::install(Ipv4Address vip) {
    State& state = vips_[vip];
    if (!state.installed) {
        auto installed = io_callbacks_.install(vip);
        if (state.failures == 0) count(installed, "claim", vip);  // logged once a claim
        else if (!installed) ++counters_.errors;
        if (!installed) {
            // Often a VIP the cluster's table names before this node's configuration has
            // it (the VIP table and the configuration travel on the token apart): try
            // again, backing off, while the claim stands.
            uint32_t wait = std::min<uint32_t>(timers_.probeTimeoutMs << std::min<uint32_t>(++state.failures, 4),
                                               kProbeBackoffMaxMs);
            state.timer->expires_after(std::chrono::milliseconds(std::max<uint32_t>(wait, 1)));
            state.timer->async_wait([this, vip](boost::system::error_code ec) {
                auto again = vips_.find(vip);
                if (!ec && again != vips_.end() && !again->second.installed) install(vip);
            });
            return;
        }
        if (state.failures > 0) RG_WARN(Vip, "claim %s: installed after %u failed attempts", vip.toString().c_str(), state.failures);
        state.installed = true;
        ++counters_.installs;
    }
    sendAnnouncement(vip);
    state.announcementsLeft = timers_.garpRepeats;
    scheduleAnnouncements(vip);
}

void ClaimSequencer::sendAnnouncement(Ipv4Address vip) {
    ++counters_.announcements;
    count(io_callbacks_.announce(vip), "gratuitous ARP for", vip);
}

void ClaimSequencer::scheduleAnnouncements(Ipv4Address vip) {
    State& state = vips_[vip];
    if (state.announcementsLeft == 0) return;
    state.timer->expires_after(std::chrono::milliseconds(timers_.garpIntervalMs));
    state.timer->async_wait([this, vip](boost::system::error_code ec) {
        auto it = vips_.find(vip);
        if (ec || it == vips_.end() || !it->second.installed || it->second.announcementsLeft == 0) return;
        --it->second.announcementsLeft;
        sendAnnouncement(vip);
        scheduleAnnouncements(vip);
    });
}

void ClaimSequencer::release(Ipv4Address vip) {
    auto it = vips_.find(vip);
    if (it == vips_.end()) return;
    if (it->second.timer) it->second.timer->cancel();
    if (it->second.installed) {
        count(io_callbacks_.uninstall(vip), "release", vip);
        ++counters_.uninstalls;
    }
    vips_.erase(it);
}

void ClaimSequencer::announce(Ipv4Address vip) {
    auto it = vips_.find(vip);
    if (it == vips_.end() || !it->second.installed) return;
    sendAnnouncement(vip);
    it->second.announcementsLeft = timers_.garpRepeats;
    scheduleAnnouncements(vip);
}

void ClaimSequencer::releaseAll() {
    while (!vips_.empty()) release(vips_.begin()->first);
}

bool ClaimSequencer::installed(Ipv4Address vip) const {
    auto it = vips_.find(vip);
    return it != vips_.end() && it->second.installed;
}

}  // namespace ringgate::vip
