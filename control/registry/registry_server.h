// The registry's network shell: accepts agents, gateways and tools on TCP, answers them
// through RegistryService, pushes live-list changes to subscribers, and streams every
// change to the monitors, waiting for their acknowledgements BEFORE acknowledging the
// change to the caller (synchronous replication: nothing acknowledged is lost when a
// monitor takes over; the stream's logic is ReplicationSourceCore). Changes are applied
// one at a time in arrival order, on the store thread (TableWorker); reads and
// subscriptions are answered at once from the table as of the last finished change, so
// they never wait behind a write.
#pragma once

#include "common/asio.h"

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "common/accept_loop.h"
#include "control/registry/line_connection.h"
#include "control/registry/registry_service.h"
#include "control/registry/replication_source_core.h"
#include "control/registry/table_worker.h"

namespace ringgate::registry {

struct RegistryLimits {
    size_t maxConnections = 1024;
    std::chrono::milliseconds idle{10000};        // a request connection without a request
    std::chrono::milliseconds acceptPause{200};   // after EMFILE and the like
};

struct RegistryCounters {
    uint64_t requests = 0;
    uint64_t refused = 0;          // malformed, oversized or hostile requests
    uint64_t unauthenticated = 0;  // lines without a valid signature (line_auth.h)
    uint64_t idleClosed = 0;       // request connections closed for idling
    AcceptCounters accepts;
    uint64_t changes = 0;          // announce/delete/replace applied
    uint64_t replicated = 0;       // changes acknowledged by the monitor
    uint64_t monitorDropped = 0;   // monitor too slow or gone: the primary went on alone
    uint64_t subscribers = 0;
};

class RegistryServer {
public:
    RegistryServer(boost::asio::io_context& io, TableWorker& table, std::chrono::milliseconds replicationTimeout,
                   LineKeyPtr key = {}, RegistryLimits limits = {});
    ~RegistryServer() { *alive_ = false; }

    Expected<void> listen(Ipv4Endpoint endpoint);
    uint16_t port() const;  // the bound port (listen on port 0 picks a free one)
    void close();

    void setRole(Role role);
    Role role() const { return role_; }
    bool monitorAttached() const { return replication_.attached(); }
    // Where the monitors connect from, in line order ("a:p,b:q"); empty without one.
    std::string monitorPeer() const;
    const RegistryCounters& counters() const;
    // Tells subscribers the current live list (after a monitor became primary).
    void publishLive();
    // The registry's own look at a server reported dead (DeathConfirmer::confirm); needed
    // when the service's DeathPolicy asks for confirmation.
    using Confirm = std::function<void(Ipv4Address server, std::function<void(bool alive)> done)>;
    void setConfirm(Confirm confirm) { confirm_ = std::move(confirm); }

private:
    using Monitor = ReplicationSourceCore::Monitor;
    struct Job {
        std::weak_ptr<LineConnection> client;
        protocol::Request request;
        std::optional<bool> alive;  // DEAD: what the registry's own probe found
    };
    void accepted(tcp::socket socket, std::shared_ptr<void> ticket);
    void onLine(const std::shared_ptr<LineConnection>& connection, std::string_view line);
    void runNextChange();
    void changeDone(RegistryService::Outcome outcome);
    void finishChange(const std::string& reply, bool liveChanged);
    void attachMonitor(const std::shared_ptr<LineConnection>& connection);
    void perform(ReplicationSourceCore::Effects effects);
    void heartbeat();

    boost::asio::io_context& io_;
    TableWorker& table_;
    tcp::acceptor acceptor_;
    LineKeyPtr key_;
    RegistryLimits limits_;
    std::shared_ptr<ReplayGuard> replay_ = std::make_shared<ReplayGuard>();
    AcceptLoop<tcp> accepts_;
    Role role_ = Role::Probing;
    mutable RegistryCounters counters_;
    Confirm confirm_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

    std::deque<Job> changes_;
    bool changing_ = false;
    Job current_;
    std::string currentReply_;
    bool currentLiveChanged_ = false;
    boost::asio::steady_timer ackTimer_;
    boost::asio::steady_timer heartbeatTimer_;
    uint64_t beats_ = 0;

    // Registries following this primary (the connection's address names it in the core).
    ReplicationSourceCore replication_;
    std::map<Monitor, std::shared_ptr<LineConnection>> monitors_;
    std::set<std::shared_ptr<LineConnection>> subscribers_;
};

}  // namespace ringgate::registry
