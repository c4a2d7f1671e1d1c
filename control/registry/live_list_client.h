// For ringgated (and any gateway): a subscription to the registry's live list. Calls
// onChange with every new list; reconnects across registry takeovers and restarts.
// Lists from a registry whose term is below the highest seen (a stale primary) are not
// taken (term_fence.h): the stream is closed and the client tries again. The daemon
// turns the list into the fast path's run-time back-end set.
#pragma once

#include "common/asio.h"

#include <functional>
#include <memory>
#include <vector>

#include "control/registry/line_subscription.h"
#include "control/registry/protocol.h"
#include "control/registry/term_fence.h"

namespace ringgate::registry {

class LiveListClient {
public:
    using OnChange = std::function<void(const protocol::LiveList& list)>;
    // `key`: the pool's key (line_auth.h); null or empty for a registry run with --no-auth.
    LiveListClient(boost::asio::io_context& io, std::vector<Ipv4Endpoint> registry, OnChange onChange,
                   LineKeyPtr key = {}, std::chrono::milliseconds termReset = kTermReset);
    ~LiveListClient();

    void start();
    void stop();
    bool connected() const { return subscription_.open(); }

private:
    void onLine(std::string_view line);

    std::vector<Ipv4Endpoint> registry_;
    OnChange onChange_;
    size_t next_ = 0;
    uint64_t lastVersion_ = 0;
    TermFence terms_;
    bool streamTermTaken_ = false;  // this stream named a term we accept
    LineSubscription subscription_;
};

}  // namespace ringgate::registry
