// Thin Asio shells for line-based TCP: a connection that delivers bounded lines and
// queues replies, and a one-shot call (connect, one request line, one reply line) with a
// deadline. They only move bytes; protocol.h gives the lines their meaning.
#pragma once

#include "common/asio.h"

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/expected.h"
#include "common/ipv4.h"

namespace ringgate::registry {

using boost::asio::ip::tcp;

tcp::endpoint toAsio(Ipv4Endpoint endpoint);
Ipv4Address fromAsio(const boost::asio::ip::address& address);

class LineConnection : public std::enable_shared_from_this<LineConnection> {
public:
    using OnLine = std::function<void(std::string_view line)>;
    using OnClose = std::function<void(const std::string& why)>;

    static constexpr size_t kMaxQueuedLines = 1024;

    LineConnection(tcp::socket socket, size_t maxLine);
    // Lines longer than maxLine end the connection with why = "line too long".
    void start(OnLine onLine, OnClose onClose);
    void send(std::string line);  // adds the newline
    // Sends a last line, then closes (reads stop at once).
    void sendAndClose(std::string line, const std::string& why);
    void close(const std::string& why = "closed");
    bool open() const { return open_; }
    std::string peer() const { return peer_; }

private:
    void readMore();
    void writeNext();

    tcp::socket socket_;
    size_t maxLine_;
    std::string peer_;
    std::string pending_;
    char buffer_[4096];
    std::deque<std::string> queue_;
    bool writing_ = false;
    bool closing_ = false;
    std::string closeWhy_;
    bool open_ = true;
    OnLine onLine_;
    OnClose onClose_;
};

// Connects to `to`, sends `line`, returns the first reply line; fails after `timeout`.
void callOnce(boost::asio::io_context& io, Ipv4Endpoint to, std::string line, std::chrono::milliseconds timeout,
              std::function<void(Expected<std::string>)> done, std::optional<Ipv4Address> bindTo = {});

}  // namespace ringgate::registry
