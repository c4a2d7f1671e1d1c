// A long-lived line stream to a registry that keeps itself alive: connect (1 s deadline),
// send the opening request (SUBSCRIBE, REPLICATE), hand every line but HEARTBEAT to the
// owner, close a stream that falls silent, and reconnect 200 ms after any end. Used by the
// gateways' live-list client and by a monitor following its primary.
#pragma once

#include "common/asio.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "control/registry/line_connection.h"
#include "control/registry/silence_watchdog.h"

namespace ringgate::registry {

class LineSubscription {
public:
    struct Callbacks {
        std::function<Ipv4Endpoint()> endpoint;                     // where to connect next
        std::function<void()> connected;                           // a new stream began
        std::function<void(std::string_view line)> line;            // every line but HEARTBEAT
        std::function<void(const std::string& why)> ended;          // the stream ended (it will retry)
        std::function<void(const std::string& why)> unreachable;    // a connection attempt failed
    };

    LineSubscription(boost::asio::io_context& io, std::string request, std::chrono::milliseconds silenceLimit,
                     Callbacks callbacks, LineKeyPtr key);
    ~LineSubscription();

    void start();
    void stop();
    bool open() const { return connection_ && connection_->open(); }
    void send(const std::string& line);
    // Ends the current stream (a protocol error); it reconnects like after any end.
    void close(CloseReason reason, const std::string& detail);

private:
    void connect();
    void retryLater();

    boost::asio::io_context& io_;
    std::string request_;
    LineKeyPtr key_;
    Callbacks callbacks_;
    std::shared_ptr<LineConnection> connection_;
    boost::asio::steady_timer retry_;
    SilenceWatchdog watchdog_;
    bool running_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringgate::registry
