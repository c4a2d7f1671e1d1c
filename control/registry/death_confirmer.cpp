#include "control/registry/death_confirmer.h"

namespace ringgate::registry {

DeathConfirmer::DeathConfirmer(boost::asio::io_context& io, ProbeSpec spec, uint32_t tries,
                               std::chrono::milliseconds interval)
    : io_(io), prober_(io, std::move(spec), std::nullopt), tries_(std::max<uint32_t>(tries, 1)), interval_(interval) {}

DeathConfirmer::~DeathConfirmer() { *alive_ = false; }

Expected<void> DeathConfirmer::open() {
    return prober_.open([this](Ipv4Address from) {
        auto it = looks_.find(from);
        if (it == looks_.end() || it->second.alive) return;
        it->second.alive = true;
        // One answer settles it; finish outside the prober's callback.
        boost::asio::post(io_, [this, alive = alive_, from] {
            if (*alive) finish(from);
        });
    });
}

void DeathConfirmer::confirm(Ipv4Address server, Done done) {
    auto [it, fresh] = looks_.try_emplace(server);
    it->second.waiting.push_back(std::move(done));
    if (!fresh) return;
    it->second.timer = std::make_unique<boost::asio::steady_timer>(io_);
    next(server);
}

void DeathConfirmer::next(Ipv4Address server) {
    auto it = looks_.find(server);
    if (it == looks_.end()) return;
    Look& look = it->second;
    if (look.alive || look.sent >= tries_) return finish(server);
    ++look.sent;
    prober_.probe(server, interval_);
    look.timer->expires_after(interval_);
    look.timer->async_wait([this, alive = alive_, server](boost::system::error_code ec) {
        if (!ec && *alive) next(server);
    });
}

void DeathConfirmer::finish(Ipv4Address server) {
    auto it = looks_.find(server);
    if (it == looks_.end()) return;
    Look look = std::move(it->second);
    looks_.erase(it);
    look.timer->cancel();
    for (auto& done : look.waiting) done(look.alive);
}

}  // namespace ringgate::registry
