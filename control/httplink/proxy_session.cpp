// The I/O shell of one client connection (Boost.Beast over coroutines on the service's
// threads). It moves bytes and asks resume_core.* what to do; every wait has a deadline
// (beast::tcp_stream expiries) and every buffer a bound from the service's settings.
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <vector>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/log.h"
#include "control/httplink/resume_core.h"
#include "control/httplink/service_proxy.h"
#include "dataplane/flow_hash.h"

namespace ringgate::httplink {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;
using std::chrono::milliseconds;

namespace {

constexpr auto kAwait = asio::use_awaitable;

using Request = http::request<http::string_body>;
using ReplyParser = http::response_parser<http::buffer_body>;

// Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection, not the message,
// so neither side's values cross the proxy.
constexpr http::field kHopByHop[] = {http::field::connection, http::field::keep_alive,
                                     http::field::proxy_connection, http::field::te,
                                     http::field::trailer, http::field::transfer_encoding,
                                     http::field::upgrade, http::field::proxy_authenticate,
                                     http::field::proxy_authorization};

std::string_view text(beast::string_view view) { return {view.data(), view.size()}; }

template <typename Fields>
void stripHopByHop(Fields& fields) {
    // Fields named in Connection are hop-by-hop too.
    std::string named(text(fields[http::field::connection]));
    for (auto name : http::token_list(named)) fields.erase(name);
    for (http::field f : kHopByHop) fields.erase(f);
}

ResponseFacts factsOf(const http::response_header<>& head, bool chunked) {
    ResponseFacts facts;
    facts.status = head.result_int();
    facts.chunked = chunked;
    if (auto it = head.find(http::field::content_length); it != head.end())
        facts.contentLength = parseContentLength(text(it->value()));
    if (auto it = head.find(http::field::content_range); it != head.end())
        facts.contentRange = parseContentRange(text(it->value()));
    if (auto it = head.find(http::field::content_type); it != head.end())
        facts.multipart = text(it->value()).starts_with("multipart/byteranges");
    facts.validator = validatorOf(text(head[http::field::etag]), text(head[http::field::last_modified]));
    return facts;
}

Failure failureOf(const error_code& ec) {
    if (ec == beast::error::timeout) return Failure::Stall;
    if (ec == http::error::partial_message || ec == http::error::end_of_stream || ec == asio::error::eof)
        return Failure::EarlyEof;
    return Failure::Reset;
}

// A connection to one back end and the reply being read from it.
struct Upstream {
    Ipv4Endpoint backend;
    std::unique_ptr<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
    std::unique_ptr<ReplyParser> parser;
    // A body framed by Content-Length is read straight from the socket into the session's
    // body buffer (one recv per buffer_bytes, no copy); these are its bytes still to come.
    // Unset: the parser reads the body (chunked or close-delimited replies).
    std::optional<uint64_t> rawLeft;
};

class Session {
public:
    Session(ServiceProxy& service, tcp::socket socket)
        : service_(service),
          settings_(service.settings()),
          counters_(service.counters()),
          client_(std::move(socket)),
          body_(settings_.bufferBytes) {
        error_code ec;
        // Reads and writes of the body are tried at once and wait only when the socket
        // is not ready (the async operations work alike in this mode).
        client_.socket().non_blocking(true, ec);
        auto peer = client_.socket().remote_endpoint(ec);
        if (!ec) {
            clientAddress_ = peer.address().to_v4().to_uint();
            clientPort_ = peer.port();
        }
    }

    asio::awaitable<void> run() {
        bump(counters_.connectionsOpen);
        struct Gauge {
            HttpCounters& c;
            ~Gauge() { c.connectionsOpen.fetch_sub(1, std::memory_order_relaxed); }
        } gauge{counters_};
        bool first = true;
        for (;;) {
            Request request;
            ReadOutcome read = co_await readRequest(request, first);
            if (read != ReadOutcome::Ok) break;
            first = false;
            bump(counters_.requests);
            bool keepAlive = request.keep_alive();
            bool reusable = co_await proxy(request, keepAlive);
            if (!reusable || !keepAlive) break;
        }
        error_code ec;
        client_.socket().shutdown(tcp::socket::shutdown_send, ec);
        client_.close();
    }

private:
    enum class ReadOutcome { Ok, Closed };

