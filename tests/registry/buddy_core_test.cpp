// The agent's logic on the seed's examples: Fig. 5 (a new server's ServerReplace
// messages), Fig. 6 (the discovering server repairs the ring), claims 15-16 (normal
// shutdown), plus failure counting and the guards against crossing messages.
#include <gtest/gtest.h>

#include "control/registry/buddy_core.h"
#include "tests/registry/store_fixture.h"

namespace ringgate::registry::test {
namespace {

using namespace std::chrono_literals;
using Time = BuddyCore::Time;

protocol::BuddyReply reply(uint64_t version, bool flag, uint32_t a, uint32_t b) {
    return {version, flag, server(a), server(b)};
}

BuddyCore running(uint32_t self, uint32_t a, uint32_t b, uint64_t version = 10, uint32_t failures = 3) {
    BuddyCore core({server(self), failures, 0ms});
    (void)core.start(Time{});
    (void)core.announced(reply(version, true, a, b));
    return core;
}

template <typename T>
std::vector<T> only(const Effects& effects) {
    std::vector<T> out;
    for (const auto& e : effects)
        if (auto* x = std::get_if<T>(&e)) out.push_back(*x);
    return out;
}

// Fig. 5 on Tables 1-2: new server 4 gets buddies (2, 3) and tells server 2 to replace 3
// with 4, and server 3 to replace 2 with 4.
TEST(BuddyCore, Figure5NewServerTellsItsBuddies) {
    BuddyCore core({server(4), 3, 0ms});
    auto first = core.start(Time{});
    ASSERT_EQ(first.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<effect::Announce>(first[0]));
    auto effects = core.announced(reply(4, false, 2, 3));
    auto sends = only<effect::SendReplace>(effects);
    ASSERT_EQ(sends.size(), 2u);
    EXPECT_EQ(sends[0], (effect::SendReplace{server(2), server(3), server(4), 4}));
    EXPECT_EQ(sends[1], (effect::SendReplace{server(3), server(2), server(4), 4}));
    EXPECT_EQ(core.buddyA(), server(2));
    EXPECT_EQ(core.buddyB(), server(3));
}

// ...and server 2 (list 3, 1) applies its message: its list becomes (4, 1) as in Table 2.
TEST(BuddyCore, Figure5ReceiverReplacesTheBuddy) {
    auto core = running(2, 3, 1, 3);
    auto outcome = core.replaceRequested(4, server(3), server(4));
    EXPECT_TRUE(outcome.accepted);
    EXPECT_EQ(core.buddyA(), server(4));
    EXPECT_EQ(core.buddyB(), server(1));
}

// Fig. 6 on Tables 3-4: server 4 finds server 3 dead after N silent probes, deletes it,
// learns (1, 4) and tells server 1 to replace 3 with 4.
TEST(BuddyCore, Figure6DiscovererDeletesAndRepairs) {
    auto core = running(4, 2, 3, 10, 3);
    Time now{};
    std::vector<effect::Delete> deletes;
    for (int tick = 0; tick < 6 && deletes.empty(); ++tick) {
        now += 500ms;
        auto effects = core.tick(now);
        core.answered(server(2));  // 2 answers, 3 is silent
        deletes = only<effect::Delete>(effects);
        if (tick < 3) {
            EXPECT_TRUE(deletes.empty()) << "declared dead after only " << tick << " silent probes";
        }
    }
    ASSERT_EQ(deletes.size(), 1u);
    EXPECT_EQ(deletes[0].server, server(3));
    auto effects = core.deleted(server(3), reply(11, true, 1, 4));
    auto sends = only<effect::SendReplace>(effects);
    ASSERT_EQ(sends.size(), 1u);
    EXPECT_EQ(sends[0], (effect::SendReplace{server(1), server(3), server(4), 11}));
    EXPECT_EQ(core.buddyA(), server(2));
    EXPECT_EQ(core.buddyB(), server(1));  // server 4's entry in Table 4: (2, 1)
    EXPECT_EQ(only<effect::FetchEntry>(effects).size(), 1u);  // and confirms with the registry
}

// Claims 15-16: server 2 of Table 4 shuts down: ServerDelete on itself, then server 4 is
// told (2 -> 1) and server 1 (2 -> 4).
TEST(BuddyCore, Claims15And16NormalShutdown) {
    auto core = running(2, 4, 1);
    auto first = core.shutdown();
    auto deletes = only<effect::Delete>(first);
    ASSERT_EQ(deletes.size(), 1u);
    EXPECT_EQ(deletes[0].server, server(2));
    auto effects = core.leftTable(reply(12, true, 4, 1));
    auto sends = only<effect::SendReplace>(effects);
    ASSERT_EQ(sends.size(), 2u);
    EXPECT_EQ(sends[0], (effect::SendReplace{server(4), server(2), server(1), 12}));
    EXPECT_EQ(sends[1], (effect::SendReplace{server(1), server(2), server(4), 12}));
    EXPECT_EQ(only<effect::Exit>(effects).size(), 1u);
    EXPECT_EQ(core.state(), BuddyCore::State::Gone);
}

TEST(BuddyCore, AnsweringBuddiesAreNeverDeleted) {
    auto core = running(1, 2, 3);
    Time now{};
    for (int tick = 0; tick < 50; ++tick) {
        now += 500ms;
        auto effects = core.tick(now);
        EXPECT_TRUE(only<effect::Delete>(effects).empty());
        EXPECT_EQ(only<effect::Probe>(effects).size(), 2u);  // exactly two probes a round
        core.answered(server(2));
        core.answered(server(3));
    }
}

TEST(BuddyCore, StaleAndMismatchedReplacesDoNotCorruptTheList) {
    auto core = running(1, 2, 3, 20);
    auto stale = core.replaceRequested(15, server(2), server(9));
    EXPECT_TRUE(stale.accepted);
    EXPECT_EQ(core.buddyA(), server(2));  // ignored: older than what the list reflects
    auto wrong = core.replaceRequested(25, server(7), server(9));
    EXPECT_FALSE(wrong.accepted);
    EXPECT_EQ(only<effect::FetchEntry>(wrong.effects).size(), 1u);
    (void)core.entryFetched(reply(26, true, 5, 3));
    EXPECT_EQ(core.buddyA(), server(5));
    EXPECT_EQ(core.version(), 26u);
}

TEST(BuddyCore, AnAgentMissingFromTheTableAnnouncesAgain) {
    auto core = running(1, 2, 3);
    auto effects = core.entryFetched(reply(30, false, 0, 0));
    EXPECT_EQ(only<effect::Announce>(effects).size(), 1u);
    EXPECT_EQ(core.state(), BuddyCore::State::Joining);
}

TEST(BuddyCore, RingOfTwoAndAlone) {
    BuddyCore core({server(2), 3, 0ms});
    (void)core.start(Time{});
    auto effects = core.announced(reply(2, false, 1, 1));
    EXPECT_EQ(only<effect::SendReplace>(effects).size(), 1u);  // one buddy, one message
    BuddyCore alone({server(1), 3, 0ms});
    (void)alone.start(Time{});
    EXPECT_TRUE(only<effect::SendReplace>(alone.announced(reply(1, false, 1, 1))).empty());
    EXPECT_TRUE(only<effect::Probe>(alone.tick(Time{} + 1s)).empty());  // nobody to watch
}

}  // namespace
}  // namespace ringgate::registry::test
