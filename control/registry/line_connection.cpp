#include "control/registry/line_connection.h"

#include "control/registry/protocol.h"

namespace ringgate::registry {

tcp::endpoint toAsio(Ipv4Endpoint endpoint) {
    return {boost::asio::ip::address_v4(endpoint.address.value), endpoint.port};
}

Ipv4Address fromAsio(const boost::asio::ip::address& address) {
    return address.is_v4() ? Ipv4Address{address.to_v4().to_uint()} : Ipv4Address{};
}

const char* closeReasonName(CloseReason reason) {
    switch (reason) {
    case CloseReason::Local: return "closed";
    case CloseReason::PeerClosed: return "peer closed";
    case CloseReason::IoError: return "I/O error";
    case CloseReason::LineTooLong: return "line too long";
    case CloseReason::NotReading: return "peer is not reading";
    case CloseReason::Unauthenticated: return "unauthenticated";
    case CloseReason::Idle: return "idle";
    case CloseReason::Silent: return "silent for too long";
    }
    return "?";
}

LineConnection::LineConnection(tcp::socket socket, size_t maxLine) : socket_(std::move(socket)), maxLine_(maxLine) {
    boost::system::error_code ec;
    auto remote = socket_.remote_endpoint(ec);
    peer_ = ec ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
    if (!ec) peerAddress_ = fromAsio(remote.address());
}

LineConnection::~LineConnection() = default;

void LineConnection::authenticateAsServer(LineKeyPtr key, std::shared_ptr<ReplayGuard> guard) {
    key_ = std::move(key);
    guard_ = std::move(guard);
}

void LineConnection::authenticateAsClient(LineKeyPtr key) { key_ = std::move(key); }

void LineConnection::setIdleLimit(std::chrono::milliseconds limit) {
    idleLimit_ = limit;
    if (limit.count() == 0) {
        if (idleTimer_) idleTimer_->cancel();
        return;
    }
    if (!idleTimer_) idleTimer_ = std::make_unique<boost::asio::steady_timer>(socket_.get_executor());
    armIdle();
}

void LineConnection::armIdle() {
    if (!idleTimer_ || idleLimit_.count() == 0 || !open_) return;
    idleTimer_->expires_after(idleLimit_);
    std::weak_ptr<LineConnection> weak = weak_from_this();
    idleTimer_->async_wait([weak](boost::system::error_code ec) {
        auto self = weak.lock();
        if (!ec && self && self->idleLimit_.count() > 0) self->close(CloseReason::Idle, "no request in time");
    });
}

void LineConnection::deliver(std::string_view line) {
    armIdle();
    if (!key_ || !key_->enabled()) return onLine_(line);
    if (guard_) {
        auto request = verifyRequest(*key_, line, *guard_, unixMillis());
        if (!request) return sendAndClose(protocol::formatError(request.error().message), CloseReason::Unauthenticated,
                                          request.error().message);
        if (!haveNonce_) {
            haveNonce_ = true;
            nonce_ = request->nonce;
        }
        return onLine_(request->body);
    }
    auto reply = verifyReply(*key_, line, nonce_, receiveSeq_);
    if (!haveNonce_ || !reply) return close(CloseReason::Unauthenticated, reply ? "reply before request" : reply.error().message);
    ++receiveSeq_;
    onLine_(*reply);
}

std::string LineConnection::frame(std::string_view line) {
    if (!key_ || !key_->enabled()) return std::string(line);
    if (guard_) return haveNonce_ ? signReply(*key_, line, nonce_, sendSeq_++) : std::string(line);
    uint64_t nonce = randomNonce();
    if (!haveNonce_) {
        haveNonce_ = true;
        nonce_ = nonce;
    }
    return signRequest(*key_, line, unixMillis(), nonce);
}

void LineConnection::start(OnLine onLine, OnClose onClose) {
    onLine_ = std::move(onLine);
    onClose_ = std::move(onClose);
    readMore();
}

void LineConnection::readMore() {
    auto self = shared_from_this();
    socket_.async_read_some(boost::asio::buffer(buffer_), [self](boost::system::error_code ec, size_t n) {
        if (!self->open_) return;
        if (ec) {
            if (ec == boost::asio::error::eof) self->close(CloseReason::PeerClosed);
            else self->close(CloseReason::IoError, ec.message());
            return;
        }
        self->pending_.append(self->buffer_, n);
        size_t start = 0, newline;
        while (self->open_ && !self->closing_ && (newline = self->pending_.find('\n', start)) != std::string::npos) {
            std::string_view line(self->pending_.data() + start, newline - start);
            if (line.size() > self->maxLine_) {
                self->close(CloseReason::LineTooLong);
                return;
            }
            self->deliver(line);
            start = newline + 1;
        }
        self->pending_.erase(0, start);
        if (self->pending_.size() > self->maxLine_) {
            self->close(CloseReason::LineTooLong);
            return;
        }
        if (self->open_ && !self->closing_) self->readMore();
    });
}

void LineConnection::send(std::string line) {
    if (!open_) return;
    // A subscriber that stopped reading (or whose host died) must not make us buffer
    // live lists forever.
    if (queue_.size() >= kMaxQueuedLines) {
        close(CloseReason::NotReading);
        return;
    }
    line = frame(line) + '\n';
    queue_.push_back(std::move(line));
    if (!writing_) writeNext();
}

void LineConnection::sendAndClose(std::string line, CloseReason reason, const std::string& detail) {
    if (!open_ || closing_) return;
    closing_ = true;  // (onLine_ may be the caller: it stays, the read loop stops)
    closeReason_ = reason;
    closeDetail_ = detail;
    line = (reason == CloseReason::Unauthenticated ? line : frame(line)) + '\n';
    queue_.push_back(std::move(line));
    if (!writing_) writeNext();
}

void LineConnection::writeNext() {
    if (queue_.empty() || !open_) {
        writing_ = false;
        if (closing_ && open_) close(closeReason_, closeDetail_);
        return;
    }
    writing_ = true;
    auto self = shared_from_this();
    boost::asio::async_write(socket_, boost::asio::buffer(queue_.front()), [self](boost::system::error_code ec, size_t) {
        if (ec) {
            self->close(CloseReason::IoError, ec.message());
            return;
        }
        self->queue_.pop_front();
        self->writeNext();
    });
}

void LineConnection::close(CloseReason reason, const std::string& detail) {
    if (!open_) return;
    open_ = false;
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    if (idleTimer_) idleTimer_->cancel();
    ticket_.reset();
    auto onClose = std::move(onClose_);
    if (onClose) onClose(reason, detail.empty() ? closeReasonName(reason) : detail);
}

namespace {

struct Call : std::enable_shared_from_this<Call> {
    Call(boost::asio::io_context& io, std::function<void(Expected<std::string>)> done)
        : socket(io), timer(io), done(std::move(done)) {}
    tcp::socket socket;
    boost::asio::steady_timer timer;
    std::function<void(Expected<std::string>)> done;
    std::string request;
    std::string reply;
    char buffer[4096];
    std::string target;
    LineKeyPtr key;
    uint64_t nonce = 0;

