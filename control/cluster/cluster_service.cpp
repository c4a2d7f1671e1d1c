#include "control/cluster/cluster_service.h"

#include <chrono>
#include <algorithm>
#include <random>

#include "common/log.h"

namespace ringgate::cluster {

namespace asio = boost::asio;
using asio::ip::udp;

MembershipTimers timersFrom(const config::Timers& t) {
    using std::chrono::milliseconds;
    MembershipTimers timers;
    timers.tokenInterval = milliseconds(t.tokenIntervalMs);
    timers.handoffAckTimeout = milliseconds(t.handoffAckTimeoutMs);
    timers.handoffRetries = t.handoffRetries;
    timers.tokenLossTimeout = milliseconds(t.tokenLossTimeoutMs);
    return withLease(timers);
}

namespace {

std::vector<std::string> pathSubnets(const config::Config& config, config::NodeId self) {
    std::vector<std::string> subnets;
    const config::Node* node = config.cluster.findNode(self);
    for (const auto& subnet : config.subnets)
        if (node && node->addressOn(subnet.name)) subnets.push_back(subnet.name);
    return subnets;
}

ClusterNode::Options nodeOptions(const config::Config& config, config::NodeId self) {
    ClusterNode::Options o;
    o.self = self;
    for (const auto& node : config.cluster.nodes) o.nodeMap.push_back(node.id);
    o.timers = timersFrom(config.timers);
    // Wall-clock nanoseconds: a restarted daemon always has a larger epoch than before.
    o.epoch = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
    std::random_device entropy;
    o.randomSeed = (uint64_t{entropy()} << 32) ^ entropy() ^ o.epoch;
    o.sharedKey = config.cluster.sharedKey.value_or("");
    o.clusterName = config.cluster.name;
    o.pathCount = static_cast<uint8_t>(std::max<size_t>(1, pathSubnets(config, self).size()));
    return o;
}

udp::endpoint endpointOf(Ipv4Address address, uint16_t port) {
    return udp::endpoint(asio::ip::address_v4(address.value), port);
}


}  // namespace

ClusterService::ClusterService(asio::io_context& io, const config::Config& config, config::NodeId self)
    : io_(io),
      config_(config),
      self_(self),
      origin_(std::chrono::steady_clock::now()),
      node_(nodeOptions(config, self)),
      timer_(io) {}

ClusterService::~ClusterService() = default;

Time ClusterService::now() const {
    return std::chrono::duration_cast<Time>(std::chrono::steady_clock::now() - origin_);
}

Expected<void> ClusterService::start() {
    const config::Node* me = config_.cluster.findNode(self_);
    if (!me) return makeError("node " + std::to_string(self_) + " is not in the node map");
    auto subnets = pathSubnets(config_, self_);
    for (const auto& subnet : subnets) {
        auto path = std::make_unique<Path>(io_);
        path->subnet = subnet;
        udp::endpoint local = endpointOf(*me->addressOn(subnet), config_.cluster.port);
        boost::system::error_code ec;
        path->socket.open(udp::v4(), ec);
        if (!ec) path->socket.bind(local, ec);
        if (ec)
            return makeError("bind " + local.address().to_string() + ":" + std::to_string(local.port()) +
                             " (subnet " + subnet + "): " + ec.message());
        paths_.push_back(std::move(path));
    }
    for (const auto& node : config_.cluster.nodes) {
        auto& endpoints = peerEndpoints_[node.id];
        for (const auto& subnet : subnets) {
            auto address = node.addressOn(subnet);
            endpoints.push_back(address ? std::optional(endpointOf(*address, config_.cluster.port)) : std::nullopt);
            if (address) nodeAt_[{endpoints.size() - 1, endpointOf(*address, config_.cluster.port)}] = node.id;
        }
    }
    for (size_t i = 0; i < paths_.size(); ++i) receive(i);
    node_.start(now());
    afterInput();
    RG_INFO(Cluster, "cluster messaging on %zu subnet%s, port %u", paths_.size(), paths_.size() == 1 ? "" : "s",
            config_.cluster.port);
    if (!config_.cluster.sharedKey)
        RG_WARN(Cluster, "%s", std::string(kNoKeyWarning).c_str());
    return {};
}

void ClusterService::receive(size_t index) {
    Path& path = *paths_[index];
    path.socket.async_receive_from(asio::buffer(path.buffer), path.from,
                                   [this, index](boost::system::error_code ec, size_t length) {
                                       if (ec == asio::error::operation_aborted) return;
                                       if (!ec) {
                                           auto sender = nodeAt_.find({index, paths_[index]->from});
                                           uint64_t unauthenticated = node_.messenger().counters().unauthenticated;
                                           node_.onDatagram(now(), static_cast<uint8_t>(index),
                                                            std::span<const uint8_t>(paths_[index]->buffer.data(), length),
                                                            sender == nodeAt_.end() ? 0 : sender->second);
                                           if (sender != nodeAt_.end() &&
                                               node_.messenger().counters().unauthenticated != unauthenticated)
                                               reportKeyMismatch(index, sender->second);
                                           reportRefused(index);
                                       }
                                       afterInput();
                                       receive(index);
                                   });
}

// Refused datagrams are counted by the core under named reasons; the log gets at most one
// line a second, with the totals of every reason.
void ClusterService::reportRefused(size_t path) {
    const MessengerCounters& c = node_.messenger().counters();
    uint64_t malformedTrains = node_.membership().counters().malformedTrains;
    uint64_t foreignCluster = node_.membership().counters().foreignCluster;
    uint64_t refused = c.refused() + malformedTrains + foreignCluster;
    if (refused == refusedLogged_) return;
    Time t = now();
    if (lastRefusedLog_ && t - *lastRefusedLog_ < std::chrono::seconds(1)) return;
    std::string totals = "malformed_trains " + std::to_string(malformedTrains) + ", foreign_cluster " +
                         std::to_string(foreignCluster);
    for (const auto& reason : c.refusedByReason())
        totals += std::string(", ") + reason.name + " " + std::to_string(reason.count);
    RG_WARN(Messaging, "dropped %llu refused datagram(s) (last from %s on subnet %s); totals: %s",
            static_cast<unsigned long long>(refused - refusedLogged_),
            paths_[path]->from.address().to_string().c_str(), paths_[path]->subnet.c_str(), totals.c_str());
    refusedLogged_ = refused;
    lastRefusedLog_ = t;
}

// A configured node whose datagrams fail authentication most likely runs with another
// cluster.shared_key (or someone forges its address): said once per node and 10 s, by name,
// on both sides, since each probes the other as a configured node outside its ring.
void ClusterService::reportKeyMismatch(size_t path, NodeId node) {
    Time t = now();
    auto logged = keyMismatchLogged_.find(node);
    if (logged != keyMismatchLogged_.end() && t - logged->second < std::chrono::seconds(10)) return;
    keyMismatchLogged_[node] = t;
    RG_WARN(Messaging, "datagrams from node %u (%s, subnet %s) fail authentication: its cluster.shared_key differs "
            "from this node's (or they are forged); it is not admitted", node,
            paths_[path]->from.address().to_string().c_str(), paths_[path]->subnet.c_str());
}

void ClusterService::afterInput() {
    flush();
    if (onLeft_ && node_.left()) {
        auto done = std::move(onLeft_);
        onLeft_ = nullptr;
        timer_.cancel();
        for (auto& path : paths_) path->socket.close();
        done();
        return;
    }
    arm();
}

void ClusterService::flush() {
    for (auto& datagram : node_.takeOutgoing()) {
        auto peer = peerEndpoints_.find(datagram.peer);
        if (peer == peerEndpoints_.end() || datagram.path >= paths_.size() || !peer->second[datagram.path]) continue;
        boost::system::error_code ec;
        // Non-blocking: a full socket buffer loses the datagram, which the layer resends.
        paths_[datagram.path]->socket.send_to(asio::buffer(datagram.bytes), *peer->second[datagram.path],
                                              asio::socket_base::message_flags(MSG_DONTWAIT), ec);
        if (ec) ++sendErrors_;
    }
}

void ClusterService::arm() {
    auto deadline = node_.nextDeadline();
    if (!deadline) {
        if (armedFor_) timer_.cancel();
        armedFor_.reset();
        return;
    }
    if (armedFor_ && *armedFor_ == *deadline) return;
    armedFor_ = deadline;
    timer_.expires_at(origin_ + *deadline);
    timer_.async_wait([this](boost::system::error_code ec) {
        if (ec == asio::error::operation_aborted) return;
        armedFor_.reset();
        node_.onTimer(now());
        afterInput();
    });
}

void ClusterService::applyTimers() {
    node_.membership().setTimers(timersFrom(config_.timers));
    arm();
}

void ClusterService::leave(std::function<void()> done) {
    onLeft_ = std::move(done);
    node_.leave(now());
    afterInput();
}

MembershipReport ClusterService::report() const {
    const Membership& m = node_.membership();
    const ReliableMessenger& r = node_.messenger();
    MembershipStatus s = m.status();
    Time t = now();
    auto lastSeen = [&](NodeId id) -> std::optional<double> {
        auto heard = r.lastHeard(id);
        if (!heard || id == self_) return std::nullopt;
        return static_cast<double>((t - *heard).count()) / 1000.0;
    };
    auto stateOf = [&](NodeId id) -> std::string {
        if (id != self_) return "member";
        if (s.phase != Phase::Member) return std::string(toString(s.phase));
        return s.holding ? "holding-token" : "member";
    };
    MembershipReport out;
    out.node = self_;
    out.phase = toString(s.phase);
    out.ringId = s.ringId;
    for (NodeId id : s.members) out.members.push_back({id, stateOf(id), lastSeen(id)});
    for (const auto& node : config_.cluster.nodes)
        if (std::find(s.members.begin(), s.members.end(), node.id) == s.members.end())
            out.outside.push_back({node.id, "outside", lastSeen(node.id)});
    out.holding = s.holding;
    out.passedTo = s.passedTo;
    if (s.stamp) {
        out.sequence = s.stamp->seq;
        out.generation = s.stamp->generation;
    }
    if (s.lastRotation) out.rotationMs = static_cast<double>(s.lastRotation->count()) / 1000.0;
    const MembershipCounters& c = m.counters();
    const MessengerCounters& mc = r.counters();
    out.counters = {
        {"tokens_received", c.tokensReceived},
        {"tokens_passed", c.tokensPassed},
        {"stale_tokens", c.staleTokens},
        {"emergencies_sent", c.emergenciesSent},
        {"emergencies_forwarded", c.emergenciesForwarded},
        {"regenerations", c.regenerations},
        {"silent_successors", c.silentSuccessors},
        {"members_dropped", c.membersDropped},
        {"members_added", c.membersAdded},
        {"ghosts_dropped", c.ghostsDropped},
        {"resends", mc.resends},
        {"refused", mc.refused() + c.malformedTrains + c.foreignCluster},
        {"challenges_sent", mc.challengesSent},
        {"window_resets", mc.windowResets},
        {"partials_evicted", mc.partialsEvicted},
        {"datagrams_sent", mc.datagramsSent},
        {"datagrams_received", mc.datagramsReceived},
        {"send_errors", sendErrors_},
    };
    out.refusedByReason = {{"malformed_trains", c.malformedTrains}, {"foreign_cluster", c.foreignCluster}};
    for (const auto& reason : mc.refusedByReason()) out.refusedByReason.push_back({reason.name, reason.count});
    if (!config_.cluster.sharedKey) out.warnings.push_back(std::string(kNoKeyWarning));
    return out;
}

}  // namespace ringgate::cluster
