// The Asio shell of flows across the cluster in ringgated (docs/FLOWS.md): moves flow
// messages between the fast path's rings and the FlowReplicator, the replicator's
// datagrams over one UDP socket per cluster subnet (flows.port), and rides the token
// (membership changes, the kConnections carriage). FlowReplicator decides everything.
#pragma once

#include "common/asio.h"

#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "common/expected.h"
#include "config/config.h"
#include "control/cluster/membership.h"
#include "control/flows/flow_replicator.h"
#include "control/flows/flows_report.h"
#include "dataplane/flow_events.h"

namespace ringgate::dataplane {
class Dataplane;
}

namespace ringgate::flows {

// Converts between the fast path's messages and records.
FlowRecord recordOf(const dataplane::FlowMessage& message);
dataplane::FlowMessage messageOf(const FlowRecord& record, dataplane::FlowMessageType type);
FlowTuple tupleOf(const dataplane::FlowKey& key);

// Records held for others that fit in `budgetMb`: each costs its fast-path entry and two
// hash keys (~160 bytes) and the replicator's copy with its indexes (~200 bytes).
size_t budgetRecords(uint32_t budgetMb);

struct FlowServiceCounters {
    uint64_t datagramsIn = 0, datagramsOut = 0, sendErrors = 0;
    uint64_t unknownSource = 0;   // a datagram from an address no configured node has
    uint64_t changesDeferred = 0; // a worker's ring was full: applied on a later tick
};

class FlowService : public cluster::MembershipHooks {
public:
    FlowService(boost::asio::io_context& io, const config::Config& config, config::NodeId self,
                dataplane::Dataplane& dataplane);
    ~FlowService() override;

    Expected<void> start();
    void stop();

    void onTokenHeld(cluster::Time now, cluster::Carriages& carriages, const std::vector<NodeId>& members) override;
    void onMembershipChanged(cluster::Time now, const std::vector<NodeId>& members) override;

    FlowsReport report() const;

    const FlowReplicator& replicator() const { return replicator_; }
    const FlowServiceCounters& counters() const { return counters_; }

private:
    struct Path {
        explicit Path(boost::asio::io_context& io) : socket(io) {}
        std::string subnet;
        boost::asio::ip::udp::socket socket;
        boost::asio::ip::udp::endpoint from;
        std::array<uint8_t, 65536> buffer{};
    };

    Time now() const;
    void receive(size_t path);
    void poll();            // fast path -> replicator, replicator -> fast path and peers
    void drainDataplane(Time now);
    void applyChanges();
    void sendOutgoing();
    void arm(std::chrono::microseconds after);
    void ownedVipsChanged(const std::vector<Ipv4Address>& owned);

    boost::asio::io_context& io_;
    const config::Config& config_;
    config::NodeId self_;
    dataplane::Dataplane& dataplane_;
    FlowReplicator replicator_;
    std::chrono::steady_clock::time_point origin_;
    std::vector<std::unique_ptr<Path>> paths_;
    std::map<NodeId, std::vector<std::optional<boost::asio::ip::udp::endpoint>>> peers_;  // [peer][path]
    std::map<std::pair<size_t, uint32_t>, NodeId> nodeAt_;  // (path, source address) -> node
    std::deque<dataplane::FlowMessage> deferred_;  // for workers whose ring was full
    std::vector<dataplane::FlowMessage> messages_;  // reused
    std::vector<uint32_t> owned_;
    boost::asio::steady_timer timer_;
    std::chrono::microseconds interval_;
    bool stopped_ = false;
    FlowServiceCounters counters_;
};

}  // namespace ringgate::flows