    asio::awaitable<ReadOutcome> readRequest(Request& request, bool first) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(settings_.maxHeaderBytes);
        parser.body_limit(settings_.maxRequestBodyBytes);
        error_code ec;
        // A keep-alive connection may wait idle_timeout_ms for its next request; the first
        // request's head must come within header_timeout_ms (slow-loris bound).
        client_.expires_after(milliseconds(first ? settings_.headerTimeoutMs : settings_.idleTimeoutMs));
        co_await http::async_read_header(client_, clientBuffer_, parser, asio::redirect_error(kAwait, ec));
        if (ec == http::error::end_of_stream || ec == asio::error::eof ||
            (ec == beast::error::timeout && !first && clientBuffer_.size() == 0))
            co_return ReadOutcome::Closed;  // a client's normal goodbye
        if (ec) co_return co_await refuse(ec);
        if (parser.get()[http::field::expect] == "100-continue" && !parser.is_done()) {
            http::response<http::empty_body> go{http::status::continue_, parser.get().version()};
            co_await http::async_write(client_, go, asio::redirect_error(kAwait, ec));
            if (ec) co_return ReadOutcome::Closed;
        }
        client_.expires_after(milliseconds(settings_.headerTimeoutMs));
        co_await http::async_read(client_, clientBuffer_, parser, asio::redirect_error(kAwait, ec));
        if (ec) co_return co_await refuse(ec);
        request = parser.release();
        co_return ReadOutcome::Ok;
    }

    // A request that cannot be read: answer with the status that says why when the
    // client can still hear it, then close.
    asio::awaitable<ReadOutcome> refuse(const error_code& why) {
        bump(counters_.badRequests);
        http::status status = http::status::bad_request;
        if (why == http::error::header_limit) status = http::status::request_header_fields_too_large;
        if (why == http::error::body_limit) status = http::status::payload_too_large;
        if (why == beast::error::timeout) {
            bump(counters_.clientTimeouts);
            status = http::status::request_timeout;
        }
        co_await sendError(status, 11);
        co_return ReadOutcome::Closed;
    }

    asio::awaitable<void> sendError(http::status status, unsigned version) {
        http::response<http::string_body> reply{status, version};
        reply.set(http::field::content_type, "text/plain");
        reply.body() = std::string(text(http::obsolete_reason(status))) + "\n";
        reply.keep_alive(false);
        reply.prepare_payload();
        error_code ec;
        client_.expires_after(milliseconds(settings_.clientWriteTimeoutMs));
        co_await http::async_write(client_, reply, asio::redirect_error(kAwait, ec));
    }

    uint32_t flowHash() const {
        const config::Service& s = service_.service();
        return dataplane::flowHash(clientAddress_, s.vip.value, clientPort_, s.port, 6);
    }

    // The request as a back end gets it: hop-by-hop fields replaced, one request per
    // connection (as nginx's proxy_pass does by default), the client named.
    Request upstreamRequest(const Request& request) const {
        Request upstream = request;
        stripHopByHop(upstream);
        upstream.erase(http::field::expect);
        upstream.version(11);
        upstream.set(http::field::connection, "close");
        std::string forwarded = asio::ip::address_v4(clientAddress_).to_string();
        if (auto it = request.find("X-Forwarded-For"); it != request.end())
            forwarded = std::string(text(it->value())) + ", " + forwarded;
        upstream.set("X-Forwarded-For", forwarded);
        if (!upstream.body().empty() || request.count(http::field::content_length)) upstream.prepare_payload();
        return upstream;
    }

