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
    std::vector<effect::ReportDeath> deletes;
    size_t fetches = 0;
    for (int tick = 0; tick < 6 && deletes.empty(); ++tick) {
        now += 500ms;
        auto effects = core.tick(now);
        core.answered(server(2));  // 2 answers, 3 is silent
        deletes = only<effect::ReportDeath>(effects);
        fetches += only<effect::FetchEntry>(effects).size();
        if (tick < 3) {
            EXPECT_TRUE(deletes.empty()) << "declared dead after only " << tick << " silent probes";
        }
    }
    ASSERT_EQ(deletes.size(), 1u);
    EXPECT_EQ(deletes[0].server, server(3));
    EXPECT_EQ(deletes[0].version, 10u);  // the version its list reflects: evidence, not an order
    auto effects = core.deleted(server(3), reply(11, true, 1, 4));
    auto sends = only<effect::SendReplace>(effects);
    ASSERT_EQ(sends.size(), 1u);
    EXPECT_EQ(sends[0], (effect::SendReplace{server(1), server(3), server(4), 11}));
    EXPECT_EQ(core.buddyA(), server(2));
    EXPECT_EQ(core.buddyB(), server(1));  // server 4's entry in Table 4: (2, 1)
    // ...and confirms with the registry (asked when reporting, asked again after the repair).
    EXPECT_EQ(fetches, 1u);
    (void)core.entryFetched(reply(10, true, 2, 3));  // the answer that predates the delete
    EXPECT_EQ(core.buddyB(), server(1));             // is not taken over newer knowledge
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
        EXPECT_TRUE(only<effect::ReportDeath>(effects).empty());
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

// Defect: an agent that found itself absent while a re-read was pending threw the new
// re-read away and kept `fetching` set, so it never re-read its entry again. Declared
// dead a second time (after a heal), it then stayed out of the table for good.
TEST(BuddyCore, FindingItselfAbsentDuringAReReadKeepsReReading) {
    BuddyCore core({server(1), 3, 2000ms});
    Time now{};
    (void)core.start(now);
    (void)core.announced(reply(10, true, 2, 3));
    now += 2000ms;
    ASSERT_EQ(only<effect::FetchEntry>(core.tick(now)).size(), 1u);  // periodic re-read in flight
    (void)core.replaceRequested(11, server(2), server(4));            // asks for another one
    auto effects = core.entryFetched(reply(12, false, 0, 0));         // absent
    EXPECT_EQ(only<effect::Announce>(effects).size(), 1u);
    (void)core.announced(reply(13, false, 2, 3));
    ASSERT_EQ(core.state(), BuddyCore::State::Running);
    // Removed again later: the periodic re-read must still run and find it out.
    now += 2000ms;
    ASSERT_EQ(only<effect::FetchEntry>(core.tick(now)).size(), 1u);
    EXPECT_EQ(only<effect::Announce>(core.entryFetched(reply(14, false, 0, 0))).size(), 1u);
}

// A ServerReplace with a version no registry issued must not make the agent ignore the
// registry for good: the registry's next answer wins; far-future versions are refused.
TEST(BuddyCore, VersionsFromTheFutureDoNotOutliveTheRegistrysAnswer) {
    auto core = running(1, 2, 3, 20);
    auto far = core.replaceRequested(20 + kMaxVersionLead + 1, server(2), server(9));
    EXPECT_FALSE(far.accepted);
    EXPECT_EQ(core.buddyA(), server(2));
    auto near = core.replaceRequested(5000, server(2), server(9));  // forged, within the bound
    EXPECT_TRUE(near.accepted);
    ASSERT_EQ(only<effect::FetchEntry>(near.effects).size(), 0u);  // the first re-read is still pending
    (void)core.entryFetched(reply(21, true, 2, 3));                   // superseded: asks again
    (void)core.entryFetched(reply(21, true, 2, 3));
    EXPECT_EQ(core.buddyA(), server(2));
    EXPECT_EQ(core.version(), 21u);
    // ServerReplace messages from real changes are accepted again.
    EXPECT_TRUE(core.replaceRequested(22, server(3), server(5)).accepted);
    EXPECT_EQ(core.buddyB(), server(5));
}

