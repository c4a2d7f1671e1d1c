// The registry's network shell on loopback with a real SQLite store: agents' calls, a
// live-list subscriber (LiveListClient), a monitor following by synchronous replication,
// and hostile requests refused and counted.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "control/registry/live_list_client.h"
#include "control/registry/registry_client.h"
#include "control/registry/registry_server.h"
#include "control/registry/replication_follower.h"
#include "control/registry/ring_view.h"
#include "tests/registry/store_fixture.h"
#include "tests/unit/fd_exhaustion.h"

namespace ringgate::registry::test {
namespace {

using namespace std::chrono_literals;

class RegistryServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        primaryStore_ = std::move(openSqliteStore(":memory:").value());
        monitorStore_ = std::move(openSqliteStore(":memory:").value());
        primary_ = std::make_unique<RegistryService>(*primaryStore_, [n = uint64_t{0}]() mutable { return n++ * 7; });
        monitor_ = std::make_unique<RegistryService>(*monitorStore_, [] { return uint64_t{0}; });
        RegistryLimits limits;
        limits.maxConnections = 8;
        limits.idle = 300ms;
        primaryTable_ = std::make_unique<TableWorker>(io_, *primary_);
        monitorTable_ = std::make_unique<TableWorker>(io_, *monitor_);
        server_ = std::make_unique<RegistryServer>(io_, *primaryTable_, 1000ms, key_, limits);
        ASSERT_TRUE(server_->listen({*Ipv4Address::parse("127.0.0.1"), 0}).ok());
        server_->setRole(Role::Primary);
        endpoint_ = {*Ipv4Address::parse("127.0.0.1"), server_->port()};
    }

    // Runs the io_context until `done` holds or 5 s pass.
    bool runUntil(const std::function<bool()>& done) {
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!done() && std::chrono::steady_clock::now() < deadline) io_.run_for(10ms);
        return done();
    }

    std::string call(const std::string& line, LineKeyPtr key = kUseTheKey) {
        std::optional<Expected<std::string>> reply;
        RegistryClient client(io_, {{endpoint_}, std::nullopt, 1000ms, 50ms, 500ms, key == kUseTheKey ? key_ : key});
        client.call(line, [&](Expected<std::string> r) { reply = std::move(r); });
        EXPECT_TRUE(runUntil([&] { return reply.has_value(); }));
        return reply && reply->ok() ? **reply : "no reply";
    }

    static inline const LineKeyPtr kUseTheKey = std::make_shared<const LineKey>("marker");
    LineKeyPtr key_ = std::make_shared<const LineKey>("unit-test-pool-key-0123456789");
    boost::asio::io_context io_;
    std::unique_ptr<ServerStore> primaryStore_, monitorStore_;
    std::unique_ptr<RegistryService> primary_, monitor_;
    std::unique_ptr<TableWorker> primaryTable_, monitorTable_;
    std::unique_ptr<RegistryServer> server_;
    Ipv4Endpoint endpoint_;
};

TEST_F(RegistryServerTest, SubscribersAndTheMonitorFollowEveryChange) {
    std::vector<protocol::LiveList> seen;
    LiveListClient subscriber(io_, {endpoint_}, [&](const protocol::LiveList& list) { seen.push_back(list); }, key_);
    subscriber.start();
    ReplicationFollower follower(io_, *monitorTable_, endpoint_, key_);
    follower.start();
    ASSERT_TRUE(runUntil([&] { return !seen.empty() && server_->monitorAttached(); }));
    EXPECT_TRUE(seen.back().servers.empty());

    for (uint32_t k = 1; k <= 5; ++k) EXPECT_EQ(call("ANNOUNCE " + server(k).toString()).rfind("OK", 0), 0u);
    ASSERT_TRUE(runUntil([&] { return seen.back().servers.size() == 5; }));
    EXPECT_EQ(call("DELETE " + server(3).toString()).substr(0, 11), "OK 6 found ");
    ASSERT_TRUE(runUntil([&] { return seen.back().servers.size() == 4; }));
    EXPECT_EQ(std::set(seen.back().servers.begin(), seen.back().servers.end()),
              (std::set{server(1), server(2), server(4), server(5)}));

    // Synchronous replication: every acknowledged change is already in the monitor's copy.
    EXPECT_EQ(server_->counters().replicated, 6u);
    EXPECT_EQ(monitorStore_->snapshot()->entries, primaryStore_->snapshot()->entries);
    EXPECT_EQ(monitorStore_->snapshot()->version, 6u);
    EXPECT_TRUE(checkRing(monitorStore_->snapshot()->entries).ok);

    // The monitor refuses changes; the primary's table answers reads.
    RegistryServer monitorServer(io_, *monitorTable_, 1000ms);
    monitorServer.setRole(Role::Monitor);
    EXPECT_TRUE(monitor_->handle({protocol::Verb::Announce, server(9), {}, 0}, false, Role::Monitor)
                    .reply.rfind("ERR not the primary", 0) == 0);
    EXPECT_EQ(call("LIST"), "OK 6 " + server(1).toString() + " " + server(2).toString() + " " +
                                server(4).toString() + " " + server(5).toString());
}

