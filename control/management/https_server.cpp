#include "control/management/https_server.h"

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <optional>
#include <set>

#include "common/accept_loop.h"
#include "common/log.h"
#include "control/management/console_assets.h"

namespace ringgate::management {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct HttpsServer::Impl {
    // Declared first, destroyed last: sessions still queued in `io` hold streams of it.
    ssl::context tls{ssl::context::tls_server};
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    std::optional<AcceptLoop<tcp>> accepts;
    std::optional<RemoteApi> api;
    // Sessions whose command is on the control thread: held here (not by the control
    // thread's queue, which outlives this io_context) until their answer is back.
    std::set<std::shared_ptr<void>> waiting;
    asio::io_context& control;
    const CommandTable& commands;

    Impl(asio::io_context& control_, const CommandTable& commands_) : control(control_), commands(commands_) {}
};

namespace {

// One client connection: detect TLS, handshake, then requests until the client or a
// timeout ends it. Lives on the server's thread; only the command crosses to control.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, HttpsServer::Impl& server, std::shared_ptr<void> ticket)
        : stream_(beast::tcp_stream(std::move(socket)), server.tls), server_(server), ticket_(std::move(ticket)) {
        boost::system::error_code ec;
        auto endpoint = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
        peer_ = ec ? "?" : endpoint.address().to_string();
    }

    void start() {
        beast::get_lowest_layer(stream_).expires_after(HttpsServer::kHandshakeTimeout);
        beast::async_detect_ssl(beast::get_lowest_layer(stream_), buffer_,
                                [self = shared_from_this()](beast::error_code ec, bool tls) {
                                    if (ec) return;
                                    if (tls) self->handshake();
                                    else self->refusePlain();
                                });
    }

private:
    void refusePlain() {
        RG_INFO(Management, "remote: plain HTTP from %s refused", peer_.c_str());
        plain_ = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 48\r\n\r\n"
                 "this port speaks HTTPS only: use https:// URLs\n\n";
        asio::async_write(beast::get_lowest_layer(stream_), asio::buffer(plain_),
                          [self = shared_from_this()](beast::error_code, size_t) {
                              beast::error_code ignored;
                              beast::get_lowest_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
                              beast::get_lowest_layer(self->stream_).close();
                          });
    }

    void handshake() {
        stream_.async_handshake(ssl::stream_base::server, buffer_.data(),
                                [self = shared_from_this()](beast::error_code ec, size_t used) {
                                    if (ec) {
                                        RG_DEBUG(Management, "remote: TLS handshake with %s failed: %s",
                                                 self->peer_.c_str(), ec.message().c_str());
                                        return;
                                    }
                                    self->buffer_.consume(used);
                                    self->read(HttpsServer::kHandshakeTimeout);
                                });
    }

