#include "control/registry/role_shell.h"

#include <cstdlib>

#include "common/log.h"
#include "control/registry/line_connection.h"

namespace ringgate::registry {
namespace {

// "OK <role> <term>", the answer to ROLE.
std::optional<std::pair<Role, uint64_t>> parseRole(const Expected<std::string>& reply) {
    if (!reply) return std::nullopt;
    auto w = protocol::words(*reply);
    if (w.size() != 3 || w[0] != "OK") return std::nullopt;
    Role r = w[1] == "primary" ? Role::Primary : w[1] == "monitor" ? Role::Monitor
             : w[1] == "probing" ? Role::Probing : Role::Standalone;
    return std::pair{r, std::strtoull(std::string(w[2]).c_str(), nullptr, 10)};
}

}  // namespace

RoleShell::RoleShell(boost::asio::io_context& io, RoleShellOptions options, RoleCore& roles, RegistryServer& server,
                     ReplicationFollower& follower, RegistryService& service)
    : io_(io), options_(std::move(options)), roles_(roles), server_(server), follower_(follower), service_(service),
      address_(options_.interface, options_.service.address), checkTimer_(io), probeTimer_(io) {}

RoleShell::~RoleShell() {
    *alive_ = false;
    if (probeThread_.joinable()) probeThread_.join();
}

void RoleShell::start() {
    // A registry that crashed while primary left the address behind; holding it now
    // would answer our own probe's question wrongly (seed 003 resets it at boot too).
    (void)address_.release();
    boost::asio::post(io_, [this, alive = alive_] {
        if (!*alive) return;
        act(roles_.start());
        check();
    });
}

void RoleShell::stop() {
    if (server_.role() == Role::Primary) (void)address_.release();
    checkTimer_.cancel();
    probeTimer_.cancel();
}

void RoleShell::syncTerm() {
    service_.setTerm(server_.role() == Role::Primary ? roles_.term() : roles_.highestTerm());
    follower_.setMinimumTerm(roles_.highestTerm());
}

void RoleShell::check() {
    act(roles_.tick());
    checkTimer_.expires_after(options_.interval);
    checkTimer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) check();
    });
}

void RoleShell::probeAddress() {
    // A monitor whose copy may be stale must not serve it: the primary may have
    // acknowledged changes while this monitor was not following.
    if (everMonitor_ && !follower_.copyCurrent()) {
        RG_WARN(Registry, "primary silent, but this copy is not known to be current (not following it): "
                          "not taking over");
        return act(roles_.probed(true));
    }
    server_.setRole(Role::Probing);
    if (probing_) return;  // one ARP probe at a time
    // Monitors wait in line (seed 003 [0029]): the n-th monitor probes (n-1) probe times
    // later, by which time the first has taken the address.
    uint32_t rank = follower_.rank();
    probing_ = true;
    probeTimer_.expires_after(std::chrono::milliseconds(rank > 1 ? (rank - 1) * 1500 : 0));
    probeTimer_.async_wait([this](boost::system::error_code ec) {
        if (ec) {
            probing_ = false;
            return;
        }
        address_.forgetNeighbour();
        // arping takes a second: off the I/O thread, so that peers' ROLE questions are
        // answered meanwhile (they decide who goes first).
        if (probeThread_.joinable()) probeThread_.join();
        probeThread_ = std::thread([this, alive = alive_] {
            auto busy = address_.inUse();
            boost::asio::post(io_, [this, alive, busy] {
                if (!*alive) return;
                probing_ = false;
                bool inUse = busy ? *busy : true;  // cannot tell: do not risk two primaries
                if (!busy)
                    RG_ERROR(Registry, "probing %s: %s", options_.service.address.toString().c_str(),
                             busy.error().message.c_str());
                RG_INFO(Registry, "service address %s is %s", options_.service.address.toString().c_str(),
                        inUse ? "in use" : "free");
                if (server_.role() == Role::Probing) act(roles_.probed(inUse));
            });
        });
    });
}

void RoleShell::takeAddress() {
    follower_.stop();
    if (auto taken = address_.take(); !taken) {
        RG_ERROR(Registry, "taking %s: %s", options_.service.address.toString().c_str(), taken.error().message.c_str());
        return act(roles_.start());
    }
    server_.setRole(Role::Primary);
    syncTerm();
    server_.publishLive();
    RG_INFO(Registry, "primary on %s, term %llu", options_.service.toString().c_str(),
            static_cast<unsigned long long>(roles_.term()));
}

void RoleShell::act(const std::vector<RoleAction>& actions) {
    for (auto action : actions) {
        switch (action) {
        case RoleAction::ProbeAddress:
            probeAddress();
            break;
        case RoleAction::TakeAddress:
            takeAddress();
            break;
        case RoleAction::ReleaseAddress:
            RG_WARN(Registry, "another primary has a newer term (%llu > %llu): stepping down, resynchronising",
                    static_cast<unsigned long long>(roles_.highestTerm()),
                    static_cast<unsigned long long>(roles_.term()));
            (void)address_.release();
            server_.setRole(Role::Monitor);
            break;
        case RoleAction::QueryPeers:
            for (Ipv4Address peer : options_.peers)
                callOnce(io_, {peer, options_.service.port}, "ROLE", options_.interval,
                         [this, alive = alive_, peer](Expected<std::string> reply) {
                             if (!*alive) return;
                             if (auto heard = parseRole(reply)) {
                                 act(roles_.peerReported(peer, heard->first, heard->second));
                                 syncTerm();
                             }
                         },
                         std::nullopt, options_.key);
            break;
        case RoleAction::FollowPrimary:
            everMonitor_ = true;
            follower_.expectNewPrimary();
            address_.forgetNeighbour();
            server_.setRole(Role::Monitor);
            syncTerm();
            follower_.start();
            break;
        case RoleAction::CheckPrimary:
            // The service itself, not ICMP: a host whose registry died still answers pings.
            callOnce(io_, options_.service, "ROLE", 2 * options_.interval,
                     [this, alive = alive_](Expected<std::string> reply) {
                         if (!*alive) return;
                         auto heard = parseRole(reply);
                         if (heard && heard->first == Role::Primary) {
                             roles_.primaryAnswered(heard->second);
                             syncTerm();
                         }
                     },
                     std::nullopt, options_.key);
            break;
        }
    }
}

}  // namespace ringgate::registry