    void finish(Expected<std::string> result) {
        if (!done) return;
        auto callback = std::move(done);
        done = nullptr;
        boost::system::error_code ignored;
        timer.cancel();
        socket.close(ignored);
        callback(std::move(result));
    }
    void read() {
        auto self = shared_from_this();
        socket.async_read_some(boost::asio::buffer(buffer), [self](boost::system::error_code ec, size_t n) {
            if (!self->done) return;
            if (ec) return self->finish(makeError(self->target + ": " + ec.message()));
            self->reply.append(self->buffer, n);
            if (auto newline = self->reply.find('\n'); newline != std::string::npos) {
                std::string_view line(self->reply.data(), newline);
                if (!self->key || !self->key->enabled()) return self->finish(std::string(line));
                auto verified = verifyReply(*self->key, line, self->nonce, 0);
                if (!verified) {
                    // An unsigned refusal ("ERR unauthenticated ...") says why; anything
                    // else unsigned is not the registry's word.
                    std::string why = line.rfind("ERR ", 0) == 0 ? std::string(line.substr(4)) : verified.error().message;
                    return self->finish(makeError(self->target + ": " + why));
                }
                return self->finish(std::string(*verified));
            }
            if (self->reply.size() > 64 * 1024 * 1024) return self->finish(makeError(self->target + ": reply too long"));
            self->read();
        });
    }
};

}  // namespace

void callOnce(boost::asio::io_context& io, Ipv4Endpoint to, std::string line, std::chrono::milliseconds timeout,
              std::function<void(Expected<std::string>)> done, std::optional<Ipv4Address> bindTo,
              const LineKeyPtr& key) {
    auto call = std::make_shared<Call>(io, std::move(done));
    call->key = key;
    call->nonce = randomNonce();
    call->request = (key ? signRequest(*key, line, unixMillis(), call->nonce) : line) + "\n";
    call->target = to.toString();
    call->timer.expires_after(timeout);
    call->timer.async_wait([call](boost::system::error_code ec) {
        if (!ec) call->finish(makeError(call->target + ": no answer in time"));
    });
    boost::system::error_code ec;
    call->socket.open(tcp::v4(), ec);
    if (!ec && bindTo) call->socket.bind({boost::asio::ip::address_v4(bindTo->value), 0}, ec);
    if (ec) {
        boost::asio::post(io, [call, ec] { call->finish(makeError(call->target + ": " + ec.message())); });
        return;
    }
    call->socket.async_connect(toAsio(to), [call](boost::system::error_code ec) {
        if (!call->done) return;
        if (ec) return call->finish(makeError(call->target + ": " + ec.message()));
        boost::asio::async_write(call->socket, boost::asio::buffer(call->request),
                                 [call](boost::system::error_code ec, size_t) {
                                     if (!call->done) return;
                                     if (ec) return call->finish(makeError(call->target + ": " + ec.message()));
                                     call->read();
                                 });
    });
}

}  // namespace ringgate::registry
