#include "control/httplink/service_proxy.h"

#include <netinet/in.h>
#include <pthread.h>

#include "common/log.h"

namespace ringgate::httplink {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

uint64_t load(const std::atomic<uint64_t>& counter) { return counter.load(std::memory_order_relaxed); }

// Each counter once, with the name every view shows it under.
report::Counts countsOf(const HttpCounters& c) {
    return {{"connections", load(c.connections)},
            {"connections_refused", load(c.connectionsRefused)},
            {"connections_open", load(c.connectionsOpen), true},
            {"requests", load(c.requests)},
            {"bad_requests", load(c.badRequests)},
            {"bad_gateway", load(c.badGateway)},
            {"client_timeouts", load(c.clientTimeouts)},
            {"bytes_to_clients", load(c.bytesToClients)},
            {"resumable", load(c.resumable)},
            {"resumes_spliced", load(c.resumesSpliced)},
            {"transfers_rescued", load(c.transfersRescued)}};
}

// A breakdown by an enum's values (from `first`: NotResumable::No is no reason).
template <typename Enum, size_t N>
report::Counts breakdown(const std::array<std::atomic<uint64_t>, N>& counters, size_t first = 0) {
    report::Counts out;
    for (size_t i = first; i < N; ++i) out.push_back({std::string(toString(static_cast<Enum>(i))), load(counters[i])});
    return out;
}

}  // namespace

ServiceProxy::ServiceProxy(const config::Service& service, const config::BackendPool& pool)
    : service_(service), pool_(pool.name), acceptor_(io_), chooser_(service.http.backendHoldMs) {
    chooser_.setLive(pool.backends);
}

ServiceProxy::~ServiceProxy() { stop(); }

Expected<void> ServiceProxy::start() {
    std::string where = "service " + service_.name + ": listen on " + service_.vip.toString() + ":" +
                        std::to_string(service_.port);
    boost::system::error_code ec;
    tcp::endpoint endpoint(asio::ip::address_v4(service_.vip.value), service_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) {
        // The VIP is on this host only while this node owns it (or, on the fast path, on
        // every host); binding must not depend on which.
        int on = 1;
        if (::setsockopt(acceptor_.native_handle(), IPPROTO_IP, IP_FREEBIND, &on, sizeof on) != 0)
            ec.assign(errno, boost::system::system_category());
    }
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return makeError(where + ": " + ec.message());
    asio::co_spawn(io_, acceptLoop(), asio::detached);
    for (uint32_t i = 0; i < service_.http.threads; ++i)
        threads_.emplace_back([this] {
            // Named for top -H and the benchmark, which counts the proxy's own CPU time.
            ::pthread_setname_np(::pthread_self(), "rg-http");
            io_.run();
        });
    RG_INFO(Http, "%s: HTTP proxy to pool %s (resume %s, %u thread%s)", where.c_str(), pool_.c_str(),
            service_.http.resume ? "on" : "off", service_.http.threads, service_.http.threads == 1 ? "" : "s");
    return {};
}

void ServiceProxy::stop() {
    io_.stop();
    for (std::thread& thread : threads_)
        if (thread.joinable()) thread.join();
    threads_.clear();
}

asio::awaitable<void> ServiceProxy::acceptLoop() {
    for (;;) {
        boost::system::error_code ec;
        // Each connection on its own strand: with several threads, its coroutine, its
        // sockets and their deadline handlers never run at once.
        tcp::socket socket = co_await acceptor_.async_accept(asio::make_strand(io_),
                                                              asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) {
            // Out of descriptors or buffers: wait a moment rather than spin on accept.
            RG_WARN(Http, "service %s: accept: %s", service_.name.c_str(), ec.message().c_str());
            asio::steady_timer pause(io_, std::chrono::milliseconds(50));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        if (counters_.connectionsOpen.load(std::memory_order_relaxed) >= service_.http.maxConnections) {
            bump(counters_.connectionsRefused);
            socket.close(ec);
            continue;
        }
        bump(counters_.connections);
        auto strand = socket.get_executor();
        asio::co_spawn(strand, serveClient(*this, std::move(socket)), asio::detached);
    }
}

void ServiceProxy::setLive(const std::vector<config::Backend>& live) {
    std::lock_guard lock(mutex_);
    chooser_.setLive(live);
}

std::optional<Ipv4Endpoint> ServiceProxy::choose(uint32_t flowHash, const std::set<Ipv4Endpoint>& exclude) {
    std::lock_guard lock(mutex_);
    return chooser_.choose(flowHash, exclude, Clock::now());
}

void ServiceProxy::reportFailure(const Ipv4Endpoint& backend, Failure failure) {
    bump(counters_.backendFailures[static_cast<size_t>(failure)]);
    std::lock_guard lock(mutex_);
    chooser_.reportFailure(backend, Clock::now());
}

HttpServiceReport ServiceProxy::report() const {
    HttpServiceReport report;
    report.name = service_.name;
    report.listen = {service_.vip, service_.port};
    report.pool = pool_;
    report.resume = service_.http.resume;
    report.counts = countsOf(counters_);
    report.notResumable = breakdown<NotResumable>(counters_.notResumable, 1);
    report.backendFailures = breakdown<Failure>(counters_.backendFailures);
    report.aborted = breakdown<AbortReason>(counters_.aborted);
    std::lock_guard lock(mutex_);
    report.backends = chooser_.health(Clock::now());
    return report;
}

}  // namespace ringgate::httplink