// A gateway may list the registries' own addresses and subscribe to a monitor: the
// monitor pushes every change it replays (before, it sent the list once and then only
// heartbeats, so the gateway kept a stale list while the stream looked healthy).
TEST_F(RegistryServerTest, AMonitorsSubscribersSeeTheChangesItReplays) {
    RegistryServer monitorServer(io_, *monitorTable_, 1000ms, key_);
    ASSERT_TRUE(monitorServer.listen({*Ipv4Address::parse("127.0.0.1"), 0}).ok());
    monitorServer.setRole(Role::Monitor);
    ReplicationFollower follower(io_, *monitorTable_, endpoint_, key_);
    follower.onCopyChanged([&] { monitorServer.publishLive(); });
    follower.start();
    ASSERT_TRUE(runUntil([&] { return server_->monitorAttached(); }));
    std::vector<protocol::LiveList> seen;
    LiveListClient subscriber(io_, {{*Ipv4Address::parse("127.0.0.1"), monitorServer.port()}},
                              [&](const protocol::LiveList& list) { seen.push_back(list); }, key_);
    subscriber.start();
    ASSERT_TRUE(runUntil([&] { return !seen.empty(); }));
    for (uint32_t k = 1; k <= 3; ++k) EXPECT_EQ(call("ANNOUNCE " + server(k).toString()).rfind("OK", 0), 0u);
    EXPECT_EQ(call("DELETE " + server(2).toString()).rfind("OK", 0), 0u);
    ASSERT_TRUE(runUntil([&] { return seen.back().version == 4; })) << "the monitor's subscriber saw version "
                                                                    << seen.back().version;
    EXPECT_EQ(seen.back().servers, (std::vector{server(1), server(3)}));
    subscriber.stop();
    follower.stop();
    monitorServer.close();
}

// A gateway that has seen term 5 does not take the live list of a registry at term 3 (a
// stale primary: cut off, not yet stepped down) — before, it took whatever list came —
// unless only term 3 answers for the reset time (every registry restarted).
TEST_F(RegistryServerTest, AGatewayRefusesTheListOfAStalePrimary) {
    primary_->setTerm(5);
    monitor_->setTerm(3);
    ASSERT_TRUE(monitorStore_->load({7, {row(9, 9, 9)}}).ok());  // the stale primary's own table
    TableWorker staleTable(io_, *monitor_);
    RegistryServer stale(io_, staleTable, 1000ms, key_);
    ASSERT_TRUE(stale.listen({*Ipv4Address::parse("127.0.0.1"), 0}).ok());
    stale.setRole(Role::Primary);
    EXPECT_EQ(call("ANNOUNCE " + server(1).toString()).rfind("OK", 0), 0u);
    std::vector<protocol::LiveList> seen;
    LiveListClient gateway(io_, {endpoint_, {*Ipv4Address::parse("127.0.0.1"), stale.port()}},
                           [&](const protocol::LiveList& list) { seen.push_back(list); }, key_, 1500ms);
    gateway.start();
    ASSERT_TRUE(runUntil([&] { return !seen.empty(); }));
    EXPECT_EQ(seen.back().servers, std::vector{server(1)});  // term 5 first
    server_->close();  // the newer primary goes away; only the stale one answers now
    auto lost = std::chrono::steady_clock::now();
    ASSERT_TRUE(runUntil([&] { return seen.back().version == 7; }));
    EXPECT_GE(std::chrono::steady_clock::now() - lost, 1400ms) << "took a stale primary's list at once";
    EXPECT_EQ(seen.back().servers, std::vector{server(9)});  // after the reset: a restarted pool
    EXPECT_EQ(seen.size(), 2u);
    gateway.stop();
    stale.close();
}

