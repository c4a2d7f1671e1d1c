// Closes a long-lived connection that has been silent too long. The registry sends
// heartbeats on replication streams (every 100 ms) and to subscribers (every second); a
// peer whose host died sends neither FIN nor RST, so silence is the only sign.
#pragma once

#include "common/asio.h"

#include <chrono>
#include <memory>

#include "control/registry/line_connection.h"

namespace ringgate::registry {

class SilenceWatchdog {
public:
    SilenceWatchdog(boost::asio::io_context& io, std::chrono::milliseconds limit) : timer_(io), limit_(limit) {}
    ~SilenceWatchdog() { *alive_ = false; }

    // Starts watching `connection`; call heard() on every line it delivers.
    void watch(std::shared_ptr<LineConnection> connection) {
        connection_ = connection;
        heard();
        check();
    }
    void heard() { last_ = std::chrono::steady_clock::now(); }
    void stop() {
        connection_.reset();
        timer_.cancel();
    }

private:
    void check() {
        timer_.expires_after(limit_ / 4);
        timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
            if (ec || !*alive) return;
            auto connection = connection_.lock();
            if (!connection || !connection->open()) return;
            if (std::chrono::steady_clock::now() - last_ > limit_) {
                connection->close(CloseReason::Silent);
                return;
            }
            check();
        });
    }

    boost::asio::steady_timer timer_;
    std::chrono::milliseconds limit_;
    std::weak_ptr<LineConnection> connection_;
    std::chrono::steady_clock::time_point last_{};
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringgate::registry
