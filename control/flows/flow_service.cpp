#include "control/flows/flow_service.h"

#include <algorithm>
#include <cstring>

#include "common/log.h"
#include "control/cluster/train.h"
#include "dataplane/dataplane.h"

namespace ringgate::flows {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {
// The fast path is polled this often while flows are being made, and backs off to the
// longest interval while nothing happens (an idle gateway stays idle). A SYN-ACK that
// outran its record waits at most about one short interval plus a datagram's flight.
constexpr std::chrono::microseconds kPollBusy{1'000};
constexpr std::chrono::microseconds kPollIdle{10'000};
constexpr size_t kMessagesPerPoll = 65536;
constexpr size_t kDeferredLimit = 1u << 20;

// A VIP that becomes ours holds the packets of unknown flows (a SYN excepted) until every
// live peer has answered the pull of its records (VipSettled), but never longer than this
// many hold times (a peer that never answers): a packet of a surviving flow that became a
// new flow would get another translation, and from a fullnat back end a RST.
constexpr uint32_t kVipHoldFactor = 40;
// How many fast-path messages ahead the store's memory is requested (its index misses
// the cache at a million records; a handful in flight hides most of that).
constexpr size_t kPrefetchAhead = 8;

ReplicatorOptions optionsFor(const config::Config& config, config::NodeId self) {
    ReplicatorOptions o;
    o.self = self;
    // Wall-clock microseconds: a restarted daemon always has a larger incarnation.
    o.incarnation = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
    o.sharedKey = config.cluster.sharedKey.value_or("");
    o.budgetRecords = budgetRecords(config.flows.budgetMb);
    return o;
}

std::array<uint8_t, 6> bytesOf(const dataplane::MacAddress& mac) { return mac.bytes; }
}  // namespace

size_t budgetRecords(uint32_t budgetMb) { return (size_t{budgetMb} << 20) / 360; }

FlowTuple tupleOf(const dataplane::FlowKey& key) {
    return FlowTuple{key.src, key.dst, key.srcPort, key.dstPort, key.proto};
}

namespace {
dataplane::FlowKey keyOf(const FlowTuple& t) {
    dataplane::FlowKey key;
    key.src = t.src;
    key.dst = t.dst;
    key.srcPort = t.srcPort;
    key.dstPort = t.dstPort;
    key.proto = t.proto;
    return key;
}
}  // namespace

FlowRecord recordOf(const dataplane::FlowMessage& message) {
    FlowRecord record;
    record.forward = tupleOf(message.forward);
    record.reverse = tupleOf(message.reverse);
    record.handler = message.handler;
    record.state = message.state;
    record.nat = message.fullnat ? NatKind::FullNat : NatKind::Dnat;
    record.clientMac = bytesOf(message.clientMac);
    record.backendMac = bytesOf(message.backendMac);
    return record;
}

dataplane::FlowMessage messageOf(const FlowRecord& record, dataplane::FlowMessageType type) {
    dataplane::FlowMessage message;
    message.type = type;
    message.forward = keyOf(record.forward);
    message.reverse = keyOf(record.reverse);
    message.clientMac.bytes = record.clientMac;
    message.backendMac.bytes = record.backendMac;
    message.handler = static_cast<uint16_t>(record.handler);
    message.state = record.state;
    message.fullnat = record.nat == NatKind::FullNat ? 1 : 0;
    return message;
}

FlowService::FlowService(asio::io_context& io, const config::Config& config, config::NodeId self,
                         dataplane::Dataplane& dataplane)
    : io_(io), config_(config), self_(self), dataplane_(dataplane), replicator_(optionsFor(config, self)),
      origin_(std::chrono::steady_clock::now()), timer_(io), interval_(kPollIdle) {}

FlowService::~FlowService() { stop(); }

Time FlowService::now() const {
    return std::chrono::duration_cast<Time>(std::chrono::steady_clock::now() - origin_);
}

Expected<void> FlowService::start() {
    const config::Node* me = config_.cluster.findNode(self_);
    if (!me) return makeError("flows: node " + std::to_string(self_) + " is not in the node map");
    uint16_t port = config_.flows.portOr(config_.cluster.port);
    for (const auto& subnet : config_.subnets) {
        auto address = me->addressOn(subnet.name);
        if (!address) continue;
        auto path = std::make_unique<Path>(io_);
        path->subnet = subnet.name;
        boost::system::error_code ec;
        udp::endpoint local(asio::ip::address_v4(address->value), port);
        path->socket.open(udp::v4(), ec);
        if (!ec) path->socket.bind(local, ec);
        if (ec)
            return makeError("flows: bind " + address->toString() + ":" + std::to_string(port) + " on subnet " +
                             subnet.name + ": " + ec.message());
        size_t index = paths_.size();
        for (const auto& node : config_.cluster.nodes) {
            auto& slots = peers_[node.id];
            slots.resize(index + 1);
            if (auto there = node.addressOn(subnet.name)) {
                slots[index] = udp::endpoint(asio::ip::address_v4(there->value), port);
                nodeAt_[{index, there->value}] = node.id;
            }
        }
        paths_.push_back(std::move(path));
    }
    if (paths_.empty()) return makeError("flows: node " + std::to_string(self_) + " has no address on any subnet");
    for (size_t i = 0; i < paths_.size(); ++i) receive(i);
    dataplane_.onOwnedVipsChanged([this](const std::vector<Ipv4Address>& owned) { ownedVipsChanged(owned); });
    ownedVipsChanged(dataplane_.ownedVips());
    arm(kPollBusy);
    RG_INFO(Flows, "flow records on UDP port %u over %zu subnet(s); hold %u ms; budget %zu records held for others",
            port, paths_.size(), config_.flows.holdMs, budgetRecords(config_.flows.budgetMb));
    return {};
}

void FlowService::stop() {
    if (stopped_) return;
    stopped_ = true;
    timer_.cancel();
    dataplane_.onOwnedVipsChanged(nullptr);
    for (auto& path : paths_) {
        boost::system::error_code ignored;
        path->socket.close(ignored);
    }
}

void FlowService::receive(size_t index) {
    Path& path = *paths_[index];
    path.socket.async_receive_from(asio::buffer(path.buffer), path.from,
                                   [this, index](boost::system::error_code ec, size_t size) {
                                       if (ec == asio::error::operation_aborted || stopped_) return;
                                       if (!ec) {
                                           Path& p = *paths_[index];
                                           ++counters_.datagramsIn;
                                           auto from = nodeAt_.find({index, p.from.address().to_v4().to_uint()});
                                           if (from == nodeAt_.end())
                                               ++counters_.unknownSource;
                                           else
                                               replicator_.receive(now(), from->second,
                                                                   std::span<const uint8_t>(p.buffer.data(), size));
                                           applyChanges();
                                           sendOutgoing();
                                       }
                                       receive(index);
                                   });
}

void FlowService::arm(std::chrono::microseconds after) {
    if (stopped_) return;
    auto deadline = replicator_.nextDeadline();
    if (deadline) after = std::min(after, std::max(std::chrono::microseconds(0), *deadline - now()));
    timer_.expires_after(after);
    timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) poll();
    });
}