    void read(std::chrono::steady_clock::duration timeout) {
        parser_.emplace();
        parser_->header_limit(HttpsServer::kMaxHeaderBytes);
        parser_->body_limit(HttpsServer::kMaxBodyBytes);
        beast::get_lowest_layer(stream_).expires_after(timeout);
        http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
            self->onRequest(ec);
        });
    }

    void onRequest(beast::error_code ec) {
        if (ec == http::error::end_of_stream) return close();
        if (ec == http::error::header_limit) return send(httpError(431, "request head too large"), false);
        if (ec == http::error::body_limit) return send(httpError(413, "request body too large"), false);
        if (ec) return;  // timeout, reset, bad TLS: the connection ends
        const auto& message = parser_->get();
        HttpRequest request{std::string(message.method_string()),
                            std::string(message.target()),
                            std::string(message[http::field::authorization]),
                            std::string(message[http::field::cookie]),
                            std::string(message[http::field::content_type]),
                            message.body(),
                            peer_};
        keepAlive_ = message.keep_alive();
        ApiResult result = server_.api->handle(request, RemoteApi::Clock::now());
        if (auto* response = std::get_if<HttpResponse>(&result)) return send(std::move(*response), keepAlive_);
        // The command runs on the control thread; the answer comes back to this one.
        server_.waiting.insert(shared_from_this());
        asio::post(server_.control, [weak = weak_from_this(), call = std::get<CommandCall>(std::move(result)),
                                     &commands = server_.commands]() mutable {
            Reply reply = commands.dispatch(call.request);
            // Moved, not copied, into the handler: the session is never released (and so
            // never destroyed) on the control thread.
            if (auto self = weak.lock()) {
                auto executor = self->stream_.get_executor();
                asio::post(executor, [self = std::move(self), call = std::move(call), reply = std::move(reply)] {
                    self->server_.waiting.erase(self);
                    self->send(RemoteApi::respond(call, reply), self->keepAlive_);
                });
            }
        });
    }

    void send(HttpResponse response, bool keepAlive) {
        response_ = {};
        response_.version(11);
        response_.result(static_cast<http::status>(response.status));
        response_.set(http::field::server, "ringgated");
        response_.set(http::field::content_type, response.contentType);
        response_.set(http::field::cache_control, "no-store");
        response_.set("Strict-Transport-Security", "max-age=31536000");
        response_.set("X-Content-Type-Options", "nosniff");
        response_.set("X-Frame-Options", "DENY");
        response_.set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
        for (auto& [name, value] : response.headers) response_.insert(name, value);
        response_.body() = std::move(response.body);
        response_.keep_alive(keepAlive);
        response_.prepare_payload();
        http::async_write(stream_, response_, [self = shared_from_this(), keepAlive](beast::error_code ec, size_t) {
            if (ec) return;
            if (keepAlive) self->read(HttpsServer::kIdleTimeout);
            else self->close();
        });
    }

    void close() {
        beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
        stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
            beast::get_lowest_layer(self->stream_).close();
        });
    }

    beast::ssl_stream<beast::tcp_stream> stream_;
    HttpsServer::Impl& server_;
    std::shared_ptr<void> ticket_;
    std::string peer_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> response_;
    std::string plain_;
    bool keepAlive_ = false;
};

}  // namespace

HttpsServer::HttpsServer(asio::io_context& control, const CommandTable& commands)
    : control_(control), commands_(commands) {}

HttpsServer::~HttpsServer() { stop(); }

Expected<void> HttpsServer::start(const config::Management& settings) {
    if (!settings.listen) return {};
    impl_ = std::make_unique<Impl>(control_, commands_);
    Impl& impl = *impl_;
    boost::system::error_code ec;
    impl.tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    impl.tls.use_certificate_chain_file(settings.certificate, ec);
    if (ec) return makeError("management.certificate: cannot load " + settings.certificate + ": " + ec.message());
    impl.tls.use_private_key_file(settings.privateKey, ssl::context::pem, ec);
    if (ec) return makeError("management.private_key: cannot load " + settings.privateKey + ": " + ec.message());
    if (::SSL_CTX_check_private_key(impl.tls.native_handle()) != 1)
        return makeError("management.private_key: " + settings.privateKey + " does not match " + settings.certificate);

    impl.api.emplace(settings.users, [&commands = commands_](const std::string& name) { return commands.accessOf(name); },
                     consoleAssets());
    tcp::endpoint endpoint(asio::ip::make_address_v4(settings.listen->address.toString()), settings.listen->port);
    impl.acceptor.open(endpoint.protocol(), ec);
    if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) impl.acceptor.bind(endpoint, ec);
    if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return makeError("management.listen " + settings.listen->toString() + ": " + ec.message());
    impl.accepts.emplace(impl.acceptor, settings.maxConnections, std::chrono::milliseconds(200),
                         [&impl](tcp::socket socket, std::shared_ptr<void> ticket) {
                             std::make_shared<Session>(std::move(socket), impl, std::move(ticket))->start();
                         });
    impl.accepts->start();
    thread_ = std::thread([&impl] { impl.io.run(); });
    RG_INFO(Management, "remote management on https://%s (%zu users)", settings.listen->toString().c_str(),
            settings.users.size());
    return {};
}

void HttpsServer::stop() {
    if (!impl_) return;
    impl_->io.stop();
    if (thread_.joinable()) thread_.join();
    impl_.reset();
}

}  // namespace ringgate::management
