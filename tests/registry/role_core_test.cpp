// Seed 003 Fig. 1-2 as a state machine: probe, primary or monitor, takeover after silence.
#include <gtest/gtest.h>

#include "control/registry/role_core.h"

namespace ringgate::registry {
namespace {

TEST(RoleCore, FreeAddressMakesAPrimary) {
    RoleCore core(3);
    EXPECT_EQ(core.start(), std::vector<RoleAction>{RoleAction::ProbeAddress});
    EXPECT_EQ(core.probed(false), std::vector<RoleAction>{RoleAction::TakeAddress});
    EXPECT_EQ(core.role(), Role::Primary);
    EXPECT_TRUE(core.tick().empty());  // a primary pings nobody
}

TEST(RoleCore, BusyAddressMakesAMonitorThatTakesOverAfterSilence) {
    RoleCore core(3);
    (void)core.start();
    EXPECT_EQ(core.probed(true), std::vector<RoleAction>{RoleAction::FollowPrimary});
    EXPECT_EQ(core.role(), Role::Monitor);
    for (int i = 0; i < 20; ++i) {  // the primary answers: nothing happens
        EXPECT_EQ(core.tick(), std::vector<RoleAction>{RoleAction::PingPrimary});
        core.primaryAnswered();
    }
    EXPECT_EQ(core.tick(), std::vector<RoleAction>{RoleAction::PingPrimary});  // silent from here
    EXPECT_EQ(core.tick(), std::vector<RoleAction>{RoleAction::PingPrimary});
    EXPECT_EQ(core.tick(), std::vector<RoleAction>{RoleAction::PingPrimary});
    EXPECT_EQ(core.tick(), std::vector<RoleAction>{RoleAction::ProbeAddress});
    EXPECT_EQ(core.role(), Role::Probing);
    EXPECT_EQ(core.probed(false), std::vector<RoleAction>{RoleAction::TakeAddress});
    EXPECT_EQ(core.role(), Role::Primary);
}

TEST(RoleCore, SomeoneElseTookTheAddressFirst) {
    RoleCore core(1);
    (void)core.start();
    (void)core.probed(true);
    (void)core.tick();
    EXPECT_EQ(core.tick(), std::vector<RoleAction>{RoleAction::ProbeAddress});
    EXPECT_EQ(core.probed(true), std::vector<RoleAction>{RoleAction::FollowPrimary});  // in line again
    EXPECT_EQ(core.role(), Role::Monitor);
}

}  // namespace
}  // namespace ringgate::registry
