// Replication as sans-I/O cores (replication_source_core.h, replication_follower_core.h):
// the primary holds a change until every monitor acknowledged it, drops one that is late
// or answers wrongly, keeps the line's ranks; the follower replays one change at a time,
// acknowledges exactly what it applied, and refuses a stale primary or a diverged copy.
#include <gtest/gtest.h>

#include "control/registry/replication_follower_core.h"
#include "control/registry/replication_source_core.h"
#include "tests/registry/store_fixture.h"

namespace ringgate::registry::test {
namespace {

using namespace std::chrono_literals;
using Source = ReplicationSourceCore;
using Time = Source::Time;

std::vector<std::string> linesTo(const Source::Effects& effects, Source::Monitor monitor) {
    std::vector<std::string> out;
    for (const auto& send : effects.sends)
        if (send.to == monitor) out.push_back(send.line);
    return out;
}

protocol::Apply announce(uint64_t version, uint32_t n) {
    return {version, protocol::Verb::Announce, server(n), {}, 7};
}

TEST(ReplicationSourceCore, AChangeWaitsForEveryMonitor) {
    Source core(1000ms);
    Time now{};
    EXPECT_TRUE(core.replicate(announce(1, 1), now).acknowledged);  // nobody follows: at once
    auto first = core.attach(11, {1, {row(1, 1, 1)}}, 4);
    EXPECT_EQ(linesTo(first, 11), (std::vector<std::string>{"SNAPSHOT 1 " + server(1).toString() + "/" +
                                                                 server(1).toString() + "/" + server(1).toString(),
                                                             "TERM 4", "RANK 1"}));
    auto second = core.attach(22, {1, {row(1, 1, 1)}}, 4);
    EXPECT_EQ(linesTo(second, 22).back(), "RANK 2");
    auto sent = core.replicate(announce(2, 2), now);
    EXPECT_FALSE(sent.acknowledged);
    ASSERT_TRUE(sent.ackDeadline);
    EXPECT_EQ(*sent.ackDeadline, now + 1000ms);
    EXPECT_EQ(linesTo(sent, 11), (std::vector<std::string>{"APPLY 2 ANNOUNCE " + server(2).toString() + " 7"}));
    EXPECT_EQ(linesTo(sent, 22).size(), 1u);
    EXPECT_FALSE(core.line(11, "ACK 2").acknowledged);
    EXPECT_TRUE(core.line(22, "ACK 2").acknowledged);
    EXPECT_EQ(core.counters().replicated, 1u);
    EXPECT_FALSE(core.waiting());
    EXPECT_EQ(linesTo(core.heartbeat(), 22), (std::vector<std::string>{"HEARTBEAT"}));
}

// A monitor that does not acknowledge in time is dropped (told so: its copy is stale) and
// the change goes on; the next in line moves up.
TEST(ReplicationSourceCore, ALateMonitorIsDroppedAndTheLineMovesUp) {
    Source core(1000ms);
    Time now{};
    (void)core.attach(11, {}, 1);
    (void)core.attach(22, {}, 1);
    (void)core.replicate(announce(1, 1), now);
    EXPECT_FALSE(core.line(22, "ACK 1").acknowledged);
    EXPECT_TRUE(core.expire(now + 999ms).drops.empty());  // not yet
    auto late = core.expire(now + 1000ms);
    ASSERT_EQ(late.drops.size(), 1u);
    EXPECT_EQ(late.drops[0].monitor, 11u);
    EXPECT_EQ(late.drops[0].why, "acknowledgement timeout");
    EXPECT_TRUE(late.acknowledged);
    EXPECT_EQ(linesTo(late, 22), (std::vector<std::string>{"RANK 1"}));
    EXPECT_EQ(core.counters().monitorDropped, 1u);
    EXPECT_EQ(core.inLine(), (std::vector<Source::Monitor>{22}));
}

TEST(ReplicationSourceCore, AWrongAcknowledgementOrAClosedStreamEndsTheWait) {
    Source core(1000ms);
    Time now{};
    (void)core.attach(11, {}, 1);
    (void)core.attach(22, {}, 1);
    (void)core.replicate(announce(5, 1), now);
    auto wrong = core.line(11, "ACK 4");  // not the change in hand
    ASSERT_EQ(wrong.drops.size(), 1u);
    EXPECT_EQ(wrong.drops[0].why, "bad acknowledgement");
    EXPECT_EQ(core.counters().badLines, 1u);
    EXPECT_FALSE(wrong.acknowledged);
    auto closed = core.closed(22);
    EXPECT_TRUE(closed.drops.empty());  // nobody left to tell
    EXPECT_TRUE(closed.acknowledged);
    EXPECT_FALSE(core.attached());
    EXPECT_EQ(core.counters().monitorDropped, 2u);
}

// A monitor attaching while a change waits already has it in its snapshot: it is not
// awaited for that change.
TEST(ReplicationSourceCore, ANewcomerOwesNoAcknowledgementForTheChangeInHand) {
    Source core(1000ms);
    (void)core.attach(11, {}, 1);
    (void)core.replicate(announce(3, 1), Time{});
    (void)core.attach(22, {3, {row(1, 1, 1)}}, 1);
    EXPECT_TRUE(core.line(11, "ACK 3").acknowledged);
}

using Follower = ReplicationFollowerCore;

TEST(ReplicationFollowerCore, OneStoreOperationAtATimeAndAnAckForEach) {
    Follower core;
    core.connected();
    auto snapshot = core.line("SNAPSHOT 4 " + server(1).toString() + "/" + server(1).toString() + "/" +
                              server(1).toString());
    ASSERT_TRUE(snapshot.load);
    EXPECT_EQ(snapshot.load->version, 4u);
    // Lines that arrive meanwhile wait for the load.
    EXPECT_FALSE(core.line("TERM 3").load);
    auto waiting = core.line("APPLY 5 ANNOUNCE " + server(2).toString() + " 0");
    EXPECT_FALSE(waiting.replay);
    EXPECT_FALSE(core.copyCurrent());
    auto loaded = core.loaded({});
    EXPECT_TRUE(core.synced());
    EXPECT_TRUE(core.copyCurrent());
    EXPECT_EQ(core.primaryTerm(), 3u);
    ASSERT_TRUE(loaded.replay);  // the waiting change, now
    EXPECT_EQ(loaded.replay->version, 5u);
    EXPECT_TRUE(loaded.sends.empty());
    auto replayed = core.replayed(uint64_t{5});
    EXPECT_EQ(replayed.sends, (std::vector<std::string>{"ACK 5"}));
    EXPECT_EQ(core.applied(), 1u);
    EXPECT_EQ(core.version(), 5u);
    (void)core.line("RANK 2");
    EXPECT_EQ(core.rank(), 2u);
}

TEST(ReplicationFollowerCore, ADivergedCopyResynchronisesAndIsStale) {
    Follower core;
    core.connected();
    (void)core.line("SNAPSHOT 4");
    (void)core.loaded({});
    (void)core.line("APPLY 5 DELETE " + server(2).toString());
    auto diverged = core.replayed(uint64_t{4});  // our copy gave another version
    EXPECT_TRUE(diverged.sends.empty());  // never acknowledge what we do not hold
    ASSERT_TRUE(diverged.close);
    EXPECT_EQ(*diverged.close, "copy diverged");
    EXPECT_FALSE(core.copyCurrent());
}

TEST(ReplicationFollowerCore, AStalePrimaryIsNotFollowed) {
    Follower core;
    core.setMinimumTerm(7);
    core.connected();
    auto stale = core.line("TERM 6");
    ASSERT_TRUE(stale.close);
    EXPECT_EQ(*stale.close, "stale primary");
    EXPECT_FALSE(core.copyCurrent());
    core.connected();
    EXPECT_FALSE(core.line("TERM 7").close);
    EXPECT_TRUE(core.line("HELLO").close);           // anything unexpected ends the stream
    EXPECT_TRUE(core.line("APPLY 1 DROP x").close);  // as does a malformed change
}

// The stream ended while a change was being replayed: its answer must not reach the new
// stream as an acknowledgement (the new primary awaits nothing), and the new stream's
// snapshot, which arrived meanwhile, is loaded next.
TEST(ReplicationFollowerCore, AnOperationOfAnEndedStreamIsNotAcknowledged) {
    Follower core;
    core.connected();
    (void)core.line("SNAPSHOT 1");
    (void)core.loaded({});
    ASSERT_TRUE(core.line("APPLY 2 DELETE " + server(2).toString()).replay);
    core.connected();  // the primary died; the monitor follows the new one
    EXPECT_FALSE(core.line("SNAPSHOT 9").load);  // waits for the replay in hand
    auto late = core.replayed(uint64_t{2});
    EXPECT_TRUE(late.sends.empty());
    ASSERT_TRUE(late.load);
    EXPECT_EQ(late.load->version, 9u);
    (void)core.loaded({});
    EXPECT_TRUE(core.synced());
    EXPECT_EQ(core.version(), 9u);
}

}  // namespace
}  // namespace ringgate::registry::test
