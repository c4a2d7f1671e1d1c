#include "control/cluster/cluster_node.h"

namespace ringgate::cluster {

namespace {

ReliableMessenger::Options messengerOptions(const ClusterNode::Options& o) {
    ReliableMessenger::Options m;
    m.self = o.self;
    m.epoch = o.epoch;
    m.key = AuthKey(o.sharedKey);
    m.pathCount = o.pathCount;
    m.nonceSeed = o.randomSeed ^ 0x9e3779b97f4a7c15ULL;  // not the membership's stream
    return m;
}

}  // namespace

ClusterNode::ClusterNode(Options options)
    : messenger_(messengerOptions(options)),
      membership_(Membership::Options{options.self, options.nodeMap, options.timers, options.randomSeed,
                                      options.firstSequence, options.clusterName},
                  messenger_) {}

void ClusterNode::start(Time now) {
    membership_.start(now);
    pump(now);
}

void ClusterNode::leave(Time now) {
    membership_.leave(now);
    pump(now);
}

void ClusterNode::onDatagram(Time now, uint8_t path, std::span<const uint8_t> datagram,
                             std::optional<NodeId> source) {
    messenger_.onDatagram(now, path, datagram, source);
    pump(now);
}

void ClusterNode::onTimer(Time now) {
    messenger_.onTimer(now);
    pump(now);
    membership_.onTimer(now);
    pump(now);
}

std::optional<Time> ClusterNode::nextDeadline() const {
    auto a = messenger_.nextDeadline();
    auto b = membership_.nextDeadline();
    if (!a) return b;
    if (!b) return a;
    return std::min(*a, *b);
}

// Hands the messenger's events to the membership until neither has more to say (the
// membership's reactions can complete further sends synchronously only through new events).
void ClusterNode::pump(Time now) {
    for (;;) {
        auto events = messenger_.takeEvents();
        if (events.empty()) return;
        for (auto& event : events) {
            if (auto* d = std::get_if<ReliableMessenger::Delivered>(&event)) {
                if (deliveryObserver) deliveryObserver(*d);
                membership_.onMessage(now, d->peer, d->message);
            } else if (auto* r = std::get_if<ReliableMessenger::SendResult>(&event)) {
                membership_.onSendResult(now, *r);
            }
        }
    }
}

}  // namespace ringgate::cluster
