// The monitor's side of replication: follows the primary's stream over the service
// address, loads its snapshot, replays every change on the local store and acknowledges
// it, so that the copy is current (seed 003 [0010], [0027]) when the monitor takes over.
#pragma once

#include "common/asio.h"

#include <functional>
#include <memory>

#include "control/registry/line_connection.h"
#include "control/registry/registry_service.h"
#include "control/registry/silence_watchdog.h"

namespace ringgate::registry {

class ReplicationFollower {
public:
    ReplicationFollower(boost::asio::io_context& io, RegistryService& service, Ipv4Endpoint primary);
    ~ReplicationFollower();

    void start();
    void stop();
    bool following() const { return connection_ && connection_->open(); }
    uint64_t applied() const { return applied_; }
    uint64_t version() const { return version_; }
    // Place in line among the primary's monitors (1 = takes over first); 0 = unknown.
    uint32_t rank() const { return rank_; }

private:
    void connect();
    void onLine(std::string_view line);
    void retryLater();

    boost::asio::io_context& io_;
    RegistryService& service_;
    Ipv4Endpoint primary_;
    std::shared_ptr<LineConnection> connection_;
    boost::asio::steady_timer retry_;
    SilenceWatchdog watchdog_;
    bool running_ = false;
    uint64_t applied_ = 0;
    uint64_t version_ = 0;
    uint32_t rank_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringgate::registry
