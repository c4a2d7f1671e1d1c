// The I/O shell of seed 003's roles (RoleCore): ARP-probes the service address off the
// I/O thread (so that peers' questions are answered meanwhile), takes and releases it,
// asks the peers and the service itself for their role and term, and starts or stops
// following the primary. ringgate-registry with --role auto runs one.
#pragma once

#include "common/asio.h"

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "control/registry/address_control.h"
#include "control/registry/registry_server.h"
#include "control/registry/replication_follower.h"
#include "control/registry/role_core.h"

namespace ringgate::registry {

struct RoleShellOptions {
    Ipv4Endpoint service;             // the shared service address
    std::string interface;            // that carries it
    std::vector<Ipv4Address> peers;   // the other registries' own addresses
    std::chrono::milliseconds interval{200};
    LineKeyPtr key;
};

class RoleShell {
public:
    RoleShell(boost::asio::io_context& io, RoleShellOptions options, RoleCore& roles, RegistryServer& server,
              ReplicationFollower& follower, RegistryService& service);
    ~RoleShell();

    // Drops an address a crashed run left behind, then starts the roles.
    void start();
    // Releases the address if primary; no more probes or checks.
    void stop();

private:
    void act(const std::vector<RoleAction>& actions);
    void probeAddress();
    void takeAddress();
    void check();
    void syncTerm();

    boost::asio::io_context& io_;
    RoleShellOptions options_;
    RoleCore& roles_;
    RegistryServer& server_;
    ReplicationFollower& follower_;
    RegistryService& service_;
    AddressControl address_;
    boost::asio::steady_timer checkTimer_;
    boost::asio::steady_timer probeTimer_;
    bool everMonitor_ = false;
    bool probing_ = false;
    std::thread probeThread_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringgate::registry
