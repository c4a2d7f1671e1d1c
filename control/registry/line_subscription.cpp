#include "control/registry/line_subscription.h"

#include "control/registry/protocol.h"

namespace ringgate::registry {

namespace {
constexpr auto kConnectTimeout = std::chrono::milliseconds(1000);
constexpr auto kRetryDelay = std::chrono::milliseconds(200);
}  // namespace

LineSubscription::LineSubscription(boost::asio::io_context& io, std::string request,
                                   std::chrono::milliseconds silenceLimit, Callbacks callbacks, LineKeyPtr key)
    : io_(io), request_(std::move(request)), key_(std::move(key)), callbacks_(std::move(callbacks)), retry_(io), watchdog_(io, silenceLimit) {}

LineSubscription::~LineSubscription() {
    *alive_ = false;
    stop();
}

void LineSubscription::start() {
    if (running_) return;
    running_ = true;
    connect();
}

void LineSubscription::stop() {
    running_ = false;
    retry_.cancel();
    watchdog_.stop();
    if (connection_) connection_->close(CloseReason::Local, "stopped");
    connection_.reset();
}

void LineSubscription::send(const std::string& line) {
    if (connection_) connection_->send(line);
}

void LineSubscription::close(CloseReason reason, const std::string& detail) {
    if (connection_) connection_->close(reason, detail);
}

void LineSubscription::retryLater() {
    if (!running_) return;
    retry_.expires_after(kRetryDelay);
    retry_.async_wait([this, alive = alive_](boost::system::error_code ec) {
        if (!ec && *alive && running_) connect();
    });
}

void LineSubscription::connect() {
    Ipv4Endpoint to = callbacks_.endpoint();
    auto socket = std::make_shared<tcp::socket>(io_);
    auto timer = std::make_shared<boost::asio::steady_timer>(io_);
    timer->expires_after(kConnectTimeout);
    timer->async_wait([socket](boost::system::error_code ec) {
        if (!ec) {
            boost::system::error_code ignored;
            socket->close(ignored);
        }
    });
    socket->async_connect(toAsio(to), [this, alive = alive_, socket, timer](boost::system::error_code ec) {
        timer->cancel();
        if (!*alive || !running_) return;
        if (ec) {
            if (callbacks_.unreachable) callbacks_.unreachable(ec.message());
            return retryLater();
        }
        connection_ = std::make_shared<LineConnection>(std::move(*socket), protocol::kMaxReplyLine);
        if (key_) connection_->authenticateAsClient(key_);
        if (callbacks_.connected) callbacks_.connected();
        connection_->start(
            [this, alive](std::string_view line) {
                if (!*alive) return;
                watchdog_.heard();
                if (line != "HEARTBEAT") callbacks_.line(line);
            },
            [this, alive](CloseReason, const std::string& detail) {
                if (!*alive) return;
                if (callbacks_.ended) callbacks_.ended(detail);
                retryLater();
            });
        connection_->send(request_);
        watchdog_.watch(connection_);
    });
}

}  // namespace ringgate::registry
