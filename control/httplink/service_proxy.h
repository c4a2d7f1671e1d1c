// One `mode: http` service: a listener on VIP:port and the threads that run its client
// connections (never the control plane's thread: the token's timers must not wait behind
// a download). The host stack delivers the VIP's connections only on the VIP's owner
// (KernelActuator puts the VIP on the owner's host; on the fast path the XDP program
// passes VIP:port to the host on the owner only), so every node listens all the time.
#pragma once

#include "common/asio.h"

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "common/expected.h"
#include "config/config.h"
#include "control/httplink/backend_chooser.h"
#include "control/httplink/http_report.h"
#include "control/httplink/http_stats.h"

namespace ringgate::httplink {

class ServiceProxy {
public:
    ServiceProxy(const config::Service& service, const config::BackendPool& pool);
    ~ServiceProxy();
    ServiceProxy(const ServiceProxy&) = delete;
    ServiceProxy& operator=(const ServiceProxy&) = delete;

    // Binds VIP:port (IP_FREEBIND: the VIP need not be on this host yet) and starts the
    // service's threads.
    Expected<void> start();
    void stop();

    // From the control thread: the pool's live back ends changed.
    void setLive(const std::vector<config::Backend>& live);
    HttpServiceReport report() const;

    // For the connections of this service (any proxy thread).
    const config::HttpProxy& settings() const { return service_.http; }
    const config::Service& service() const { return service_; }
    std::optional<Ipv4Endpoint> choose(uint32_t flowHash, const std::set<Ipv4Endpoint>& exclude);
    void reportFailure(const Ipv4Endpoint& backend, Failure failure);
    HttpCounters& counters() { return counters_; }

private:
    boost::asio::awaitable<void> acceptLoop();

    config::Service service_;
    std::string pool_;
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::vector<std::thread> threads_;
    HttpCounters counters_;
    mutable std::mutex mutex_;  // guards chooser_ (proxy threads and the control thread)
    BackendChooser chooser_;
};

// One client connection: requests in order (keep-alive), each proxied to a back end,
// resumed on another when the first fails mid-body and the reply allows it.
boost::asio::awaitable<void> serveClient(ServiceProxy& service, boost::asio::ip::tcp::socket socket);

}  // namespace ringgate::httplink
