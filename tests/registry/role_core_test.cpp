// Seed 003 Fig. 1-2 as a state machine: probe, primary or monitor, takeover after a
// silent service; and exactly one primary: terms fence a stale primary, registries
// started at once elect one.
#include <gtest/gtest.h>

#include <algorithm>

#include "control/registry/role_core.h"

namespace ringgate::registry {
namespace {

using Actions = std::vector<RoleAction>;

bool has(const Actions& actions, RoleAction action) {
    return std::find(actions.begin(), actions.end(), action) != actions.end();
}

Ipv4Address reg(uint32_t n) { return Ipv4Address{0xC6130000u + 200 + n}; }

TEST(RoleCore, FreeAddressMakesAPrimary) {
    RoleCore core(3);
    EXPECT_EQ(core.start(), Actions{RoleAction::ProbeAddress});
    EXPECT_EQ(core.probed(false), Actions{RoleAction::TakeAddress});
    EXPECT_EQ(core.role(), Role::Primary);
    EXPECT_EQ(core.term(), 1u);
    EXPECT_TRUE(core.tick().empty());  // a primary checks nobody (no peers configured)
}

TEST(RoleCore, BusyAddressMakesAMonitorThatTakesOverAfterSilence) {
    RoleCore core(3);
    (void)core.start();
    EXPECT_EQ(core.probed(true), Actions{RoleAction::FollowPrimary});
    EXPECT_EQ(core.role(), Role::Monitor);
    for (int i = 0; i < 20; ++i) {  // the service answers: nothing happens
        EXPECT_EQ(core.tick(), Actions{RoleAction::CheckPrimary});
        core.primaryAnswered(4);
    }
    EXPECT_EQ(core.tick(), Actions{RoleAction::CheckPrimary});  // silent from here
    EXPECT_EQ(core.tick(), Actions{RoleAction::CheckPrimary});
    EXPECT_EQ(core.tick(), Actions{RoleAction::CheckPrimary});
    EXPECT_EQ(core.tick(), Actions{RoleAction::ProbeAddress});
    EXPECT_EQ(core.role(), Role::Probing);
    EXPECT_EQ(core.probed(false), Actions{RoleAction::TakeAddress});
    EXPECT_EQ(core.role(), Role::Primary);
    EXPECT_EQ(core.term(), 5u);  // above every term it saw
}

TEST(RoleCore, SomeoneElseTookTheAddressFirst) {
    RoleCore core(1);
    (void)core.start();
    (void)core.probed(true);
    (void)core.tick();
    EXPECT_EQ(core.tick(), Actions{RoleAction::ProbeAddress});
    EXPECT_EQ(core.probed(true), Actions{RoleAction::FollowPrimary});  // in line again
    EXPECT_EQ(core.role(), Role::Monitor);
}

// Defect: a primary cut off for 4 s kept the address after the heal, beside the monitor
// that had taken over: two primaries. RoleCore had no way out of Primary.
TEST(RoleCore, APrimaryThatHearsOfANewerTermStepsDown) {
    RoleCore core(3, reg(1), 2);
    (void)core.start();
    (void)core.probed(false);
    ASSERT_EQ(core.role(), Role::Primary);
    ASSERT_EQ(core.term(), 1u);
    EXPECT_TRUE(core.peerReported(reg(2), Role::Monitor, 1).empty());
    EXPECT_TRUE(core.peerReported(reg(3), Role::Primary, 1).empty());  // same term, higher address: it yields
    auto actions = core.peerReported(reg(2), Role::Primary, 2);
    EXPECT_EQ(actions, (Actions{RoleAction::ReleaseAddress, RoleAction::FollowPrimary}));
    EXPECT_EQ(core.role(), Role::Monitor);
    EXPECT_EQ(core.highestTerm(), 2u);
    // Its next takeover starts a term above the newest.
    for (int i = 0; i < 4; ++i) (void)core.tick();
    (void)core.probed(false);
    EXPECT_EQ(core.term(), 3u);
}

// Defect: three registries started at once with --role auto: several primaries.
TEST(RoleCore, RegistriesStartedAtOnceElectOne) {
    RoleCore a(3, reg(1), 2), b(3, reg(2), 2), c(3, reg(3), 2);
    for (RoleCore* core : {&a, &b, &c}) (void)core->start();
    // Each hears the others probing before its ARP probe returns "free".
    for (RoleCore* core : {&a, &b, &c})
        for (uint32_t peer = 1; peer <= 3; ++peer)
            if (Ipv4Address{reg(peer)} != (core == &a ? reg(1) : core == &b ? reg(2) : reg(3)))
                (void)core->peerReported(reg(peer), Role::Probing, 0);
    EXPECT_EQ(a.probed(false), Actions{RoleAction::TakeAddress});  // the lowest address goes first
    EXPECT_TRUE(b.probed(false).empty());                          // the others wait
    EXPECT_TRUE(c.probed(false).empty());
    // Next interval they hear it is primary and follow it.
    for (RoleCore* core : {&b, &c}) {
        (void)core->peerReported(reg(1), Role::Primary, a.term());
        EXPECT_TRUE(has(core->tick(), RoleAction::FollowPrimary));
        EXPECT_EQ(core->role(), Role::Monitor);
    }
}

// A waiting registry whose outranking peer vanished (unreachable: no more answers)
// probes again instead of waiting for ever.
TEST(RoleCore, AWaitingRegistryProbesAgainWhenThePeerIsGone) {
    RoleCore b(3, reg(2), 1);
    (void)b.start();
    (void)b.peerReported(reg(1), Role::Probing, 0);
    EXPECT_TRUE(b.probed(false).empty());
    EXPECT_FALSE(has(b.tick(), RoleAction::ProbeAddress));  // heard in the last interval
    EXPECT_TRUE(has(b.tick(), RoleAction::ProbeAddress));   // silent for two
    EXPECT_EQ(b.probed(false), Actions{RoleAction::TakeAddress});
}

}  // namespace
}  // namespace ringgate::registry
