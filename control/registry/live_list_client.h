// For ringgated (and any gateway): a subscription to the registry's live list. Calls
// onChange with every new list; reconnects across registry takeovers and restarts.
// The daemon turns the list into the fast path's run-time back-end set.
#pragma once

#include "common/asio.h"

#include <functional>
#include <memory>
#include <vector>

#include "control/registry/line_subscription.h"
#include "control/registry/protocol.h"

namespace ringgate::registry {

class LiveListClient {
public:
    using OnChange = std::function<void(const protocol::LiveList& list)>;
    // `key`: the pool's key (line_auth.h); null or empty for a registry run with --no-auth.
    LiveListClient(boost::asio::io_context& io, std::vector<Ipv4Endpoint> registry, OnChange onChange,
                   LineKeyPtr key = {});
    ~LiveListClient();

    void start();
    void stop();
    bool connected() const { return subscription_.open(); }

private:
    std::vector<Ipv4Endpoint> registry_;
    OnChange onChange_;
    size_t next_ = 0;
    uint64_t lastVersion_ = 0;
    LineSubscription subscription_;
};

}  // namespace ringgate::registry