    // Connects to `backend`, sends `request` and reads the reply's head. An error names
    // how the back end failed.
    asio::awaitable<std::optional<Failure>> open(Upstream& up, const Ipv4Endpoint& backend, const Request& request,
                                                 bool head) {
        up.backend = backend;
        up.stream = std::make_unique<beast::tcp_stream>(client_.get_executor());
        up.buffer.clear();
        up.parser = std::make_unique<ReplyParser>();
        up.parser->header_limit(settings_.maxHeaderBytes);
        // Downloads of any size (memory stays one buffer). Not boost::none: Beast 1.74
        // compares the Content-Length with the optional and takes none as exceeded.
        up.parser->body_limit(std::numeric_limits<std::uint64_t>::max());
        up.parser->skip(head);               // a reply to HEAD has no body whatever it says
        error_code ec;
        up.stream->expires_after(milliseconds(settings_.connectTimeoutMs));
        co_await up.stream->async_connect(tcp::endpoint(asio::ip::address_v4(backend.address.value), backend.port),
                                          asio::redirect_error(kAwait, ec));
        if (ec) co_return Failure::Connect;
        up.stream->socket().non_blocking(true, ec);
        up.stream->expires_after(milliseconds(settings_.headerTimeoutMs));
        co_await http::async_write(*up.stream, request, asio::redirect_error(kAwait, ec));
        if (!ec) co_await http::async_read_header(*up.stream, up.buffer, *up.parser, asio::redirect_error(kAwait, ec));
        if (ec) {
            RG_DEBUG(Http, "service %s: back end %s: %s", service_.service().name.c_str(), backend.toString().c_str(),
                     ec.message().c_str());
            co_return failureOf(ec);
        }
        up.rawLeft.reset();
        if (!up.parser->is_done() && !up.parser->chunked() && up.parser->content_length())
            up.rawLeft = *up.parser->content_length();
        else if (!up.parser->is_done())
            // Beast reads what the buffer has room for (at least 512 bytes), then copies
            // the body out of it: give it room for a whole body buffer per read.
            up.buffer.reserve(settings_.bufferBytes);
        co_return std::nullopt;
    }

    // The next piece of the body: bytes the head's read already took, else one read.
    // Empty with `done` when the reply is complete; an error when the back end failed.
    asio::awaitable<asio::const_buffer> readBody(Upstream& up, bool& done, error_code& ec) {
        ec = {};  // not the last piece's: the bytes the head's read took need no read
        if (up.rawLeft) {
            asio::const_buffer piece;
            if (up.buffer.size() > 0) {
                // Read with the head; written to the client from where it lies.
                piece = asio::buffer(up.buffer.data(), std::min<uint64_t>(up.buffer.size(), *up.rawLeft));
                up.buffer.consume(piece.size());
            } else {
                asio::mutable_buffer into(body_.data(), std::min<uint64_t>(body_.size(), *up.rawLeft));
                // Bytes already queued are taken at once; only an empty socket costs a wait
                // (and a deadline): as nginx does, no event loop round per read.
                size_t n = up.stream->socket().read_some(into, ec);
                if (ec == asio::error::would_block) {
                    ec = {};
                    unbroken_ = 0;
                    up.stream->expires_after(milliseconds(settings_.stallMs));
                    n = co_await up.stream->async_read_some(into, asio::redirect_error(kAwait, ec));
                }
                piece = asio::buffer(body_.data(), n);
            }
            *up.rawLeft -= piece.size();
            done = *up.rawLeft == 0;
            co_return piece;
        }
        auto& body = up.parser->get().body();
        body.data = body_.data();
        body.size = body_.size();
        up.stream->expires_after(milliseconds(settings_.stallMs));
        co_await http::async_read_some(*up.stream, up.buffer, *up.parser, asio::redirect_error(kAwait, ec));
        if (ec == http::error::need_buffer) ec = {};
        done = !ec && up.parser->is_done();
        co_return asio::buffer(body_.data(), body_.size() - body.size);
    }

    // Writes all of `data`: what the socket takes now goes without a wait, the rest waits
    // for room. A client that takes nothing for client_write_timeout_ms is dropped; one
    // that reads slowly but keeps reading is not.
    asio::awaitable<bool> writeAll(asio::const_buffer data) {
        while (data.size() > 0) {
            error_code ec;
            size_t sent = client_.socket().write_some(data, ec);
            if (ec == asio::error::would_block) {
                ec = {};
                unbroken_ = 0;
                client_.expires_after(milliseconds(settings_.clientWriteTimeoutMs));
                sent = co_await client_.async_write_some(data, asio::redirect_error(kAwait, ec));
            }
            if (ec) {
                if (ec == beast::error::timeout) bump(counters_.clientTimeouts);
                co_return false;
            }
            data += sent;
        }
        co_return true;
    }