TEST_F(RegistryServerTest, HostileRequestsAreRefusedAndCounted) {
    EXPECT_EQ(call("HELLO").rfind("ERR", 0), 0u);
    EXPECT_EQ(call("ANNOUNCE 1.2.3.4.5").rfind("ERR", 0), 0u);
    EXPECT_EQ(call("REPLACE 198.19.0.1 198.19.0.2").rfind("ERR", 0), 0u);  // 198.19.0.1 is not there
    EXPECT_EQ(call(std::string(1000, 'X')), "no reply");                   // too long: hung up
    EXPECT_GE(server_->counters().refused, 3u);
    EXPECT_EQ(call("ANNOUNCE " + server(1).toString()).rfind("OK", 0), 0u);  // still serving
}

// Defect: anyone on the segment could DELETE, REPLACE or ANNOUNCE. Every request must be
// signed with the pool's key and fresh; the answers are signed too.
TEST_F(RegistryServerTest, UnsignedForgedAndReplayedRequestsAreRefused) {
    EXPECT_EQ(call("ANNOUNCE " + server(1).toString()).rfind("OK", 0), 0u);
    EXPECT_EQ(call("DELETE " + server(1).toString(), nullptr).rfind("ERR unauthenticated", 0), 0u);  // unsigned
    EXPECT_EQ(call("DELETE " + server(1).toString(), std::make_shared<const LineKey>("not-the-pool-key-at-all")),
              "no reply");  // refused, unsigned refusal not believed, retried until given up
    EXPECT_GE(server_->counters().unauthenticated, 2u);
    // A signed line captured on the wire and sent again.
    std::string signedLine = signRequest(*key_, "DELETE " + server(1).toString(), unixMillis(), 42) + "\n";
    auto rawCall = [&] {
        tcp::socket s(io_);
        s.connect(toAsio(endpoint_));
        boost::asio::write(s, boost::asio::buffer(signedLine));
        std::string reply;
        boost::system::error_code ec;
        std::thread([&] { boost::asio::read_until(s, boost::asio::dynamic_buffer(reply), '\n', ec); }).join();
        return reply;
    };
    std::string first;
    std::thread runner([&] { io_.run_for(500ms); });
    first = rawCall();
    std::string second = rawCall();
    runner.join();
    io_.restart();
    EXPECT_EQ(first.rfind("OK", 0), 0u) << first;
    EXPECT_EQ(second.rfind("ERR unauthenticated", 0), 0u) << second;
    EXPECT_EQ(primaryStore_->snapshot()->entries.size(), 0u);
    // Signed with a time outside the replay window.
    std::string old = signRequest(*key_, "LIST", unixMillis() - 2 * kReplayWindowMs, 7);
    ReplayGuard guard;
    EXPECT_FALSE(verifyRequest(*key_, old, guard, unixMillis()).ok());
}

// Defect: idle connections were never closed, and nothing capped their number.
TEST_F(RegistryServerTest, IdleConnectionsAreClosedAndTheCapHolds) {
    std::vector<std::unique_ptr<tcp::socket>> idle;
    for (int i = 0; i < 12; ++i) {
        idle.push_back(std::make_unique<tcp::socket>(io_));
        idle.back()->connect(toAsio(endpoint_));
    }
    ASSERT_TRUE(runUntil([&] { return server_->counters().accepts.accepted + server_->counters().accepts.overCap == 12; }));
    EXPECT_EQ(server_->counters().accepts.accepted, 8u);
    EXPECT_EQ(server_->counters().accepts.overCap, 4u);
    ASSERT_TRUE(runUntil([&] { return server_->counters().idleClosed == 8; }));
    EXPECT_EQ(call("LIST").rfind("OK", 0), 0u);  // places are free again
}

// Defect: at the open-file limit the accept loop spun and announces timed out.
TEST_F(RegistryServerTest, AtTheOpenFileLimitAcceptingPausesInsteadOfSpinning) {
    tcp::socket waiting(io_);
    waiting.open(tcp::v4());
    {
        ringgate::test::FdExhaustion exhausted;
        waiting.connect(toAsio(endpoint_));
        double before = ringgate::test::cpuSeconds();
        io_.run_for(1s);
        EXPECT_LT(ringgate::test::cpuSeconds() - before, 0.3) << "the accept loop spins at EMFILE";
        EXPECT_GT(server_->counters().accepts.paused, 0u);
    }
    EXPECT_EQ(call("ANNOUNCE " + server(3).toString()).rfind("OK", 0), 0u);  // serving again
}

