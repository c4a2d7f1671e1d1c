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
#include "control/registry/line_auth.h"

namespace ringgate::registry {

using boost::asio::ip::tcp;

// Why a connection ended; `detail` in OnClose carries the human part for logs.
enum class CloseReason {
    Local,            // closed by its owner (stopping, a protocol decision)
    PeerClosed,       // EOF
    IoError,          // a read or write failed
    LineTooLong,      // a line over the limit: hostile or broken peer
    NotReading,       // too many lines queued for a peer that does not read
    Unauthenticated,  // a line without a valid signature (line_auth.h)
    Idle,             // no complete request within the idle limit
    Silent,           // a stream without heartbeats (SilenceWatchdog)
};
const char* closeReasonName(CloseReason reason);

tcp::endpoint toAsio(Ipv4Endpoint endpoint);
Ipv4Address fromAsio(const boost::asio::ip::address& address);

class LineConnection : public std::enable_shared_from_this<LineConnection> {
public:
    using OnLine = std::function<void(std::string_view line)>;
    using OnClose = std::function<void(CloseReason reason, const std::string& detail)>;

    static constexpr size_t kMaxQueuedLines = 1024;

    LineConnection(tcp::socket socket, size_t maxLine);
    ~LineConnection();
    // Server side: every line must be a signed request (verified against `guard`), every
    // line sent is signed as a reply to the first. A failure ends the connection with an
    // unsigned "ERR unauthenticated ..." line and CloseReason::Unauthenticated.
    void authenticateAsServer(LineKeyPtr key, std::shared_ptr<ReplayGuard> guard);
    // Client side: lines sent are signed requests, lines received must be its replies.
    void authenticateAsClient(LineKeyPtr key);
    // Closes the connection when no complete line arrives for `limit` (0: never). A
    // subscriber or monitor, which sends nothing after its first line, turns it off.
    void setIdleLimit(std::chrono::milliseconds limit);
    // A place under the accept loop's connection cap (common/accept_loop.h), given back
    // when the connection closes.
    void holdTicket(std::shared_ptr<void> ticket) { ticket_ = std::move(ticket); }
    // Lines longer than maxLine end the connection with CloseReason::LineTooLong.
    void start(OnLine onLine, OnClose onClose);
    void send(std::string line);  // adds the newline
    // Sends a last line, then closes (reads stop at once).
    void sendAndClose(std::string line, CloseReason reason, const std::string& detail);
    void close(CloseReason reason = CloseReason::Local, const std::string& detail = {});
    bool open() const { return open_; }
    std::string peer() const { return peer_; }
    Ipv4Address peerAddress() const { return peerAddress_; }

private:
    void readMore();
    void writeNext();
    void deliver(std::string_view line);
    std::string frame(std::string_view line);
    void armIdle();

    tcp::socket socket_;
    size_t maxLine_;
    std::string peer_;
    Ipv4Address peerAddress_;
    LineKeyPtr key_;
    std::shared_ptr<ReplayGuard> guard_;  // set: server side
    bool haveNonce_ = false;
    uint64_t nonce_ = 0;
    uint64_t sendSeq_ = 0, receiveSeq_ = 0;
    std::chrono::milliseconds idleLimit_{0};
    std::unique_ptr<boost::asio::steady_timer> idleTimer_;
    std::shared_ptr<void> ticket_;
    std::string pending_;
    char buffer_[4096];
    std::deque<std::string> queue_;
    bool writing_ = false;
    bool closing_ = false;
    CloseReason closeReason_ = CloseReason::Local;
    std::string closeDetail_;
    bool open_ = true;
    OnLine onLine_;
    OnClose onClose_;
};

// Connects to `to`, sends `line` (signed with `key`), returns the first reply line
// (verified and without its signature); fails after `timeout`.
void callOnce(boost::asio::io_context& io, Ipv4Endpoint to, std::string line, std::chrono::milliseconds timeout,
              std::function<void(Expected<std::string>)> done, std::optional<Ipv4Address> bindTo,
              const LineKeyPtr& key);

}  // namespace ringgate::registry