    // One piece of the body, as a chunk when the client's framing is chunked.
    asio::awaitable<bool> writeToClient(asio::const_buffer data, bool chunked) {
        if (chunked) {
            char line[24];
            int size = std::snprintf(line, sizeof line, "%zx\r\n", data.size());
            if (!(co_await writeAll(asio::buffer(line, static_cast<size_t>(size))))) co_return false;
        }
        if (!(co_await writeAll(data))) co_return false;
        if (chunked && !(co_await writeAll(asio::buffer("\r\n", 2)))) co_return false;
        co_return co_await yieldNow();
    }

    // A body that never waits (both sockets always ready) must still let the thread's other
    // connections and their deadlines run: after kUnbrokenPieces pieces without a wait,
    // go round the event loop once.
    asio::awaitable<bool> yieldNow() {
        if (++unbroken_ >= kUnbrokenPieces) {
            unbroken_ = 0;
            co_await asio::post(client_.get_executor(), kAwait);
        }
        co_return true;
    }

    void abortClient(AbortReason reason) {
        bump(counters_.aborted[static_cast<size_t>(reason)]);
        RG_DEBUG(Http, "service %s: client %s: transfer ended short (%s)", service_.service().name.c_str(),
                 asio::ip::address_v4(clientAddress_).to_string().c_str(), std::string(toString(reason)).c_str());
        // A reset, not a FIN: the client must see an error, also when the body had no
        // length (a FIN would end a close-delimited body as if it were complete).
        error_code ec;
        client_.socket().set_option(asio::socket_base::linger(true, 0), ec);
        client_.close();
    }

    // Asks another back end for the rest after `failed` failed; true when the body may
    // go on from `up` (now the new back end).
    asio::awaitable<bool> resume(Transfer& transfer, Upstream& up, const Request& request, Failure failure,
                                 std::set<Ipv4Endpoint>& excluded) {
        service_.reportFailure(up.backend, failure);
        excluded.insert(up.backend);
        Transfer::Decision decision = transfer.onFailure();
        for (;;) {
            if (!decision.resume) {
                abortClient(decision.abort);
                co_return false;
            }
            auto backend = service_.choose(flowHash(), excluded);
            if (!backend) {
                abortClient(AbortReason::NoBackend);
                co_return false;
            }
            Request partial = upstreamRequest(request);
            partial.set(http::field::range, decision.resume->range);
            partial.set(http::field::if_range, decision.resume->ifRange);
            auto failed = co_await open(up, *backend, partial, false);
            if (failed) {
                service_.reportFailure(*backend, *failed);
                excluded.insert(*backend);
                decision = transfer.onResumeFailure();
                continue;
            }
            const auto& head = up.parser->get().base();
            if (auto wrong = transfer.onResumeHead(factsOf(head, up.parser->chunked()))) {
                // A healthy back end with other content (or one that ignores Range): not a
                // failure of the back end, but nothing of it may reach this client.
                abortClient(*wrong);
                co_return false;
            }
            bump(counters_.resumesSpliced);
            RG_DEBUG(Http, "service %s: resumed at byte %llu on %s", service_.service().name.c_str(),
                     static_cast<unsigned long long>(decision.resume->offset), backend->toString().c_str());
            co_return true;
        }
    }