// A registry whose host dies sends neither FIN nor RST: the subscriber must notice the
// silence (no LIVE, no HEARTBEAT for 3 s) and subscribe again.
TEST(LiveListClientTest, LeavesASilentRegistry) {
    boost::asio::io_context io;
    tcp::acceptor acceptor(io, {boost::asio::ip::address_v4::loopback(), 0});
    std::vector<std::shared_ptr<tcp::socket>> accepted;
    std::function<void()> accept = [&] {
        acceptor.async_accept([&](boost::system::error_code ec, tcp::socket socket) {
            if (ec) return;
            auto s = std::make_shared<tcp::socket>(std::move(socket));
            accepted.push_back(s);  // kept open, never closed: a half-open connection
            static const std::string line = "TERM 0\nLIVE 1 198.19.0.1\n";
            boost::asio::async_write(*s, boost::asio::buffer(line), [](boost::system::error_code, size_t) {});
            accept();
        });
    };
    accept();
    int lists = 0;
    LiveListClient client(io, {{*Ipv4Address::parse("127.0.0.1"), acceptor.local_endpoint().port()}},
                          [&](const protocol::LiveList& list) {
                              EXPECT_EQ(list.servers.size(), 1u);
                              ++lists;
                          });
    client.start();
    auto start = std::chrono::steady_clock::now();
    while (accepted.size() < 2 && std::chrono::steady_clock::now() - start < 10s) io.run_for(50ms);
    EXPECT_EQ(accepted.size(), 2u) << "the subscriber never gave up on the silent registry";
    EXPECT_GE(std::chrono::steady_clock::now() - start, 3s);  // but not before the limit
    EXPECT_GE(lists, 1);
}

// Only a monitor with a current copy may take over: current after a snapshot and the
// changes since; stale once the primary says it dropped us, or once someone else holds
// the service address, until a snapshot arrives again.
TEST(ReplicationFollowerTest, KnowsWhetherItsCopyIsCurrent) {
    boost::asio::io_context io;
    auto store = std::move(openSqliteStore(":memory:").value());
    RegistryService service(*store, [] { return uint64_t{0}; });
    TableWorker table(io, service);
    tcp::acceptor acceptor(io, {boost::asio::ip::address_v4::loopback(), 0});
    std::vector<std::shared_ptr<tcp::socket>> primaries;
    std::vector<std::string> script = {"SNAPSHOT 4 198.19.0.1/198.19.0.1/198.19.0.1\nRANK 1\n",
                                       "SNAPSHOT 9\nDROPPED acknowledgement timeout\n",
                                       "SNAPSHOT 9\n"};
    std::function<void()> accept = [&] {
        acceptor.async_accept([&](boost::system::error_code ec, tcp::socket socket) {
            if (ec || primaries.size() >= script.size()) return;
            auto s = std::make_shared<tcp::socket>(std::move(socket));
            const std::string& lines = script[primaries.size()];
            primaries.push_back(s);
            boost::asio::async_write(*s, boost::asio::buffer(lines), [](boost::system::error_code, size_t) {});
            accept();
        });
    };
    accept();
    ReplicationFollower follower(io, table, {*Ipv4Address::parse("127.0.0.1"), acceptor.local_endpoint().port()});
    auto runUntil = [&](auto done) {
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!done() && std::chrono::steady_clock::now() < deadline) io.run_for(10ms);
        return done();
    };
    EXPECT_FALSE(follower.copyCurrent());  // nothing yet
    follower.start();
    ASSERT_TRUE(runUntil([&] { return follower.version() == 4; }));
    EXPECT_TRUE(follower.copyCurrent());
    EXPECT_EQ(follower.rank(), 1u);
    EXPECT_EQ(store->snapshot()->entries.size(), 1u);
    follower.expectNewPrimary();
    EXPECT_FALSE(follower.copyCurrent());
    primaries[0]->close();  // the stream ends; the follower reconnects: snapshot, then DROPPED
    ASSERT_TRUE(runUntil([&] { return primaries.size() >= 2 && follower.version() == 9 && !follower.following(); }));
    EXPECT_FALSE(follower.copyCurrent());
    ASSERT_TRUE(runUntil([&] { return primaries.size() == 3 && follower.following() && follower.synced(); }));
    EXPECT_TRUE(follower.copyCurrent());  // a fresh snapshot makes it current again
    follower.stop();
}

}  // namespace
}  // namespace ringgate::registry::test
