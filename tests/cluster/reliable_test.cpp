// The reliable message layer: fragmentation, acks, resends with doubled timeouts, paths,
// failure callbacks, duplicates and reordering, bounded buffers, restarted peers, replays.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "control/cluster/reliable.h"

namespace ringgate::cluster {
namespace {

using namespace std::chrono_literals;

ReliableMessenger::Options opts(NodeId self, uint64_t epoch = 1, uint8_t paths = 1, std::string key = "") {
    ReliableMessenger::Options o;
    o.self = self;
    o.epoch = epoch;
    o.pathCount = paths;
    o.key = AuthKey(key);
    return o;
}

std::vector<uint8_t> bytesOf(size_t n, uint8_t seed = 1) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
    return v;
}

template <typename T>
std::vector<T> eventsOf(ReliableMessenger& m) {
    std::vector<T> out;
    for (auto& e : m.takeEvents())
        if (auto* x = std::get_if<T>(&e)) out.push_back(std::move(*x));
    return out;
}

// Delivers every datagram `from` has queued to `to`, optionally filtered.
template <typename Filter>
size_t transfer(ReliableMessenger& from, ReliableMessenger& to, Time now, Filter keep) {
    size_t n = 0;
    for (auto& d : from.takeOutgoing())
        if (keep(d)) {
            to.onDatagram(now, d.path, d.bytes);
            ++n;
        }
    return n;
}
size_t transfer(ReliableMessenger& from, ReliableMessenger& to, Time now) {
    return transfer(from, to, now, [](const Datagram&) { return true; });
}

// Carries datagrams both ways until neither side has more (challenges, responses, acks).
void pump(ReliableMessenger& a, ReliableMessenger& b, Time now) {
    while (transfer(a, b, now) + transfer(b, a, now) > 0) {
    }
}

// The two confirm each other's epochs with one small message; events are cleared.
void introduce(ReliableMessenger& a, ReliableMessenger& b) {
    a.send(0us, b.options().self, bytesOf(1), SendPolicy{});
    pump(a, b, 0us);
    a.takeEvents();
    b.takeEvents();
}

std::vector<uint8_t> forged(PacketKind kind, NodeId from, NodeId to, uint64_t epoch, uint64_t counter,
                            const std::string& key = "") {
    PacketHeader h;
    h.kind = kind;
    h.sender = from;
    h.receiver = to;
    h.senderEpoch = epoch;
    h.counter = counter;
    h.messageId = 1;
    std::vector<uint8_t> payload;
    if (kind == PacketKind::Data) {
        payload = bytesOf(4);
        h.messageLength = 4;
    }
    return encodePacket(h, payload, AuthKey(key));
}

TEST(Reliable, FragmentsAndReassemblesALargeMessage) {
    ReliableMessenger a(opts(1)), b(opts(2));
    introduce(a, b);
    auto message = bytesOf(100'000);
    a.send(0us, 2, message, SendPolicy{});
    EXPECT_EQ(transfer(a, b, 1us), (100'000 + kMaxFragmentPayload - 1) / kMaxFragmentPayload);
    auto delivered = eventsOf<ReliableMessenger::Delivered>(b);
    ASSERT_EQ(delivered.size(), 1u);
    EXPECT_EQ(delivered[0].message, message);
    EXPECT_EQ(delivered[0].peer, 1u);
    transfer(b, a, 2us);
    auto results = eventsOf<ReliableMessenger::SendResult>(a);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_TRUE(results[0].delivered);
    EXPECT_EQ(a.pendingMessages(), 0u);
}

TEST(Reliable, ResendsWithDoubledTimeoutThenReportsFailureWithTheMessage) {
    ReliableMessenger a(opts(1));
    auto message = bytesOf(10);
    a.send(0us, 2, message, SendPolicy{10ms, 2, true});
    a.takeOutgoing();  // lost
    EXPECT_EQ(a.nextDeadline(), Time(10ms));
    a.onTimer(10ms);
    EXPECT_EQ(a.takeOutgoing().size(), 1u);
    EXPECT_EQ(a.nextDeadline(), Time(30ms));  // 10 + 20
    a.onTimer(30ms);
    EXPECT_EQ(a.takeOutgoing().size(), 1u);
    EXPECT_EQ(a.nextDeadline(), Time(70ms));  // 30 + 40
    EXPECT_TRUE(eventsOf<ReliableMessenger::SendResult>(a).empty());
    a.onTimer(70ms);
    auto results = eventsOf<ReliableMessenger::SendResult>(a);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_FALSE(results[0].delivered);
    EXPECT_EQ(results[0].message, message);
    EXPECT_EQ(a.counters().resends, 2u);
    EXPECT_FALSE(a.nextDeadline());
}

TEST(Reliable, FixedTimeoutPolicyDoesNotDouble) {
    ReliableMessenger a(opts(1));
    a.send(0us, 2, bytesOf(10), SendPolicy{40ms, 2, false});
    a.onTimer(40ms);
    EXPECT_EQ(a.nextDeadline(), Time(80ms));
}

TEST(Reliable, DeliversWhileAnyPathWorks) {
    ReliableMessenger a(opts(1, 1, 2)), b(opts(2, 1, 2));
    introduce(a, b);
    a.send(0us, 2, bytesOf(3000), SendPolicy{10ms, 0, true});
    auto dropPath0 = [](const Datagram& d) { return d.path != 0; };
    EXPECT_EQ(transfer(a, b, 1us, dropPath0), 0u);  // first attempts all on path 0
    a.onTimer(10ms);                                 // every path is tried at least once
    EXPECT_EQ(transfer(a, b, 10ms, dropPath0), 3u);
    ASSERT_EQ(eventsOf<ReliableMessenger::Delivered>(b).size(), 1u);
    transfer(b, a, 11ms);
    auto results = eventsOf<ReliableMessenger::SendResult>(a);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_TRUE(results[0].delivered);
    // The path that worked is tried first from now on: no timeout for the next message.
    a.send(20ms, 2, bytesOf(10), SendPolicy{10ms, 0, true});
    EXPECT_EQ(transfer(a, b, 20ms, dropPath0), 1u);
    EXPECT_EQ(eventsOf<ReliableMessenger::Delivered>(b).size(), 1u);
}

TEST(Reliable, DuplicatesAndReorderingDeliverOnce) {
    ReliableMessenger a(opts(1)), b(opts(2));
    introduce(a, b);
    std::mt19937 random(7);
    std::vector<std::vector<uint8_t>> sent;
    std::vector<Datagram> wire;
    for (int i = 0; i < 20; ++i) {
        sent.push_back(bytesOf(1 + random() % 5000, static_cast<uint8_t>(i)));
        a.send(0us, 2, sent.back(), SendPolicy{});
    }
    for (auto& d : a.takeOutgoing()) {
        wire.push_back(d);
        wire.push_back(d);
    }
    std::shuffle(wire.begin(), wire.end(), random);
    for (auto& d : wire) b.onDatagram(1us, d.path, d.bytes);
    // Resends after the message completed are acknowledged but not delivered again.
    a.onTimer(40ms);
    transfer(a, b, 40ms);
    auto delivered = eventsOf<ReliableMessenger::Delivered>(b);
    ASSERT_EQ(delivered.size(), sent.size());
    std::sort(delivered.begin(), delivered.end(), [](auto& x, auto& y) { return x.messageId < y.messageId; });
    for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(delivered[i].message, sent[i]);
    transfer(b, a, 41ms);
    EXPECT_EQ(eventsOf<ReliableMessenger::SendResult>(a).size(), sent.size());
}

TEST(Reliable, ReceiveBuffersAreBounded) {
    ReliableMessenger a(opts(1)), b(opts(2));
    introduce(a, b);
    // 40 large messages whose last fragment never arrives: at most 16 are buffered.
    for (int i = 0; i < 40; ++i) a.send(0us, 2, bytesOf(5000), SendPolicy{});
    transfer(a, b, 1us, [](const Datagram& d) {
        auto p = decodePacket(d.bytes, AuthKey());
        return p.packet && p.packet->header.fragmentIndex + 1 < p.packet->header.fragmentCount;
    });
    EXPECT_GT(b.counters().bufferDrops, 0u);
    EXPECT_TRUE(eventsOf<ReliableMessenger::Delivered>(b).empty());
}

TEST(Reliable, HostileDatagramsAreCountedNotDelivered) {
    ReliableMessenger b(opts(2));
    std::vector<uint8_t> junk = bytesOf(80);
    b.onDatagram(0us, 0, junk);
    b.onDatagram(0us, 0, {});
    EXPECT_EQ(b.counters().malformed, 2u);
    // Well-formed but addressed to another node.
    ReliableMessenger a(opts(1));
    a.send(0us, 3, bytesOf(10), SendPolicy{});
    transfer(a, b, 1us);
    EXPECT_EQ(b.counters().notForUs, 1u);
    EXPECT_EQ(b.counters().refused(), 3u);
    EXPECT_TRUE(b.takeEvents().empty());
}

TEST(Reliable, RefusesASenderThatIsNotAtItsAddress) {
    ReliableMessenger a(opts(1)), b(opts(2));
    introduce(a, b);
    a.send(0us, 2, bytesOf(10), SendPolicy{});
    auto out = a.takeOutgoing();
    b.onDatagram(1us, 0, out[0].bytes, NodeId{3});  // arrived from node 3's address
    EXPECT_EQ(b.counters().spoofed, 1u);
    EXPECT_TRUE(b.takeEvents().empty());
    b.onDatagram(2us, 0, out[0].bytes, NodeId{1});
    EXPECT_EQ(eventsOf<ReliableMessenger::Delivered>(b).size(), 1u);
}

TEST(Reliable, RecognisesARestartedPeer) {
    ReliableMessenger a(opts(1, 100)), b(opts(2, 5));
    introduce(a, b);
    // a's old incarnation leaves half a message in b's buffers.
    a.send(0us, 2, bytesOf(2000), SendPolicy{});
    auto first = a.takeOutgoing();
    b.onDatagram(1us, 0, first[0].bytes);
    // a restarts: message ids start again at 1, which b must not confuse with the old ones.
    ReliableMessenger a2(opts(1, 200));
    auto message = bytesOf(2000, 99);
    a2.send(2us, 2, message, SendPolicy{});
    pump(a2, b, 3us);  // b confirms the new epoch with a challenge first
    auto delivered = eventsOf<ReliableMessenger::Delivered>(b);
    ASSERT_EQ(delivered.size(), 1u);
    EXPECT_EQ(delivered[0].message, message);
    EXPECT_EQ(b.counters().peerRestarts, 1u);
    // The old incarnation's late fragment is stale now.
    b.onDatagram(4us, 0, first[1].bytes);
    EXPECT_EQ(b.counters().staleEpoch, 1u);
}

TEST(Reliable, SenderResendsFragmentsAckedByAPeerThatRestarted) {
    ReliableMessenger a(opts(1)), b(opts(2, 5));
    introduce(a, b);
    a.send(0us, 2, bytesOf(2500), SendPolicy{10ms, 3, true});
    auto out = a.takeOutgoing();
    b.onDatagram(1us, 0, out[0].bytes);  // fragment 0 reaches b, then b dies
    transfer(b, a, 1us);
    ReliableMessenger b2(opts(2, 6));
    b2.onDatagram(2us, 0, out[1].bytes);
    b2.onDatagram(2us, 0, out[2].bytes);
    pump(b2, a, 3us);  // acks from the new epoch, once confirmed: fragment 0 must go again
    a.onTimer(10ms);
    pump(a, b2, 10ms);
    auto delivered = eventsOf<ReliableMessenger::Delivered>(b2);
    ASSERT_EQ(delivered.size(), 1u);
    EXPECT_EQ(delivered[0].message, bytesOf(2500));
}

TEST(Reliable, ReplayedAndForgedDatagramsAreDropped) {
    std::string key = "cluster-secret-0123456789";
    ReliableMessenger a(opts(1, 1, 1, key)), b(opts(2, 1, 1, key)), mallory(opts(1, 1, 1, "not-the-key-0123456789"));
    introduce(a, b);
    a.send(0us, 2, bytesOf(10), SendPolicy{});
    auto out = a.takeOutgoing();
    b.onDatagram(1us, 0, out[0].bytes);
    EXPECT_EQ(eventsOf<ReliableMessenger::Delivered>(b).size(), 1u);
    b.onDatagram(2us, 0, out[0].bytes);
    EXPECT_EQ(b.counters().replayed, 1u);
    mallory.send(0us, 2, bytesOf(10), SendPolicy{});
    transfer(mallory, b, 3us);
    EXPECT_EQ(b.counters().unauthenticated, 1u);
    EXPECT_TRUE(eventsOf<ReliableMessenger::Delivered>(b).empty());
}

// Issue 16: one spoofed ack with epoch 2^64-1 from a peer's address used to make the
// receiver drop that peer's datagrams as stale for good.
TEST(Reliable, AForgedEpochDoesNotPoisonAPeer) {
    ReliableMessenger a(opts(1, 7)), b(opts(2));
    introduce(a, b);
    uint64_t challenges = b.counters().challengesSent;
    b.onDatagram(1us, 0, forged(PacketKind::Ack, 1, 2, UINT64_MAX, 1), NodeId{1});
    b.onDatagram(1us, 0, forged(PacketKind::Data, 1, 2, UINT64_MAX, 2), NodeId{1});
    EXPECT_EQ(b.counters().challengesSent, challenges + 1);
    pump(a, b, 2us);  // the real node 1 answers the challenge with its real epoch
    EXPECT_EQ(b.counters().unconfirmed, 2u);
    EXPECT_EQ(b.counters().peerRestarts, 0u);
    auto message = bytesOf(50, 3);
    a.send(3us, 2, message, SendPolicy{});
    pump(a, b, 3us);
    auto delivered = eventsOf<ReliableMessenger::Delivered>(b);
    ASSERT_EQ(delivered.size(), 1u);
    EXPECT_EQ(delivered[0].message, message);
    EXPECT_EQ(b.counters().staleEpoch, 0u);
}

TEST(Reliable, AnUnansweredForgedRestartChangesNothing) {
    ReliableMessenger a(opts(1, 7)), b(opts(2));
    introduce(a, b);
    b.onDatagram(1us, 0, forged(PacketKind::Data, 1, 2, 8, 1'000'000));
    b.takeOutgoing();  // the challenge never reaches node 1
    a.send(2us, 2, bytesOf(10), SendPolicy{});
    transfer(a, b, 2us);  // the real epoch is still the confirmed one: no challenge needed
    EXPECT_EQ(eventsOf<ReliableMessenger::Delivered>(b).size(), 1u);
    EXPECT_EQ(b.counters().peerRestarts, 0u);
    EXPECT_TRUE(eventsOf<ReliableMessenger::PeerRestarted>(b).empty());
}

// With a key, one authentic datagram whose counter is far ahead used to shut the peer out
// through the replay window.
TEST(Reliable, ACounterFarAheadIsConfirmedBeforeItMovesTheWindow) {
    std::string key = "cluster-secret-0123456789";
    ReliableMessenger a(opts(1, 7, 1, key)), b(opts(2, 1, 1, key));
    introduce(a, b);
    b.onDatagram(1us, 0, forged(PacketKind::Data, 1, 2, 7, UINT64_MAX - 1, key));
    pump(a, b, 2us);
    EXPECT_EQ(b.counters().unconfirmed, 1u);
    for (int i = 0; i < 3; ++i) a.send(3us, 2, bytesOf(10, static_cast<uint8_t>(i)), SendPolicy{});
    pump(a, b, 3us);
    EXPECT_EQ(eventsOf<ReliableMessenger::Delivered>(b).size(), 3u);
    EXPECT_EQ(b.counters().replayed, 0u);
}

// Without a key, one forged datagram with the peer's real epoch and a counter just inside
// the allowed jump used to push the replay window ahead of the peer: its real datagrams
// were refused as replays until its counter caught up (2^20 datagrams). The first one
// refused as too old now challenges the peer, and the window moves back to its answer.
TEST(Reliable, AForgedCounterWithoutAKeyIsUndoneByTheNextChallenge) {
    ReliableMessenger a(opts(1, 7)), b(opts(2));
    introduce(a, b);
    uint64_t ahead = (uint64_t{1} << 20) - 1;
    b.onDatagram(1us, 0, forged(PacketKind::Ack, 1, 2, 7, ahead), NodeId{1});
    EXPECT_EQ(b.counters().challengesSent, 1u);  // the introduction's only
    for (int i = 0; i < 3; ++i) a.send(2us, 2, bytesOf(10, static_cast<uint8_t>(i)), SendPolicy{});
    pump(a, b, 2us);
    auto delivered = eventsOf<ReliableMessenger::Delivered>(b);
    EXPECT_EQ(delivered.size(), 3u);
    EXPECT_EQ(b.counters().windowResets, 1u);
    EXPECT_EQ(b.counters().replayed, 0u);
    // Nothing pending at node 1: every fragment was acknowledged without a resend.
    EXPECT_EQ(a.pendingMessages(), 0u);
    // A true replay is still refused after the reset.
    a.send(3us, 2, bytesOf(10), SendPolicy{});
    auto out = a.takeOutgoing();
    b.onDatagram(4us, 0, out[0].bytes);
    b.onDatagram(5us, 0, out[0].bytes);
    EXPECT_EQ(b.counters().replayed, 1u);
}

// With a key the window cannot be pushed by a forger: an old authentic datagram is a
// replay and triggers no challenge.
TEST(Reliable, AnOldAuthenticDatagramIsAReplayWithAKey) {
    std::string key = "cluster-secret-0123456789";
    ReliableMessenger a(opts(1, 7, 1, key)), b(opts(2, 1, 1, key));
    introduce(a, b);
    a.send(0us, 2, bytesOf(10), SendPolicy{});
    auto old = a.takeOutgoing();
    for (int i = 0; i < 70; ++i) {
        a.send(1us, 2, bytesOf(10), SendPolicy{});
        pump(a, b, 1us);
    }
    uint64_t challenges = b.counters().challengesSent;
    b.onDatagram(2us, 0, old[0].bytes);
    EXPECT_EQ(b.counters().replayed, 1u);
    EXPECT_EQ(b.counters().challengesSent, challenges);
}

TEST(Reliable, ReplaysAreCountedWithoutAKeyToo) {
    ReliableMessenger a(opts(1)), b(opts(2));
    introduce(a, b);
    a.send(0us, 2, bytesOf(10), SendPolicy{});
    auto out = a.takeOutgoing();
    b.onDatagram(1us, 0, out[0].bytes);
    b.onDatagram(2us, 0, out[0].bytes);
    EXPECT_EQ(b.counters().replayed, 1u);
    EXPECT_EQ(eventsOf<ReliableMessenger::Delivered>(b).size(), 1u);
}

TEST(Reliable, IdleIncompleteMessagesAreEvicted) {
    ReliableMessenger a(opts(1)), b(opts(2));
    introduce(a, b);
    a.send(0us, 2, bytesOf(5000), SendPolicy{});
    auto out = a.takeOutgoing();
    b.onDatagram(1us, 0, out[0].bytes);  // the rest never comes
    b.onTimer(1s);
    EXPECT_EQ(b.counters().partialsEvicted, 0u);
    b.onTimer(1us + b.options().partialTimeout);
    EXPECT_EQ(b.counters().partialsEvicted, 1u);
}

}  // namespace
}  // namespace ringgate::cluster
