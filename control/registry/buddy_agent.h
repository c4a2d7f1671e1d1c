// The I/O shell of ringgate-buddy: runs BuddyCore's effects (registry calls, probes,
// ServerReplace messages) and serves the listener port where other agents send
// ServerReplace. Malformed or hostile listener input is refused and counted.
#pragma once

#include "common/asio.h"

#include <functional>
#include <memory>

#include "common/accept_loop.h"
#include "control/registry/buddy_core.h"
#include "control/registry/line_connection.h"
#include "control/registry/prober.h"
#include "control/registry/registry_client.h"

namespace ringgate::registry {

struct BuddyAgentOptions {
    BuddyConfig core;
    uint16_t listenerPort = 7301;
    ProbeSpec probe;
    std::chrono::milliseconds interval{500};
    RegistryClientOptions registry;   // its key signs the listener's traffic too
    size_t maxConnections = 256;      // listener
    std::chrono::milliseconds idle{5000};
    std::chrono::milliseconds acceptPause{200};
};

struct BuddyCounters {
    uint64_t refused = 0;         // bad listener requests (malformed, oversized, unauthenticated)
    uint64_t replacesAccepted = 0;
    uint64_t replacesRejected = 0;  // well-formed but naming a server that is not a buddy
    uint64_t deletesReported = 0;
    uint64_t reportsRefused = 0;   // death reports the registry did not believe
    uint64_t staleTerm = 0;        // answers from a registry below the highest term seen
};

class BuddyAgent {
public:
    BuddyAgent(boost::asio::io_context& io, BuddyAgentOptions options);
    ~BuddyAgent();

    Expected<void> start();
    // Clean shutdown (claims 15-16); `done` runs when the buddies have been told.
    void stop(std::function<void()> done);
    // Stops everything without telling anyone (a crash, for tests and benchmarks).
    void abandon();

    const BuddyCore& core() const { return core_; }
    const BuddyCounters& counters() const { return counters_; }
    const Prober& prober() const { return prober_; }

private:
    void run(Effects effects);
    void perform(const Effect& effect);
    void tick();
    void accepted(tcp::socket socket, std::shared_ptr<void> ticket);
    void onListenerLine(const std::shared_ptr<LineConnection>& connection, std::string_view line);
    std::string status() const;
    // A registry answer to act on: parsed, and from a term not below the highest seen
    // (else an error, and the call counts as failed).
    Expected<protocol::BuddyReply> answer(const Expected<std::string>& reply, const char* call);

    boost::asio::io_context& io_;
    BuddyAgentOptions options_;
    BuddyCore core_;
    Prober prober_;
    RegistryClient registry_;
    tcp::acceptor acceptor_;
    std::shared_ptr<ReplayGuard> replay_ = std::make_shared<ReplayGuard>();
    AcceptLoop<tcp> accepts_;
    boost::asio::steady_timer ticker_;
    BuddyCounters counters_;
    std::function<void()> onGone_;
    int pendingFarewells_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringgate::registry
