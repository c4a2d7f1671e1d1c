// The claim choreography with recording callbacks (a unit-test seam): the real I/O is
// exercised by tests/integration/vip_failover_test.py (kernel) and the fast-path tests.
#include "control/vip/claim_sequencer.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace ringgate::vip {
namespace {

struct Recorder {
    std::vector<std::string> calls;
    std::set<Ipv4Address> answered;
    ClaimSequencer::Io io() {
        auto record = [this](const char* what) {
            return [this, what](Ipv4Address vip) -> Expected<void> {
                calls.push_back(std::string(what) + " " + vip.toString());
                return {};
            };
        };
        return {record("install"), record("uninstall"), record("announce"), record("probe"),
                [this](Ipv4Address vip) { return answered.count(vip) > 0; }};
    }
    size_t count(const std::string& prefix) const {
        size_t n = 0;
        for (const auto& c : calls) n += c.rfind(prefix, 0) == 0;
        return n;
    }
};

config::Timers fastTimers() {
    config::Timers t;
    t.garpRepeats = 3;
    t.garpIntervalMs = 2;
    t.probeTimeoutMs = 5;
    return t;
}

const Ipv4Address kVip{0xC6120064};

TEST(ClaimSequencer, ClaimInstallsThenAnnouncesBurstAndRepeats) {
    boost::asio::io_context io;
    Recorder r;
    ClaimSequencer s(io, fastTimers(), r.io());
    s.claim(kVip, false);
    EXPECT_EQ(r.calls, (std::vector<std::string>{"install 198.18.0.100", "announce 198.18.0.100"}));
    io.run_for(std::chrono::milliseconds(200));
    EXPECT_EQ(r.count("announce"), 4u);  // one at once, three repeats
    EXPECT_TRUE(s.installed(kVip));
    s.release(kVip);
    EXPECT_EQ(r.calls.back(), "uninstall 198.18.0.100");
    EXPECT_FALSE(s.installed(kVip));
}

// An answered probe holds the claim back and probes again (backing off) until nobody else
// answers: at start two nodes alone may both have claimed a VIP the ring then gives to one
// of them, whose probe the other answers until it releases. (Before, the claim was dropped
// for good while the VIP manager counted the VIP as answered here: nobody answered it.)
TEST(ClaimSequencer, AnsweredProbeHoldsTheClaimUntilTheAddressIsFree) {
    boost::asio::io_context io;
    Recorder r;
    r.answered.insert(kVip);
    ClaimSequencer s(io, fastTimers(), r.io());
    s.claim(kVip, true);
    io.run_for(std::chrono::milliseconds(150));
    EXPECT_GE(r.count("probe"), 2u);
    EXPECT_EQ(r.count("install"), 0u);
    EXPECT_GE(s.counters().conflicts, 2u);
    EXPECT_FALSE(s.installed(kVip));
    r.answered.clear();  // the other host let it go
    io.run_for(std::chrono::milliseconds(300));
    EXPECT_TRUE(s.installed(kVip));
    EXPECT_EQ(r.count("install"), 1u);
}

TEST(ClaimSequencer, AReleaseEndsTheProbingOfAnAnsweredAddress) {
    boost::asio::io_context io;
    Recorder r;
    r.answered.insert(kVip);
    ClaimSequencer s(io, fastTimers(), r.io());
    s.claim(kVip, true);
    io.run_for(std::chrono::milliseconds(50));
    s.release(kVip);
    size_t probes = r.count("probe");
    io.run_for(std::chrono::milliseconds(300));
    EXPECT_EQ(r.count("probe"), probes);
    EXPECT_EQ(r.count("install"), 0u);
}

TEST(ClaimSequencer, SilentProbeThenClaim) {
    boost::asio::io_context io;
    Recorder r;
    ClaimSequencer s(io, fastTimers(), r.io());
    s.claim(kVip, true);
    EXPECT_FALSE(s.installed(kVip)) << "nothing is answered while probing";
    io.run_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(s.installed(kVip));
    EXPECT_EQ(r.calls[0], "probe 198.18.0.100");
    EXPECT_EQ(r.calls[1], "install 198.18.0.100");
}

TEST(ClaimSequencer, ReleaseDuringProbeInstallsNothing) {
    boost::asio::io_context io;
    Recorder r;
    ClaimSequencer s(io, fastTimers(), r.io());
    s.claim(kVip, true);
    s.release(kVip);
    io.run_for(std::chrono::milliseconds(100));
    EXPECT_EQ(r.count("install"), 0u);
    EXPECT_EQ(r.count("uninstall"), 0u);
}

// A VIP the cluster's table gives this node before its own configuration has it (the
// two travel on the token apart): the install fails until the configuration arrives,
// and the claim must not be forgotten meanwhile (it was: nobody answered the VIP).
TEST(ClaimSequencer, AFailedInstallIsTriedAgainWhileTheClaimStands) {
    boost::asio::io_context io;
    Recorder r;
    auto callbacks = r.io();
    bool configured = false;
    callbacks.install = [&](Ipv4Address) -> Expected<void> {
        if (!configured) return makeError("VIP not configured");
        return {};
    };
    ClaimSequencer s(io, fastTimers(), callbacks);
    s.claim(kVip, false);
    io.run_for(std::chrono::milliseconds(60));
    EXPECT_GE(s.counters().errors, 2u);
    EXPECT_FALSE(s.installed(kVip));
    configured = true;
    io.run_for(std::chrono::milliseconds(200));
    EXPECT_TRUE(s.installed(kVip));
    EXPECT_GE(r.count("announce"), 1u);
}

TEST(ClaimSequencer, AReleaseEndsTheRetriesOfAFailedInstall) {
    boost::asio::io_context io;
    Recorder r;
    auto callbacks = r.io();
    int attempts = 0;
    callbacks.install = [&](Ipv4Address) -> Expected<void> {
        ++attempts;
        return makeError("no such interface");
    };
    ClaimSequencer s(io, fastTimers(), callbacks);
    s.claim(kVip, false);
    io.run_for(std::chrono::milliseconds(30));
    s.release(kVip);  // nothing to undo
    int before = attempts;
    io.run_for(std::chrono::milliseconds(200));
    EXPECT_EQ(attempts, before);
    EXPECT_EQ(r.count("uninstall"), 0u);
}

}  // namespace
}  // namespace ringgate::vip
