// For ringgated (and any gateway): a subscription to the registry's live list. Calls
// onChange with every new list; reconnects across registry takeovers and restarts.
// The daemon turns the list into the fast path's run-time back-end set.
#pragma once

#include "common/asio.h"

#include <functional>
#include <memory>
#include <vector>

#include "control/registry/line_connection.h"
#include "control/registry/protocol.h"
#include "control/registry/silence_watchdog.h"

namespace ringgate::registry {

class LiveListClient {
public:
    using OnChange = std::function<void(const protocol::LiveList& list)>;
    LiveListClient(boost::asio::io_context& io, std::vector<Ipv4Endpoint> registry, OnChange onChange);
    ~LiveListClient();

    void start();
    void stop();
    bool connected() const { return connection_ && connection_->open(); }

private:
    void connect();
    void retryLater();

    boost::asio::io_context& io_;
    std::vector<Ipv4Endpoint> registry_;
    OnChange onChange_;
    size_t next_ = 0;
    std::shared_ptr<LineConnection> connection_;
    boost::asio::steady_timer retry_;
    SilenceWatchdog watchdog_;
    bool running_ = false;
    uint64_t lastVersion_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringgate::registry
