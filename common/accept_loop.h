// An accept loop that cannot be made to spin or to exhaust the process: at most
// `maxConnections` connections at a time (more are accepted and closed at once, so the
// kernel's queue keeps moving, and counted), and when accept() fails for lack of file
// descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) it pauses for `pause` instead
// of retrying at once — the kernel keeps reporting the pending connection, so retrying
// immediately is a busy loop. Used by the registry, the buddy agent and the management
// server, for TCP and Unix sockets alike.
#pragma once

#include "common/asio.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace ringgate {

struct AcceptCounters {
    uint64_t accepted = 0;
    uint64_t overCap = 0;  // closed at once: too many connections
    uint64_t paused = 0;   // accept failed for lack of resources; paused
};

template <typename Protocol>
class AcceptLoop {
public:
    using Acceptor = boost::asio::basic_socket_acceptor<Protocol>;
    using Socket = boost::asio::basic_stream_socket<Protocol>;
    // The connection holds the ticket while it lives; dropping it frees its place.
    using Ticket = std::shared_ptr<void>;
    using OnAccept = std::function<void(Socket socket, Ticket ticket)>;

    AcceptLoop(Acceptor& acceptor, size_t maxConnections, std::chrono::milliseconds pause, OnAccept onAccept)
        : acceptor_(acceptor), timer_(acceptor.get_executor()), maxConnections_(maxConnections), pause_(pause),
          onAccept_(std::move(onAccept)) {}
    ~AcceptLoop() { *alive_ = false; }

    void start() { acceptNext(); }
    void stop() { timer_.cancel(); }
    size_t open() const { return *open_; }
    const AcceptCounters& counters() const { return counters_; }

private:
    static bool outOfResources(const boost::system::error_code& ec) {
        int e = ec.value();
        return ec.category() == boost::system::system_category() &&
               (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM);
    }

    void acceptNext() {
        acceptor_.async_accept([this, alive = alive_](boost::system::error_code ec, Socket socket) {
            if (!*alive || ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
            if (outOfResources(ec)) {
                ++counters_.paused;
                timer_.expires_after(pause_);
                timer_.async_wait([this, alive](boost::system::error_code waitEc) {
                    if (!waitEc && *alive && acceptor_.is_open()) acceptNext();
                });
                return;
            }
            if (!ec) {
                if (*open_ >= maxConnections_) {
                    ++counters_.overCap;
                    boost::system::error_code ignored;
                    socket.close(ignored);
                } else {
                    ++counters_.accepted;
                    ++*open_;
                    Ticket ticket(nullptr, [open = open_](void*) { --*open; });
                    onAccept_(std::move(socket), std::move(ticket));
                }
            }
            acceptNext();
        });
    }

    Acceptor& acceptor_;
    boost::asio::steady_timer timer_;
    size_t maxConnections_;
    std::chrono::milliseconds pause_;
    OnAccept onAccept_;
    std::shared_ptr<size_t> open_ = std::make_shared<size_t>(0);
    AcceptCounters counters_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringgate
