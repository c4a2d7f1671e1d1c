#include "control/httplink/backend_chooser.h"

#include <gtest/gtest.h>

#include <map>

#include "dataplane/flow_hash.h"

namespace ringgate::httplink {
namespace {

Ipv4Endpoint ep(const char* text) { return *Ipv4Endpoint::parse(text); }
config::Backend backend(const char* text, uint32_t weight = 1) {
    auto e = ep(text);
    return {e.address, e.port, weight};
}

const Clock::time_point kT0{};

TEST(BackendChooser, SpreadsLikeMaglevAndIsDeterministic) {
    BackendChooser a(1000), b(1000);
    std::vector<config::Backend> live{backend("198.19.0.51:80"), backend("198.19.0.52:80"), backend("198.19.0.53:80")};
    a.setLive(live);
    b.setLive({live[2], live[0], live[1]});  // order does not matter
    std::map<Ipv4Endpoint, int> counts;
    for (uint32_t client = 0; client < 3000; ++client) {
        uint32_t hash = dataplane::flowHash(0xc6120000 + client, 0xc6120064, 40000, 80, 6);
        auto x = a.choose(hash, {}, kT0);
        auto y = b.choose(hash, {}, kT0);
        ASSERT_TRUE(x && y);
        EXPECT_EQ(*x, *y);
        ++counts[*x];
    }
    ASSERT_EQ(counts.size(), 3u);
    for (const auto& [endpoint, count] : counts) EXPECT_NEAR(count, 1000, 150) << endpoint.toString();
}

TEST(BackendChooser, ExcludedIsNeverChosenHeldOnlyWhenNothingElse) {
    BackendChooser chooser(1000);
    chooser.setLive({backend("198.19.0.51:80"), backend("198.19.0.52:80")});
    for (uint32_t hash = 0; hash < 200; ++hash) {
        auto chosen = chooser.choose(hash, {ep("198.19.0.51:80")}, kT0);
        ASSERT_TRUE(chosen);
        EXPECT_EQ(*chosen, ep("198.19.0.52:80"));
    }
    chooser.reportFailure(ep("198.19.0.52:80"), kT0);
    for (uint32_t hash = 0; hash < 200; ++hash)
        EXPECT_EQ(*chooser.choose(hash, {}, kT0 + std::chrono::milliseconds(10)), ep("198.19.0.51:80"));
    // Held, but the only one not excluded: still better than none.
    EXPECT_EQ(*chooser.choose(7, {ep("198.19.0.51:80")}, kT0), ep("198.19.0.52:80"));
    EXPECT_FALSE(chooser.choose(7, {ep("198.19.0.51:80"), ep("198.19.0.52:80")}, kT0));
}

TEST(BackendChooser, HoldExpiresAndFailuresAreCounted) {
    BackendChooser chooser(500);
    chooser.setLive({backend("198.19.0.51:80"), backend("198.19.0.52:80")});
    chooser.reportFailure(ep("198.19.0.51:80"), kT0);
    chooser.reportFailure(ep("198.19.0.51:80"), kT0);
    auto health = chooser.health(kT0 + std::chrono::milliseconds(499));
    ASSERT_EQ(health.size(), 2u);
    EXPECT_TRUE(health[0].held);
    EXPECT_EQ(health[0].failures, 2u);
    EXPECT_FALSE(health[1].held);
    EXPECT_FALSE(chooser.health(kT0 + std::chrono::milliseconds(500))[0].held);
    // Counts survive a new live list that keeps the back end.
    chooser.setLive({backend("198.19.0.52:80"), backend("198.19.0.51:80")});
    EXPECT_EQ(chooser.health(kT0)[1].failures, 2u);
}

TEST(BackendChooser, EmptyOrWeightlessPoolChoosesNothing) {
    BackendChooser chooser(500);
    EXPECT_FALSE(chooser.choose(1, {}, kT0));
    chooser.setLive({backend("198.19.0.51:80", 0)});
    EXPECT_FALSE(chooser.choose(1, {}, kT0));
    chooser.reportFailure(ep("198.19.0.99:80"), kT0);  // unknown: ignored, no crash
}

}  // namespace
}  // namespace ringgate::httplink
