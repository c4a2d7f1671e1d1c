// A gateway keeps its last good back ends rather than apply an empty or implausible
// live list; a large drop that the registry keeps sending is applied after holdFor.
#include <gtest/gtest.h>

#include "control/registry/live_set_guard.h"
#include "tests/registry/store_fixture.h"

namespace ringgate::registry::test {
namespace {

using namespace std::chrono_literals;

protocol::LiveList list(uint64_t version, uint32_t count) {
    protocol::LiveList out{version, {}};
    for (uint32_t k = 1; k <= count; ++k) out.servers.push_back(server(k));
    return out;
}

TEST(LiveSetGuard, AnEmptyListIsNeverApplied) {
    LiveSetGuard guard({0.5, 10s});
    LiveSetGuard::Time now{};
    EXPECT_TRUE(guard.offer(now, list(1, 10)).apply);
    auto empty = guard.offer(now, list(2, 0));
    EXPECT_FALSE(empty.apply);
    EXPECT_NE(empty.warning.find("empty"), std::string::npos);
    EXPECT_FALSE(guard.due(now + 1h).has_value());  // not even later
    EXPECT_TRUE(guard.offer(now, list(3, 9)).apply);  // a plausible list is taken again
}

TEST(LiveSetGuard, SmallChangesApplyAtOnce) {
    LiveSetGuard guard({0.5, 10s});
    LiveSetGuard::Time now{};
    EXPECT_TRUE(guard.offer(now, list(1, 20)).apply);
    EXPECT_TRUE(guard.offer(now, list(2, 10)).apply);  // half: allowed
    EXPECT_TRUE(guard.offer(now, list(3, 30)).apply);
}

TEST(LiveSetGuard, ALargeDropWaitsUntilItPersists) {
    LiveSetGuard guard({0.5, 10s});
    LiveSetGuard::Time now{};
    EXPECT_TRUE(guard.offer(now, list(1, 20)).apply);
    EXPECT_FALSE(guard.offer(now, list(2, 3)).apply);
    EXPECT_FALSE(guard.due(now + 5s).has_value());
    EXPECT_FALSE(guard.offer(now + 6s, list(2, 3)).apply);  // sent again (a reconnect): same list, same clock
    auto late = guard.due(now + 10s);
    ASSERT_TRUE(late.has_value());
    EXPECT_EQ(late->servers.size(), 3u);
    EXPECT_FALSE(guard.holding());
    EXPECT_TRUE(guard.offer(now + 11s, list(3, 2)).apply);  // relative to the new good set
}

TEST(LiveSetGuard, TheFirstListIsAlwaysApplied) {
    LiveSetGuard guard;
    EXPECT_TRUE(guard.offer({}, list(1, 1)).apply);
}

}  // namespace
}  // namespace ringgate::registry::test
