// A gateway's view of the back-end pool (seeds 000-002): subscribes to ringgate-registry's
// live list and turns it into the back-end set of every pool configured with
// `registry: true`, handed to `apply` (the fast path's setLiveBackends) on every change.
// Until the registry first answers, each pool keeps its static back ends. report() is the
// `pool` view: the registry's endpoints, the subscription's state and the live back ends of
// each pool.
#pragma once

#include "common/asio.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "control/daemon/node_reports.h"
#include "control/registry/live_list_client.h"
#include "control/registry/live_set_guard.h"

namespace ringgate::daemon {

// The back ends of `pool` given the registry's live servers: each on the pool's port
// (or its first static back end's), keeping a static back end's weight, sorted by address
// so that every gateway builds the same Maglev table from the same list.
std::vector<config::Backend> liveBackends(const config::BackendPool& pool,
                                          const std::vector<Ipv4Address>& liveServers);

class PoolFollower {
public:
    using Apply = std::function<void(const std::string& pool, const std::vector<config::Backend>& live)>;

    PoolFollower(boost::asio::io_context& io, const config::Config& config, Apply apply);

    // True when some pool follows the registry (otherwise there is nothing to follow).
    static bool needed(const config::Config& config);

    void start();
    void stop();
    // The configuration was replaced in place (a live reload): each pool that follows the
    // registry takes the last live list (its static back ends until one came), and is
    // handed to `apply` again; pools that no longer follow it are forgotten here.
    void reconfigure();
    // Every configured pool: those following the registry with their live back ends,
    // the others with their configured ones.
    PoolReport report() const;

private:
    void onLiveList(const registry::protocol::LiveList& list);
    void use(const registry::protocol::LiveList& list);

    const config::Config& config_;
    Apply apply_;
    std::unique_ptr<registry::LiveListClient> client_;
    registry::LiveSetGuard guard_;           // keeps the last good set (live_set_guard.h)
    boost::asio::steady_timer holdTimer_;
    uint64_t version_ = 0;
    uint64_t updates_ = 0;
    std::vector<Ipv4Address> servers_;
    std::map<std::string, std::vector<config::Backend>> live_;  // pool -> back ends now in use
};

}  // namespace ringgate::daemon
