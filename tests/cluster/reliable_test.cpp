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

TEST(Reliable, FragmentsAndReassemblesALargeMessage) {
    ReliableMessenger a(opts(1)), b(opts(2));
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
}

TEST(Reliable, DuplicatesAndReorderingDeliverOnce) {
    ReliableMessenger a(opts(1)), b(opts(2));
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
    EXPECT_EQ(b.counters().stale, 1u);
    EXPECT_TRUE(b.takeEvents().empty());
}

TEST(Reliable, RecognisesARestartedPeer) {
    ReliableMessenger a(opts(1, 100)), b(opts(2, 5));
    // a's old incarnation leaves half a message in b's buffers.
    a.send(0us, 2, bytesOf(2000), SendPolicy{});
    auto first = a.takeOutgoing();
    b.onDatagram(1us, 0, first[0].bytes);
    // a restarts: message ids start again at 1, which b must not confuse with the old ones.
    ReliableMessenger a2(opts(1, 200));
    auto message = bytesOf(2000, 99);
    a2.send(2us, 2, message, SendPolicy{});
    transfer(a2, b, 3us);
    auto delivered = eventsOf<ReliableMessenger::Delivered>(b);
    ASSERT_EQ(delivered.size(), 1u);
    EXPECT_EQ(delivered[0].message, message);
    EXPECT_EQ(b.counters().peerRestarts, 1u);
    // The old incarnation's late fragment is stale now.
    b.onDatagram(4us, 0, first[1].bytes);
    EXPECT_EQ(b.counters().stale, 1u);
}

TEST(Reliable, SenderResendsFragmentsAckedByAPeerThatRestarted) {
    ReliableMessenger a(opts(1)), b(opts(2, 5));
    a.send(0us, 2, bytesOf(2500), SendPolicy{10ms, 3, true});
    auto out = a.takeOutgoing();
    b.onDatagram(1us, 0, out[0].bytes);  // fragment 0 reaches b, then b dies
    transfer(b, a, 1us);
    ReliableMessenger b2(opts(2, 6));
    b2.onDatagram(2us, 0, out[1].bytes);
    b2.onDatagram(2us, 0, out[2].bytes);
    transfer(b2, a, 3us);  // acks from the new epoch: fragment 0 must go again
    a.onTimer(10ms);
    transfer(a, b2, 10ms);
    auto delivered = eventsOf<ReliableMessenger::Delivered>(b2);
    ASSERT_EQ(delivered.size(), 1u);
    EXPECT_EQ(delivered[0].message, bytesOf(2500));
}

TEST(Reliable, ReplayedAndForgedDatagramsAreDropped) {
    std::string key = "cluster-secret-0123456789";
    ReliableMessenger a(opts(1, 1, 1, key)), b(opts(2, 1, 1, key)), mallory(opts(1, 1, 1, "not-the-key-0123456789"));
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

}  // namespace
}  // namespace ringgate::cluster
