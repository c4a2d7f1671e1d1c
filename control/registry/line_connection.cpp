#include "control/registry/line_connection.h"

namespace ringgate::registry {

tcp::endpoint toAsio(Ipv4Endpoint endpoint) {
    return {boost::asio::ip::address_v4(endpoint.address.value), endpoint.port};
}

Ipv4Address fromAsio(const boost::asio::ip::address& address) {
    return address.is_v4() ? Ipv4Address{address.to_v4().to_uint()} : Ipv4Address{};
}

LineConnection::LineConnection(tcp::socket socket, size_t maxLine) : socket_(std::move(socket)), maxLine_(maxLine) {
    boost::system::error_code ec;
    auto remote = socket_.remote_endpoint(ec);
    peer_ = ec ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
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
            self->close(ec == boost::asio::error::eof ? "peer closed" : ec.message());
            return;
        }
        self->pending_.append(self->buffer_, n);
        size_t start = 0, newline;
        while (self->open_ && !self->closing_ && (newline = self->pending_.find('\n', start)) != std::string::npos) {
            std::string_view line(self->pending_.data() + start, newline - start);
            if (line.size() > self->maxLine_) {
                self->close("line too long");
                return;
            }
            self->onLine_(line);
            start = newline + 1;
        }
        self->pending_.erase(0, start);
        if (self->pending_.size() > self->maxLine_) {
            self->close("line too long");
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
        close("peer is not reading");
        return;
    }
    line += '\n';
    queue_.push_back(std::move(line));
    if (!writing_) writeNext();
}

void LineConnection::sendAndClose(std::string line, const std::string& why) {
    if (!open_) return;
    closing_ = true;  // (onLine_ may be the caller: it stays, the read loop stops)
    closeWhy_ = why;
    line += '\n';
    queue_.push_back(std::move(line));
    if (!writing_) writeNext();
}

void LineConnection::writeNext() {
    if (queue_.empty() || !open_) {
        writing_ = false;
        if (closing_ && open_) close(closeWhy_);
        return;
    }
    writing_ = true;
    auto self = shared_from_this();
    boost::asio::async_write(socket_, boost::asio::buffer(queue_.front()), [self](boost::system::error_code ec, size_t) {
        if (ec) {
            self->close(ec.message());
            return;
        }
        self->queue_.pop_front();
        self->writeNext();
    });
}

void LineConnection::close(const std::string& why) {
    if (!open_) return;
    open_ = false;
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    auto onClose = std::move(onClose_);
    if (onClose) onClose(why);
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
            if (auto newline = self->reply.find('\n'); newline != std::string::npos)
                return self->finish(self->reply.substr(0, newline));
            if (self->reply.size() > 64 * 1024 * 1024) return self->finish(makeError(self->target + ": reply too long"));
            self->read();
        });
    }
};

}  // namespace

void callOnce(boost::asio::io_context& io, Ipv4Endpoint to, std::string line, std::chrono::milliseconds timeout,
              std::function<void(Expected<std::string>)> done, std::optional<Ipv4Address> bindTo) {
    auto call = std::make_shared<Call>(io, std::move(done));
    call->request = std::move(line) + "\n";
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