    // Proxies one request. Returns whether the client connection can take another.
    asio::awaitable<bool> proxy(const Request& request, bool keepAlive) {
        bool head = request.method() == http::verb::head;
        // GET and HEAD may go to another back end if the first fails before its reply
        // head; other methods only if the connection could not be opened (nothing sent).
        bool idempotent = head || request.method() == http::verb::get;
        Transfer transfer(settings_.resume, settings_.maxResumes,
                          {request.method() == http::verb::get, request.count(http::field::range) > 0,
                           request.count(http::field::if_range) > 0});
        Request upstreamReq = upstreamRequest(request);
        std::set<Ipv4Endpoint> excluded;
        Upstream up;
        for (;;) {
            auto backend = service_.choose(flowHash(), excluded);
            if (!backend) {
                bump(counters_.badGateway);
                co_await sendError(http::status::bad_gateway, request.version());
                co_return false;
            }
            auto failed = co_await open(up, *backend, upstreamReq, head);
            if (!failed) break;
            service_.reportFailure(*backend, *failed);
            excluded.insert(*backend);
            if (*failed != Failure::Connect && !idempotent) {
                bump(counters_.badGateway);
                co_await sendError(http::status::bad_gateway, request.version());
                co_return false;
            }
        }

        auto& reply = up.parser->get();
        bool chunkedFromBackend = up.parser->chunked();
        NotResumable why = transfer.onHead(factsOf(reply.base(), chunkedFromBackend));
        bump(why == NotResumable::No ? counters_.resumable : counters_.notResumable[static_cast<size_t>(why)]);

        // The client's framing: the back end's length when it gave one (and not chunked);
        // otherwise chunked to an HTTP/1.1 client, close-delimited to an HTTP/1.0 one.
        unsigned status = reply.result_int();
        bool bodyless = head || status / 100 == 1 || status == 204 || status == 304;
        bool lengthKnown = !chunkedFromBackend && static_cast<bool>(up.parser->content_length());
        bool chunkedToClient = !bodyless && !lengthKnown && request.version() >= 11;
        bool reusable = keepAlive && (bodyless || lengthKnown || chunkedToClient);

        http::response<http::empty_body> out{reply.result(), request.version()};
        for (const auto& field : reply.base()) out.base().insert(field.name_string(), field.value());
        stripHopByHop(out.base());
        out.reason(reply.reason());
        if (chunkedFromBackend) out.erase(http::field::content_length);
        if (chunkedToClient) out.chunked(true);
        out.keep_alive(reusable);
        error_code ec;
        http::response_serializer<http::empty_body> serializer{out};
        client_.expires_after(milliseconds(settings_.clientWriteTimeoutMs));
        co_await http::async_write_header(client_, serializer, asio::redirect_error(kAwait, ec));
        if (ec) co_return false;
        if (bodyless || up.parser->is_done()) {
            if (chunkedToClient && !(co_await writeLastChunk())) co_return false;
            co_return reusable;
        }

        for (;;) {
            bool done = false;
            asio::const_buffer piece = co_await readBody(up, done, ec);
            size_t n = piece.size();
            if (n > 0 && transfer.resumable() && n > transfer.remaining()) {
                // Chunked 206s have no length to check up front: never pass the window's end.
                abortClient(AbortReason::WrongRange);
                co_return false;
            }
            if (n > 0) {
                if (!(co_await writeToClient(piece, chunkedToClient))) co_return false;
                transfer.onBody(n);
                bump(counters_.bytesToClients, n);
            }
            if (done) break;
            if (!ec) continue;
            if (!(co_await resume(transfer, up, request, failureOf(ec), excluded))) co_return false;
        }
        if (transfer.resumes() > 0) bump(counters_.transfersRescued);
        if (chunkedToClient && !(co_await writeLastChunk())) co_return false;
        co_return reusable;
    }

    asio::awaitable<bool> writeLastChunk() {
        error_code ec;
        client_.expires_after(milliseconds(settings_.clientWriteTimeoutMs));
        co_await asio::async_write(client_, http::make_chunk_last(), asio::redirect_error(kAwait, ec));
        co_return !ec;
    }

    ServiceProxy& service_;
    const config::HttpProxy& settings_;
    HttpCounters& counters_;
    beast::tcp_stream client_;
    beast::flat_buffer clientBuffer_;
    std::vector<char> body_;
    static constexpr unsigned kUnbrokenPieces = 16;
    unsigned unbroken_ = 0;  // body pieces moved since the last wait
    uint32_t clientAddress_ = 0;
    uint16_t clientPort_ = 0;
};

}  // namespace

asio::awaitable<void> serveClient(ServiceProxy& service, tcp::socket socket) {
    Session session(service, std::move(socket));
    co_await session.run();
}

}  // namespace ringgate::httplink
