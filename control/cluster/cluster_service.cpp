#include "control/cluster/cluster_service.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "common/json_writer.h"
#include "common/log.h"

namespace ringgate::cluster {

namespace asio = boost::asio;
using asio::ip::udp;
using management::Format;
using management::Reply;
using management::Request;

MembershipTimers timersFrom(const config::Timers& t) {
    using std::chrono::milliseconds;
    return MembershipTimers{milliseconds(t.tokenIntervalMs), milliseconds(t.handoffAckTimeoutMs),
                            t.handoffRetries, milliseconds(t.tokenLossTimeoutMs)};
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
    o.pathCount = static_cast<uint8_t>(std::max<size_t>(1, pathSubnets(config, self).size()));
    return o;
}

udp::endpoint endpointOf(Ipv4Address address, uint16_t port) {
    return udp::endpoint(asio::ip::address_v4(address.value), port);
}

std::string milliseconds(Time t) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", static_cast<double>(t.count()) / 1000.0);
    return text;
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
                                           node_.onDatagram(now(), static_cast<uint8_t>(index),
                                                            std::span<const uint8_t>(paths_[index]->buffer.data(), length),
                                                            sender == nodeAt_.end() ? 0 : sender->second);
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
    uint64_t refused = c.refused() + malformedTrains;
    if (refused == refusedLogged_) return;
    Time t = now();
    if (lastRefusedLog_ && t - *lastRefusedLog_ < std::chrono::seconds(1)) return;
    std::string totals = "malformed_trains " + std::to_string(malformedTrains);
    for (const auto& reason : c.refusedByReason())
        totals += std::string(", ") + reason.name + " " + std::to_string(reason.count);
    RG_WARN(Messaging, "dropped %llu refused datagram(s) (last from %s on subnet %s); totals: %s",
            static_cast<unsigned long long>(refused - refusedLogged_),
            paths_[path]->from.address().to_string().c_str(), paths_[path]->subnet.c_str(), totals.c_str());
    refusedLogged_ = refused;
    lastRefusedLog_ = t;
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

void ClusterService::leave(std::function<void()> done) {
    onLeft_ = std::move(done);
    node_.leave(now());
    afterInput();
}

void ClusterService::registerCommands(management::CommandTable& commands) {
    commands.add("members", "members            ring order, member states, token holder, counters",
                 [this](const Request& request) { return members(request); });
}

Reply ClusterService::members(const Request& request) const {
    if (!request.args.empty()) return Reply::error(request.format, "usage: members");
    const Membership& m = node_.membership();
    const ReliableMessenger& r = node_.messenger();
    MembershipStatus s = m.status();
    Time t = now();
    auto lastSeen = [&](NodeId id) -> std::optional<Time> {
        auto heard = r.lastHeard(id);
        if (!heard) return std::nullopt;
        return t - *heard;
    };
    auto stateOf = [&](NodeId id) -> std::string {
        if (id != self_) return "member";
        if (s.phase != Phase::Member) return std::string(toString(s.phase));
        return s.holding ? "holding-token" : "member";
    };
    std::vector<NodeId> outside;
    for (const auto& node : config_.cluster.nodes)
        if (std::find(s.members.begin(), s.members.end(), node.id) == s.members.end()) outside.push_back(node.id);
    const MembershipCounters& c = m.counters();
    const MessengerCounters& mc = r.counters();
    char ring[20];
    std::snprintf(ring, sizeof ring, "%016llx", static_cast<unsigned long long>(s.ringId));

    if (request.format == Format::Json) {
        JsonWriter json;
        json.beginObject().field("node", self_).field("phase", toString(s.phase)).field("ring_id", std::string_view(ring));
        json.key("members").beginArray();
        for (NodeId id : s.members) {
            json.beginObject().field("id", id).field("state", stateOf(id));
            json.key("last_seen_ms");
            if (auto age = lastSeen(id); age && id != self_) json.value(static_cast<double>(age->count()) / 1000.0);
            else json.null();
            json.endObject();
        }
        json.endArray();
        json.key("outside").beginArray();
        for (NodeId id : outside) {
            json.beginObject().field("id", id).field("state", "outside");
            json.key("last_seen_ms");
            if (auto age = lastSeen(id)) json.value(static_cast<double>(age->count()) / 1000.0);
            else json.null();
            json.endObject();
        }
        json.endArray();
        json.key("token_holder");
        if (s.holding) json.value(self_); else json.null();
        json.key("token_passed_to");
        if (s.passedTo) json.value(*s.passedTo); else json.null();
        json.key("sequence");
        if (s.stamp) json.value(s.stamp->seq); else json.null();
        json.key("generation");
        if (s.stamp) json.value(s.stamp->generation); else json.null();
        json.key("rotation_ms");
        if (s.lastRotation) json.value(static_cast<double>(s.lastRotation->count()) / 1000.0); else json.null();
        json.key("counters").beginObject()
            .field("tokens_received", c.tokensReceived)
            .field("tokens_passed", c.tokensPassed)
            .field("stale_tokens", c.staleTokens)
            .field("emergencies_sent", c.emergenciesSent)
            .field("emergencies_forwarded", c.emergenciesForwarded)
            .field("regenerations", c.regenerations)
            .field("silent_successors", c.silentSuccessors)
            .field("members_dropped", c.membersDropped)
            .field("members_added", c.membersAdded)
            .field("resends", mc.resends)
            .field("malformed_trains", c.malformedTrains);
        for (const auto& reason : mc.refusedByReason()) json.field(reason.name, reason.count);
        json.field("refused", mc.refused() + c.malformedTrains)
            .field("challenges_sent", mc.challengesSent)
            .field("partials_evicted", mc.partialsEvicted)
            .field("datagrams_sent", mc.datagramsSent)
            .field("datagrams_received", mc.datagramsReceived)
            .field("send_errors", sendErrors_)
            .endObject();
        json.endObject();
        return Reply{true, json.str() + "\n"};
    }
    std::string out = "node " + std::to_string(self_) + ": " + std::string(toString(s.phase)) + ", ring " + ring +
                      ", " + std::to_string(s.members.size()) + " member" + (s.members.size() == 1 ? "" : "s") + "\n";
    out += "token: ";
    if (s.holding) out += "held here";
    else if (s.passedTo) out += "last passed to node " + std::to_string(*s.passedTo);
    else out += "not seen yet";
    if (s.stamp) out += "; sequence " + std::to_string(s.stamp->seq) + " (generation " + std::to_string(s.stamp->generation) + ")";
    if (s.lastRotation) out += "; rotation " + milliseconds(*s.lastRotation) + " ms";
    out += "\n\n  ID  STATE          LAST SEEN\n";
    auto row = [&](NodeId id, const std::string& state) {
        char line[96];
        auto age = lastSeen(id);
        std::snprintf(line, sizeof line, "%4u  %-13s  %s\n", id, state.c_str(),
                      id == self_ ? "-" : age ? (milliseconds(*age) + " ms ago").c_str() : "never");
        out += line;
    };
    for (NodeId id : s.members) row(id, stateOf(id));
    for (NodeId id : outside) row(id, "outside");
    out += "\ntokens received " + std::to_string(c.tokensReceived) + ", passed " + std::to_string(c.tokensPassed) +
           ", stale " + std::to_string(c.staleTokens) + "\n";
    out += "911s sent " + std::to_string(c.emergenciesSent) + ", forwarded " + std::to_string(c.emergenciesForwarded) +
           "; regenerations " + std::to_string(c.regenerations) + ", after a silent successor " +
           std::to_string(c.silentSuccessors) + "\n";
    out += "members dropped " + std::to_string(c.membersDropped) + ", added " + std::to_string(c.membersAdded) + "\n";
    out += "resends " + std::to_string(mc.resends) + "; refused " + std::to_string(mc.refused() + c.malformedTrains) +
           ": malformed trains " + std::to_string(c.malformedTrains);
    for (const auto& reason : mc.refusedByReason()) out += std::string(", ") + reason.name + " " + std::to_string(reason.count);
    out += "\n";
    if (!config_.cluster.sharedKey) out += std::string("warning: ") + std::string(kNoKeyWarning) + "\n";
    return Reply{true, out};
}

}  // namespace ringgate::cluster
