#include "control/daemon/pool_follower.h"

#include <algorithm>

#include "common/log.h"

namespace ringgate::daemon {

std::vector<config::Backend> liveBackends(const config::BackendPool& pool,
                                          const std::vector<Ipv4Address>& liveServers) {
    uint16_t port = pool.port != 0 ? pool.port : (pool.backends.empty() ? 0 : pool.backends.front().port);
    std::vector<config::Backend> backends;
    for (Ipv4Address server : liveServers) {
        config::Backend backend{server, port, 1};
        for (const config::Backend& known : pool.backends)
            if (known.address == server) backend.weight = known.weight;
        backends.push_back(backend);
    }
    std::sort(backends.begin(), backends.end(),
              [](const config::Backend& a, const config::Backend& b) { return a.address < b.address; });
    backends.erase(std::unique(backends.begin(), backends.end(),
                               [](const config::Backend& a, const config::Backend& b) { return a.address == b.address; }),
                   backends.end());
    return backends;
}

bool PoolFollower::needed(const config::Config& config) {
    return config.registry &&
           std::any_of(config.pools.begin(), config.pools.end(), [](const auto& p) { return p.fromRegistry; });
}

PoolFollower::PoolFollower(boost::asio::io_context& io, const config::Config& config, Apply apply)
    : config_(config), apply_(std::move(apply)), holdTimer_(io) {
    for (const config::BackendPool& pool : config_.pools)
        if (pool.fromRegistry) live_[pool.name] = pool.backends;
    if (config_.registry) {
        registry::LineKeyPtr key;  // registry.key_file was checked when the configuration loaded
        if (auto loaded = registry::loadLineKey(config_.registry->keyFile); !config_.registry->keyFile.empty() && loaded)
            key = std::make_shared<const registry::LineKey>(std::move(*loaded));
        client_ = std::make_unique<registry::LiveListClient>(
            io, config_.registry->endpoints, [this](const registry::protocol::LiveList& list) { onLiveList(list); },
            key);
    }
}

void PoolFollower::start() {
    if (client_) client_->start();
}

void PoolFollower::stop() {
    if (client_) client_->stop();
}

void PoolFollower::reconfigure() {
    std::map<std::string, std::vector<config::Backend>> live;
    for (const config::BackendPool& pool : config_.pools)
        if (pool.fromRegistry) live[pool.name] = version_ ? liveBackends(pool, servers_) : pool.backends;
    live_ = std::move(live);
    if (apply_)
        for (const auto& [pool, backends] : live_) apply_(pool, backends);
}

void PoolFollower::onLiveList(const registry::protocol::LiveList& list) {
    auto decision = guard_.offer(std::chrono::steady_clock::now(), list);
    if (decision.apply) return use(list);
    RG_WARN(Registry, "%s", decision.warning.c_str());
    if (auto until = guard_.heldUntil()) {
        holdTimer_.expires_at(*until);
        holdTimer_.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            if (auto late = guard_.due(std::chrono::steady_clock::now())) {
                RG_WARN(Registry, "the registry kept the smaller live list (version %llu): applying it",
                        static_cast<unsigned long long>(late->version));
                use(*late);
            }
        });
    }
}

void PoolFollower::use(const registry::protocol::LiveList& list) {
    version_ = list.version;
    servers_ = list.servers;
    ++updates_;
    for (const config::BackendPool& pool : config_.pools) {
        if (!pool.fromRegistry) continue;
        auto backends = liveBackends(pool, list.servers);
        if (backends.size() != live_[pool.name].size() || !std::equal(backends.begin(), backends.end(),
                                                                       live_[pool.name].begin(),
                                                                       [](const auto& a, const auto& b) {
                                                                           return a.address == b.address && a.port == b.port &&
                                                                                  a.weight == b.weight;
                                                                       }))
            RG_INFO(Registry, "pool %s: %zu live back ends (registry version %llu)", pool.name.c_str(),
                    backends.size(), static_cast<unsigned long long>(list.version));
        live_[pool.name] = backends;
        if (apply_) apply_(pool.name, backends);
    }
}

PoolReport PoolFollower::report() const {
    PoolReport out;
    if (config_.registry)
        for (const Ipv4Endpoint& e : config_.registry->endpoints) out.registry.push_back(e.toString());
    out.connected = client_ && client_->connected();
    out.liveListVersion = version_;
    out.updates = updates_;
    for (Ipv4Address server : servers_) out.live.push_back(server.toString());
    for (const config::BackendPool& pool : config_.pools) {
        PoolRow row{pool.name, pool.fromRegistry, {}};
        auto live = live_.find(pool.name);
        for (const config::Backend& b : live != live_.end() ? live->second : pool.backends)
            row.backends.push_back({b.address.toString(), b.port, b.weight});
        out.pools.push_back(std::move(row));
    }
    return out;
}

}  // namespace ringgate::daemon
