// The Reliable Message layer of seed 004 (§B.1), sans-I/O: messages of any size cut into
// acknowledged packets over UDP. A packet whose timer expires is resent on the next path
// (one path per subnet) with its timeout doubled; after the last retry on every path the
// sender gets a failure event carrying the original message. The receiver acknowledges
// every packet, reassembles in bounded buffers, and hands each message up exactly once.
// A peer's incarnation (epoch) travels in every packet, so a restarted peer is recognised
// and no state of its previous life is used.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "control/cluster/packet.h"

namespace ringgate::cluster {

// Time on the control thread's clock (steady in the daemon, virtual in the simulation).
using Time = std::chrono::microseconds;

struct SendPolicy {
    Time timeout{40'000};  // first wait for an acknowledgement
    uint32_t retries = 2;  // resends after the first attempt (at least one try per path)
    bool doubling = true;  // double the timeout on every resend (seed 004); the token's
                           // hand-off keeps it fixed: its budget is validated by the config
};

struct Datagram {
    NodeId peer = 0;
    uint8_t path = 0;
    std::vector<uint8_t> bytes;
};

struct MessengerCounters {
    uint64_t datagramsSent = 0;
    uint64_t bytesSent = 0;
    uint64_t datagramsReceived = 0;
    uint64_t bytesReceived = 0;
    uint64_t resends = 0;
    uint64_t malformed = 0;        // failed decodePacket (bad length, checksum, ...)
    uint64_t unauthenticated = 0;  // missing/wrong HMAC tag
    uint64_t replayed = 0;         // authentic but already seen (replay window)
    uint64_t stale = 0;            // from an older incarnation of the peer, or not for us
    uint64_t messagesSent = 0;
    uint64_t messagesDelivered = 0;
    uint64_t duplicateMessages = 0;  // complete again after delivery: acked, not delivered
    uint64_t sendFailures = 0;
    uint64_t bufferDrops = 0;        // receive buffers full
    uint64_t peerRestarts = 0;
};

class ReliableMessenger {
public:
    struct Options {
        NodeId self = 0;
        uint64_t epoch = 1;  // must grow across restarts of this node
        AuthKey key;
        uint8_t pathCount = 1;
        size_t maxIncompletePerPeer = 16;
        size_t maxBufferedBytesPerPeer = 2 * kMaxMessageLength;
        size_t dedupWindow = 4096;  // delivered message ids remembered above the floor
    };

    struct Delivered {
        NodeId peer;
        uint64_t peerEpoch;
        uint64_t messageId;
        std::vector<uint8_t> message;
    };
    struct SendResult {
        uint64_t messageId;
        NodeId peer;
        bool delivered;
        std::vector<uint8_t> message;  // the original, for the upper layer's failure path
    };
    struct PeerRestarted {
        NodeId peer;
        uint64_t epoch;
    };
    using Event = std::variant<Delivered, SendResult, PeerRestarted>;

    explicit ReliableMessenger(Options options);

    // Queues a message; returns its id (per peer, from 1). Empty messages are not allowed.
    uint64_t send(Time now, NodeId peer, std::vector<uint8_t> message, SendPolicy policy);
    // Forgets a pending message without a result (the upper layer lost interest).
    void cancel(NodeId peer, uint64_t messageId);
    void onDatagram(Time now, uint8_t path, std::span<const uint8_t> datagram);
    void onTimer(Time now);
    std::optional<Time> nextDeadline() const;

    std::vector<Datagram> takeOutgoing() { return std::exchange(outgoing_, {}); }
    std::vector<Event> takeEvents() { return std::exchange(events_, {}); }

    const MessengerCounters& counters() const { return counters_; }
    const Options& options() const { return options_; }
    size_t pendingMessages() const { return outbound_.size(); }
    // When the last authentic datagram from this peer arrived.
    std::optional<Time> lastHeard(NodeId peer) const;

private:
    struct OutFragment {
        bool acked = false;
        uint32_t attempts = 0;
        Time timeout{};
        Time deadline{};
    };
    struct OutMessage {
        NodeId peer = 0;
        uint64_t id = 0;
        std::vector<uint8_t> message;
        SendPolicy policy;
        std::vector<OutFragment> fragments;
        size_t unacked = 0;
    };
    struct Partial {
        std::vector<uint8_t> bytes;
        std::vector<bool> have;
        size_t missing = 0;
        Time lastActivity{};
    };
    struct ReplayWindow {
        uint64_t highest = 0;
        uint64_t bitmap = 0;  // bit i: highest - i seen
        bool accept(uint64_t counter);
    };
    struct PeerIn {
        uint64_t epoch = 0;
        ReplayWindow replay;
        uint64_t deliveredFloor = 1;  // every id below has been delivered (or given up)
        std::set<uint64_t> deliveredAbove;
        std::map<uint64_t, Partial> partials;
        size_t bufferedBytes = 0;
    };
    struct PeerOut {
        uint64_t nextMessageId = 1;
    };
    using Key = std::pair<NodeId, uint64_t>;

    bool checkEpoch(NodeId peer, uint64_t epoch);
    void onData(Time now, uint8_t path, const Packet& packet);
    void onAck(Time now, const Packet& packet);
    void sendFragment(Time now, OutMessage& message, uint16_t index);
    void emit(NodeId peer, uint8_t path, const PacketHeader& header, std::span<const uint8_t> payload);
    bool alreadyDelivered(const PeerIn& in, uint64_t id) const;
    void markDelivered(PeerIn& in, uint64_t id);
    uint32_t attemptLimit(const OutMessage& message) const;

    Options options_;
    uint64_t counter_ = 0;
    std::map<Key, OutMessage> outbound_;
    std::unordered_map<NodeId, PeerIn> inbound_;
    std::unordered_map<NodeId, PeerOut> peersOut_;
    std::unordered_map<NodeId, Time> lastHeard_;
    std::vector<Datagram> outgoing_;
    std::vector<Event> events_;
    MessengerCounters counters_;
};

}  // namespace ringgate::cluster
