#include "control/daemon/pool_follower.h"

#include <gtest/gtest.h>

namespace ringgate::daemon {
namespace {

Ipv4Address ip(const char* text) { return *Ipv4Address::parse(text); }

TEST(PoolFollower, LiveServersBecomeSortedBackendsOnThePoolPort) {
    config::BackendPool pool;
    pool.name = "web";
    pool.fromRegistry = true;
    pool.port = 8080;
    pool.backends = {{ip("198.19.0.52"), 80, 5}};
    auto live = liveBackends(pool, {ip("198.19.0.53"), ip("198.19.0.52"), ip("198.19.0.51"), ip("198.19.0.53")});
    ASSERT_EQ(live.size(), 3u);
    EXPECT_EQ(live[0].address, ip("198.19.0.51"));
    EXPECT_EQ(live[0].port, 8080);
    EXPECT_EQ(live[1].weight, 5u) << "a static back end keeps its weight";
    EXPECT_EQ(live[2].address, ip("198.19.0.53"));
}

TEST(PoolFollower, PortFallsBackToTheFirstStaticBackend) {
    config::BackendPool pool;
    pool.backends = {{ip("198.19.0.51"), 81, 1}};
    EXPECT_EQ(liveBackends(pool, {ip("198.19.0.60")})[0].port, 81);
    EXPECT_TRUE(liveBackends(pool, {}).empty());
}

}  // namespace
}  // namespace ringgate::daemon