// An agent cut off together with its buddies reports them and cannot reach the registry;
// it keeps asking for its own entry, so that after the heal it learns at once that it
// was removed and announces again (instead of at the next periodic re-read, or never).
TEST(BuddyCore, AnAgentThatReportedDeathsReReadsItsEntryUntilAnswered) {
    BuddyCore core({server(1), 2, 0ms});  // no periodic re-read at all
    Time now{};
    (void)core.start(now);
    (void)core.announced(reply(10, true, 2, 3));
    Effects effects;
    for (int tick = 0; tick < 4; ++tick)
        for (auto& e : core.tick(now += 500ms)) effects.push_back(e);
    EXPECT_EQ(only<effect::ReportDeath>(effects).size(), 2u);
    auto fetches = only<effect::FetchEntry>(effects);
    ASSERT_EQ(fetches.size(), 1u);
    core.registryFailed(effect::FetchEntry{});
    ASSERT_EQ(only<effect::FetchEntry>(core.tick(now += 500ms)).size(), 1u);  // asks again
    EXPECT_EQ(only<effect::Announce>(core.entryFetched(reply(15, false, 0, 0))).size(), 1u);
}

// A refused death report (the registry still reaches the buddy) starts the count afresh.
TEST(BuddyCore, ARefusedReportIsNotRepeatedAtOnce) {
    auto core = running(1, 2, 3, 10, 2);
    Time now{};
    std::vector<effect::ReportDeath> reports;
    for (int tick = 0; tick < 4 && reports.empty(); ++tick) {
        auto effects = core.tick(now += 500ms);
        core.answered(server(2));
        reports = only<effect::ReportDeath>(effects);
    }
    ASSERT_EQ(reports.size(), 1u);
    (void)core.reportRefused(server(3));
    auto effects = core.tick(now += 500ms);
    core.answered(server(2));
    EXPECT_TRUE(only<effect::ReportDeath>(effects).empty());
    EXPECT_EQ(only<effect::Probe>(effects).size(), 2u);
}

// A primary cut off from its peers answers until it hears of the newer term and steps
// down: an agent that has seen the newer term does not take its answers (and makes the
// call again), while a registry whose term grows is followed.
TEST(BuddyCore, AnswersFromAStalePrimaryAreNotTaken) {
    BuddyCore core({server(1), 3, 0ms});
    (void)core.start(Time{});
    Time now{};
    EXPECT_TRUE(core.acceptTerm(0, now));  // a standalone registry (term 0)
    EXPECT_TRUE(core.acceptTerm(3, now));
    EXPECT_TRUE(core.acceptTerm(3, now));
    EXPECT_FALSE(core.acceptTerm(2, now));  // the stale primary
    EXPECT_EQ(core.highestTerm(), 3u);
    EXPECT_TRUE(core.acceptTerm(4, now += 1s));  // a later takeover
    EXPECT_FALSE(core.acceptTerm(3, now += 1s));
    // The refused answer counts as a failed call: the announce is made again.
    core.registryFailed(effect::Announce{});
    auto effects = core.tick(now);
    EXPECT_EQ(effects.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<effect::Announce>(effects.at(0)));
}

// Terms begin again when every registry restarts: a lower term that alone answers for
// kTermReset (30 s) is taken, so that a long-lived agent does not refuse the pool for good.
// Answers of the higher term meanwhile start the wait afresh.
TEST(BuddyCore, ALowerTermThatAloneAnswersLongEnoughIsTaken) {
    BuddyCore core({server(1), 3, 0ms});
    Time now{};
    EXPECT_TRUE(core.acceptTerm(7, now));
    EXPECT_FALSE(core.acceptTerm(1, now += 1s));
    EXPECT_FALSE(core.acceptTerm(1, now += 20s));
    EXPECT_TRUE(core.acceptTerm(7, now += 1s));    // the newer primary still answers too
    EXPECT_FALSE(core.acceptTerm(1, now += 1s));   // the wait begins again
    EXPECT_FALSE(core.acceptTerm(1, now += 29s));
    EXPECT_TRUE(core.acceptTerm(1, now += 1s));    // 30 s of term 1 alone: restarted
    EXPECT_EQ(core.highestTerm(), 1u);
    EXPECT_TRUE(core.acceptTerm(2, now));
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
