#include "control/registry/live_list_client.h"

#include "common/log.h"

namespace ringgate::registry {

LiveListClient::LiveListClient(boost::asio::io_context& io, std::vector<Ipv4Endpoint> registry, OnChange onChange)
    : io_(io), registry_(std::move(registry)), onChange_(std::move(onChange)), retry_(io), watchdog_(io, std::chrono::milliseconds(3000)) {}

LiveListClient::~LiveListClient() {
    *alive_ = false;
    stop();
}

void LiveListClient::start() {
    if (running_ || registry_.empty()) return;
    running_ = true;
    connect();
}

void LiveListClient::stop() {
    running_ = false;
    retry_.cancel();
    watchdog_.stop();
    if (connection_) connection_->close("stopped");
    connection_.reset();
}

void LiveListClient::retryLater() {
    if (!running_) return;
    retry_.expires_after(std::chrono::milliseconds(200));
    retry_.async_wait([this, alive = alive_](boost::system::error_code ec) {
        if (!ec && *alive && running_) connect();
    });
}

void LiveListClient::connect() {
    Ipv4Endpoint to = registry_[next_++ % registry_.size()];
    auto socket = std::make_shared<tcp::socket>(io_);
    auto timer = std::make_shared<boost::asio::steady_timer>(io_);
    timer->expires_after(std::chrono::milliseconds(1000));
    timer->async_wait([socket](boost::system::error_code ec) {
        if (!ec) {
            boost::system::error_code ignored;
            socket->close(ignored);
        }
    });
    socket->async_connect(toAsio(to), [this, alive = alive_, socket, timer, to](boost::system::error_code ec) {
        timer->cancel();
        if (!*alive || !running_) return;
        if (ec) return retryLater();
        connection_ = std::make_shared<LineConnection>(std::move(*socket), protocol::kMaxReplyLine);
        connection_->start(
            [this, alive](std::string_view line) {
                if (!*alive) return;
                watchdog_.heard();
                if (line == "HEARTBEAT") return;
                auto list = protocol::parseLive(line);
                if (!list) {
                    RG_WARN(Registry, "live list: %s", list.error().message.c_str());
                    return;
                }
                lastVersion_ = list->version;
                onChange_(*list);
            },
            [this, alive, to](const std::string& why) {
                if (!*alive) return;
                RG_DEBUG(Registry, "live-list subscription to %s ended: %s", to.toString().c_str(), why.c_str());
                retryLater();
            });
        connection_->send("SUBSCRIBE");
        watchdog_.watch(connection_);
    });
}

}  // namespace ringgate::registry
