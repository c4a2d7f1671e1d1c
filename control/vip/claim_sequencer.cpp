#include "control/vip/claim_sequencer.h"

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
    ++counters_.probes;
    count(io_callbacks_.probe(vip), "probe", vip);
    state.timer->expires_after(std::chrono::milliseconds(timers_.probeTimeoutMs));
    state.timer->async_wait([this, vip](boost::system::error_code ec) {
        auto it = vips_.find(vip);
        if (ec || it == vips_.end() || !it->second.probing) return;
        it->second.probing = false;
        if (io_callbacks_.probeAnswered(vip)) {
            ++counters_.conflicts;
            RG_ERROR(Vip, "%s is in use by another host (it answered our ARP probe); not claiming it",
                     vip.toString().c_str());
            vips_.erase(it);
            return;
        }
        install(vip);
    });
}

void ClaimSequencer::install(Ipv4Address vip) {
    State& state = vips_[vip];
    if (!state.installed) {
        auto installed = io_callbacks_.install(vip);
        count(installed, "claim", vip);
        if (!installed) {
            vips_.erase(vip);
            return;
        }
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
