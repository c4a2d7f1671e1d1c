// Death reports as evidence (death_judge.h): who may report, stale and future versions,
// the registry's confirmation, and the guard that keeps a partition from emptying the
// pool; and the addresses no back end may have.
#include <gtest/gtest.h>

#include "control/registry/death_judge.h"
#include "control/registry/protocol.h"
#include "control/registry/registry_service.h"
#include "tests/registry/store_fixture.h"

namespace ringgate::registry::test {
namespace {

using namespace std::chrono_literals;
using Verdict = DeathJudge::Verdict;

EntryResult entryOf(uint32_t s, uint32_t a, uint32_t b, uint64_t version) { return {true, row(s, a, b), version}; }

TEST(DeathJudge, OnlyACurrentBuddyAtACurrentVersionIsBelieved) {
    DeathJudge judge({false, 1.0, 10000ms, 1});
    DeathJudge::Time now{};
    judge.placed(server(3), 8);
    auto entry = entryOf(3, 2, 4, 10);
    EXPECT_EQ(judge.assess(now, {server(3), server(7), 10}, entry, 20, false).verdict, Verdict::Refuse);  // not a buddy
    EXPECT_EQ(judge.assess(now, {server(3), server(3), 10}, entry, 20, false).verdict, Verdict::Refuse);  // itself
    EXPECT_EQ(judge.assess(now, {server(3), server(2), 11}, entry, 20, false).verdict, Verdict::Refuse);  // future
    EXPECT_EQ(judge.assess(now, {server(3), server(2), 7}, entry, 20, false).verdict, Verdict::Refuse);   // stale
    EXPECT_EQ(judge.counters().notBuddy, 2u);
    EXPECT_EQ(judge.counters().future, 1u);
    EXPECT_EQ(judge.counters().stale, 1u);
    EXPECT_EQ(judge.assess(now, {server(3), server(4), 8}, entry, 20, false).verdict, Verdict::Remove);
}

TEST(DeathJudge, ReportsOlderThanAFreshStartAreStale) {
    DeathJudge judge({false, 1.0, 10000ms, 1});
    judge.loaded(50);  // a restarted registry, or a monitor that loaded a snapshot
    auto entry = entryOf(3, 2, 4, 60);
    EXPECT_EQ(judge.assess({}, {server(3), server(2), 49}, entry, 20, false).verdict, Verdict::Refuse);
    EXPECT_EQ(judge.assess({}, {server(3), server(2), 50}, entry, 20, false).verdict, Verdict::Remove);
}

TEST(DeathJudge, ConfirmationComesFirstWhenTheRegistryCanProbe) {
    DeathJudge judge({true, 0.5, 10000ms, 1});
    auto entry = entryOf(3, 2, 4, 10);
    EXPECT_EQ(judge.assess({}, {server(3), server(2), 10}, entry, 20, false).verdict, Verdict::Confirm);
    EXPECT_EQ(judge.assess({}, {server(3), server(2), 10}, entry, 20, true).verdict, Verdict::Remove);
}

// Without the registry's own probe, reports may remove at most half the pool within the
// window; after the window more may go; the last server never goes.
TEST(DeathJudge, TheGuardKeepsAPartitionFromEmptyingThePool) {
    DeathJudge judge({false, 0.5, 10000ms, 1});
    DeathJudge::Time now{};
    size_t size = 10;
    int removed = 0;
    for (uint32_t s = 1; s <= 10; ++s) {
        auto decision = judge.assess(now, {server(s), server(s + 1), 10}, entryOf(s, s + 1, s + 2, 10), size, false);
        if (decision.verdict == Verdict::Remove) {
            judge.removed(now, server(s), false);
            --size;
            ++removed;
        }
        now += 100ms;
    }
    EXPECT_EQ(removed, 5);
    EXPECT_EQ(judge.counters().guarded, 5u);
    now += 11s;  // the window has passed
    EXPECT_EQ(judge.assess(now, {server(20), server(21), 10}, entryOf(20, 21, 22, 10), size, false).verdict,
              Verdict::Remove);
    EXPECT_EQ(judge.assess(now, {server(20), server(21), 10}, entryOf(20, 21, 22, 10), 1, true).verdict,
              Verdict::Refuse);  // the last one, even confirmed
}

TEST(BackendAddress, RefusesAddressesNoBackEndHas) {
    for (const char* bad : {"0.0.0.0", "127.0.0.1", "127.1.2.3", "255.255.255.255", "224.0.0.1", "239.1.1.1",
                            "240.0.0.1", "0.1.2.3"})
        EXPECT_FALSE(checkBackendAddress(*Ipv4Address::parse(bad), {}).ok()) << bad;
    EXPECT_TRUE(checkBackendAddress(server(5), {}).ok());
    std::vector<Ipv4Prefix> prefixes{*Ipv4Prefix::parse("198.19.0.0/24")};
    EXPECT_TRUE(checkBackendAddress(server(5), prefixes).ok());
    EXPECT_FALSE(checkBackendAddress(*Ipv4Address::parse("198.18.0.5"), prefixes).ok());
}

// Defect: "ANNOUNCE 127.0.0.1" stayed in the live list for good (every buddy's ping to it
// answered locally); a REPLACE could put any address in rotation.
TEST(BackendAddress, TheRegistryRefusesThemInAnnounceAndReplace) {
    auto store = std::move(openSqliteStore(":memory:").value());
    RegistryService service(*store, [] { return uint64_t{0}; });
    service.setBackendPrefixes({*Ipv4Prefix::parse("198.19.0.0/24")});
    auto handle = [&](protocol::Verb verb, const char* a, const char* b = "0.0.0.0") {
        return service.handle({verb, *Ipv4Address::parse(a), *Ipv4Address::parse(b), 0}, true, Role::Standalone).reply;
    };
    EXPECT_EQ(handle(protocol::Verb::Announce, "127.0.0.1").rfind("ERR", 0), 0u);
    EXPECT_EQ(handle(protocol::Verb::Announce, "10.0.0.1").rfind("ERR", 0), 0u);
    EXPECT_EQ(handle(protocol::Verb::Announce, "198.19.0.5").rfind("OK", 0), 0u);
    EXPECT_EQ(handle(protocol::Verb::Replace, "198.19.0.5", "224.0.0.5").rfind("ERR", 0), 0u);
    EXPECT_EQ(store->snapshot()->entries.size(), 1u);
}

TEST(DeathReport, WireFormat) {
    auto parsed = protocol::parseRequest("DEAD 198.19.0.3 198.19.0.2 42", false);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->verb, protocol::Verb::Dead);
    EXPECT_EQ(parsed->first, server(3));
    EXPECT_EQ(parsed->second, server(2));
    EXPECT_EQ(parsed->version, 42u);
    EXPECT_EQ(protocol::formatRequest(*parsed, false), "DEAD 198.19.0.3 198.19.0.2 42");
    EXPECT_FALSE(protocol::parseRequest("DEAD 198.19.0.3 198.19.0.2", false).ok());
    EXPECT_FALSE(protocol::parseRequest("DEAD 198.19.0.3 198.19.0.2 x", false).ok());
    EXPECT_FALSE(protocol::parseRequest("DEAD 198.19.0.3 198.19.0.2 99999999999999999999999", false).ok());
}

}  // namespace
}  // namespace ringgate::registry::test
