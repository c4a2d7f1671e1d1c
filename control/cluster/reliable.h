// The Reliable Message layer of seed 004 (§B.1), sans-I/O: messages of any size cut into
// acknowledged packets over UDP. A packet whose timer expires is resent on the next path
// (one path per subnet) with its timeout doubled; after the last retry on every path the
// sender gets a failure event carrying the original message. The receiver acknowledges
// every packet, reassembles in bounded buffers, and hands each message up exactly once.
// A peer's incarnation (epoch) travels in every packet, so a restarted peer is recognised
// and no state of its previous life is used. No single datagram can move a peer's epoch or
// counter, with or without a key: a new epoch (also the first one) or a counter far ahead
// is held until the peer, challenged at its own address with a random nonce, confirms it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
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
    // Refused datagrams, by reason (refusedByReason() lists them all).
    uint64_t malformed = 0;        // failed decodePacket (bad length, checksum, ...)
    uint64_t unauthenticated = 0;  // missing/wrong HMAC tag
    uint64_t replayed = 0;         // counter already seen or below the replay window
    uint64_t staleEpoch = 0;       // from an older incarnation of the peer
    uint64_t notForUs = 0;         // addressed to another node, or naming us or node 0 as sender
    uint64_t spoofed = 0;          // sender in the header is not the node at the source address
    uint64_t unconfirmed = 0;      // new epoch / counter jump the peer did not confirm
    uint64_t unsolicited = 0;      // a response to no challenge of ours (or a wrong nonce)
    uint64_t challengesSent = 0;
    uint64_t responsesSent = 0;
    uint64_t windowResets = 0;     // keyless: a replay window pushed ahead by forgeries, moved back
    uint64_t partialsEvicted = 0;  // incomplete messages idle past partialTimeout, freed
    uint64_t messagesSent = 0;
    uint64_t messagesDelivered = 0;
    uint64_t duplicateMessages = 0;  // complete again after delivery: acked, not delivered
    uint64_t sendFailures = 0;
    uint64_t bufferDrops = 0;        // receive buffers full
    uint64_t peerRestarts = 0;

    struct Reason {
        const char* name;
        uint64_t count;
    };
    std::vector<Reason> refusedByReason() const;
    uint64_t refused() const;
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
        uint64_t nonceSeed = 1;     // seeds the challenge nonces (random in the daemon)
        Time partialTimeout{5'000'000};  // an incomplete message idle this long is freed
        // A counter this far past the highest seen is confirmed by a challenge first (a
        // legitimate gap is the datagrams the peer sent to others meanwhile).
        uint64_t maxCounterJump = uint64_t{1} << 20;
        Time rechallengeAfter{10'000};  // resend an unanswered challenge no sooner than this
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
    // `source`: the node whose configured address the datagram came from (0: none), when
    // the shell knows it; a header naming another sender is refused as spoofed.
    void onDatagram(Time now, uint8_t path, std::span<const uint8_t> datagram,
                    std::optional<NodeId> source = std::nullopt);
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
        static constexpr uint64_t kSize = 64;
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
    // A challenge awaiting the peer's response, and what arrived meanwhile (bounded).
    struct Challenge {
        uint64_t nonce = 0;
        Time sentAt{};
        std::vector<std::pair<uint8_t, std::vector<uint8_t>>> held;  // (path, datagram)
    };
    struct PeerOut {
        uint64_t nextMessageId = 1;
        uint8_t preferredPath = 0;  // the path of the last acknowledgement: first tries go there
    };
    using Key = std::pair<NodeId, uint64_t>;

    void accept(Time now, uint8_t path, const Packet& packet, std::span<const uint8_t> datagram, bool held);
    void challenge(Time now, uint8_t path, NodeId peer, std::span<const uint8_t> datagram);
    void onResponse(Time now, const Packet& packet);
    void restarted(NodeId peer, uint64_t epoch);
    void evictIdlePartials(Time now);
    void onData(Time now, uint8_t path, const Packet& packet);
    void onAck(Time now, uint8_t path, const Packet& packet);
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
    std::unordered_map<NodeId, Challenge> challenges_;
    std::mt19937_64 nonces_;
    std::vector<Datagram> outgoing_;
    std::vector<Event> events_;
    MessengerCounters counters_;
};

}  // namespace ringgate::cluster