void FlowService::poll() {
    Time t = now();
    size_t before = messages_.size();
    drainDataplane(t);
    bool busy = messages_.size() != before || !deferred_.empty();
    messages_.clear();
    replicator_.tick(t);
    applyChanges();
    sendOutgoing();
    // Busy: poll again soon; quiet: back off, doubling, to the idle interval.
    interval_ = busy ? kPollBusy : std::min(interval_ * 2, kPollIdle);
    arm(interval_);
}

void FlowService::drainDataplane(Time t) {
    dataplane_.takeFlowMessages(messages_, kMessagesPerPoll);
    for (size_t i = 0; i < messages_.size(); ++i) {
        if (i + kPrefetchAhead < messages_.size()) replicator_.prefetch(tupleOf(messages_[i + kPrefetchAhead].forward));
        const dataplane::FlowMessage& message = messages_[i];
        switch (message.type) {
            case dataplane::FlowMessageType::Created: replicator_.localCreated(t, recordOf(message)); break;
            case dataplane::FlowMessageType::Ended: replicator_.localEnded(t, tupleOf(message.forward)); break;
            case dataplane::FlowMessageType::RemoteExpired:
                replicator_.remoteExpired(t, tupleOf(message.forward));
                break;
            case dataplane::FlowMessageType::Ask: replicator_.ask(t, tupleOf(message.forward)); break;
            default: break;
        }
    }
}

void FlowService::applyChanges() {
    for (Change& change : replicator_.takeChanges()) {
        if (auto* settled = std::get_if<VipSettled>(&change)) {
            // Every record of the VIP is here: an unknown packet is a new flow from now on.
            if (auto ended = dataplane_.holdUnknownFlows(Ipv4Address{settled->vip}, 0); !ended)
                RG_WARN(Flows, "VIP %s: %s", Ipv4Address{settled->vip}.toString().c_str(), ended.error().message.c_str());
            continue;
        }
        dataplane::FlowMessage message;
        if (auto* install = std::get_if<InstallRemote>(&change)) {
            message = messageOf(install->record, dataplane::FlowMessageType::InstallRemote);
            message.pinned = (install->roles & static_cast<Roles>(Role::Replica)) ? 1 : 0;
        } else if (auto* adopt = std::get_if<Adopt>(&change)) {
            message = messageOf(adopt->record, dataplane::FlowMessageType::Adopt);
        } else if (auto* remove = std::get_if<RemoveRemote>(&change)) {
            FlowRecord record;
            record.forward = remove->forward;
            message = messageOf(record, dataplane::FlowMessageType::RemoveRemote);
        }
        if (deferred_.size() < kDeferredLimit) deferred_.push_back(message);
    }
    // In order; what a full ring did not take waits for the next poll.
    while (!deferred_.empty() && dataplane_.putFlowMessage(deferred_.front())) deferred_.pop_front();
    if (!deferred_.empty()) ++counters_.changesDeferred;
}

