// The Asio shell of the cluster protocol in ringgated: one UDP socket per subnet (the
// node's address there, cluster.port) and a steady timer for the core's next deadline. It
// only moves bytes; ClusterNode decides everything. report() is what operators see.
#pragma once

#include "common/asio.h"

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "common/expected.h"
#include "config/config.h"
#include "control/cluster/cluster_node.h"
#include "control/cluster/membership_report.h"

namespace ringgate::cluster {

// Logged at start and shown by `status` and `members` while cluster.shared_key is unset.
constexpr std::string_view kNoKeyWarning =
    "cluster.shared_key is not set: cluster datagrams are not authenticated, anyone on the cluster "
    "subnets can forge tokens (generate a key with `ringgatectl genkey`)";

// Converts the configuration's timers (milliseconds) into the core's.
MembershipTimers timersFrom(const config::Timers& timers);

class ClusterService {
public:
    ClusterService(boost::asio::io_context& io, const config::Config& config, config::NodeId self);
    ~ClusterService();

    // Binds every subnet's socket and starts the membership; nothing runs on error.
    Expected<void> start();
    // Leaves the ring cleanly (the token passes on at once); `done` runs once it has.
    void leave(std::function<void()> done);
    // The ring as this node sees it now (`ringgatectl members`, /metrics).
    MembershipReport report() const;
    // The configuration's timers changed (applied live): the membership uses them from now.
    void applyTimers();
    // Whether this node's node map is the cluster's newest (Membership::setMapCurrent).
    void setMapCurrent(bool current) { node_.membership().setMapCurrent(current); }
    // Riders of the train (the VIP manager); set before start().
    void setHooks(MembershipHooks* hooks) { node_.membership().setHooks(hooks); }

    const ClusterNode& node() const { return node_; }
    Time fenceFor(NodeId owner, Time now) const { return node_.membership().fenceFor(owner, now); }
    Time grantedBy(NodeId owner, Time now) const { return node_.membership().grantedBy(owner, now); }
    bool tie(const std::vector<NodeId>& members) const { return node_.membership().tie(members); }

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
    void afterInput();
    void reportRefused(size_t path);
    void reportKeyMismatch(size_t path, NodeId node);
    void flush();
    void arm();

    boost::asio::io_context& io_;
    const config::Config& config_;
    config::NodeId self_;
    std::chrono::steady_clock::time_point origin_;
    std::vector<std::unique_ptr<Path>> paths_;
    // peerEndpoints_[peer][path]: where that peer listens on that subnet, if it is there.
    std::map<NodeId, std::vector<std::optional<boost::asio::ip::udp::endpoint>>> peerEndpoints_;
    // (path, source endpoint) -> the configured node that sends from there.
    std::map<std::pair<size_t, boost::asio::ip::udp::endpoint>, NodeId> nodeAt_;
    ClusterNode node_;
    boost::asio::steady_timer timer_;
    std::optional<Time> armedFor_;
    std::function<void()> onLeft_;
    uint64_t sendErrors_ = 0;
    uint64_t refusedLogged_ = 0;
    std::optional<Time> lastRefusedLog_;
    std::map<NodeId, Time> keyMismatchLogged_;
};

}  // namespace ringgate::cluster