void FlowService::sendOutgoing() {
    for (Outgoing& out : replicator_.takeOutgoing()) {
        auto peer = peers_.find(out.peer);
        if (peer == peers_.end()) continue;
        // The first subnet both share; the replicator resends what is lost.
        for (size_t i = 0; i < peer->second.size() && i < paths_.size(); ++i) {
            if (!peer->second[i]) continue;
            boost::system::error_code ec;
            paths_[i]->socket.send_to(asio::buffer(out.bytes), *peer->second[i], 0, ec);
            if (ec) ++counters_.sendErrors;
            else ++counters_.datagramsOut;
            break;
        }
    }
}

void FlowService::ownedVipsChanged(const std::vector<Ipv4Address>& owned) {
    std::vector<uint32_t> vips;
    for (Ipv4Address vip : owned) vips.push_back(vip.value);
    std::sort(vips.begin(), vips.end());
    // A VIP new to us: until its records are here, client packets of flows we do not
    // know wait rather than start over with another translation.
    for (uint32_t vip : vips)
        if (!std::binary_search(owned_.begin(), owned_.end(), vip))
            if (auto held = dataplane_.holdUnknownFlows(Ipv4Address{vip}, kVipHoldFactor * config_.flows.holdMs); !held)
                RG_WARN(Flows, "VIP %s: %s", Ipv4Address{vip}.toString().c_str(), held.error().message.c_str());
    owned_ = vips;
    replicator_.setOwnedVips(now(), std::move(vips));
    applyChanges();
    sendOutgoing();
}

void FlowService::onMembershipChanged(cluster::Time, const std::vector<NodeId>& members) {
    if (auto set = dataplane_.setMembers(members); !set)
        RG_WARN(Flows, "members: %s", set.error().message.c_str());
    replicator_.setMembers(now(), members);
    applyChanges();
    sendOutgoing();
}

void FlowService::onTokenHeld(cluster::Time, cluster::Carriages& carriages, const std::vector<NodeId>&) {
    const std::vector<uint8_t>* found = carriages.find(cluster::carriage::kConnections);
    std::vector<uint8_t> bytes = found ? *found : std::vector<uint8_t>{};
    replicator_.onTokenHeld(now(), bytes);
    carriages.set(cluster::carriage::kConnections, std::move(bytes));
    applyChanges();
    sendOutgoing();
}

}  // namespace ringgate::flows

namespace ringgate::flows {

FlowsReport FlowService::report() const {
    const ReplicatorCounters& c = replicator_.counters();
    FlowsReport r;
    r.replication = {
        {"local_flows", replicator_.localCount(), true},
        {"held_for_others", replicator_.heldForOthers(), true},
        {"records_sent", c.recordsSent},
        {"records_received", c.recordsReceived},
        {"records_resent", c.recordsResent},
        {"batches_sent", c.batchesSent},
        {"batches_received", c.batchesReceived},
        {"acks_sent", c.acksSent},
        {"nacks_sent", c.nacksSent},
        {"nacks_received", c.nacksReceived},
        {"resyncs_sent", c.resyncsSent},
        {"resyncs_received", c.resyncsReceived},
        {"rehomed", c.rehomed},
        {"pulls_sent", c.pullsSent},
        {"pulls_answered", c.pullsAnswered},
        {"pulls_completed", c.pullsCompleted},
        {"adopted", c.adopted},
        {"asks_sent", c.asksSent},
        {"asks_answered", c.asksAnswered},
        {"budget_drops", c.budgetDrops},
        {"duplicates", c.duplicates},
        {"out_of_order", c.outOfOrder},
        {"reorder_drops", c.reorderDrops},
        {"conflicts", c.conflicts},
        {"foreign_records", c.foreignRecords},
        {"refused_malformed", c.malformed},
        {"refused_bad_version", c.badVersion},
        {"refused_unauthenticated", c.unauthenticated},
        {"refused_not_for_us", c.notForUs},
        {"refused_stale_incarnation", c.staleIncarnation},
        {"refused_spoofed", c.spoofed},
    };
    r.fastPath = dataplane_.flowCounts();
    r.transport = {
        {"datagrams_in", counters_.datagramsIn},
        {"datagrams_out", counters_.datagramsOut},
        {"send_errors", counters_.sendErrors},
        {"unknown_source", counters_.unknownSource},
        {"changes_deferred", counters_.changesDeferred},
    };
    return r;
}

}  // namespace ringgate::flows
