// The registry's store calls run off its I/O thread (table_worker.h): while a write is
// held inside the store, reads (ENTRY, LIST, TABLE, ROLE) and a new subscription are
// answered at once from the table as of the last finished change, and the write's
// answer and live-list push follow when the store is done. On SQLite and PostgreSQL.
//
// Before the store thread, the held write blocked the I/O thread: every read waited for
// it (here until the 3 s safety release), and this test failed on the latency checks.
#include <atomic>
#include <future>
#include <thread>

#include "control/registry/live_list_client.h"
#include "control/registry/registry_client.h"
#include "control/registry/registry_server.h"
#include "tests/registry/store_fixture.h"

namespace ringgate::registry::test {
namespace {

using namespace std::chrono_literals;

// The real store, with announce() held until released (a slow disk or a remote database).
class HeldStore : public ServerStore {
public:
    explicit HeldStore(ServerStore& inner) : inner_(inner) {}
    Expected<AnnounceResult> announce(Ipv4Address server, uint64_t pick) override {
        entered = true;
        released_.wait_for(3s);  // safety: never hold for good
        return inner_.announce(server, pick);
    }
    Expected<DeleteResult> remove(Ipv4Address server) override { return inner_.remove(server); }
    Expected<AnnounceResult> replace(Ipv4Address old, Ipv4Address replacement) override {
        return inner_.replace(old, replacement);
    }
    Expected<EntryResult> entry(Ipv4Address server) override { return inner_.entry(server); }
    Expected<TableSnapshot> snapshot() override { return inner_.snapshot(); }
    Expected<void> load(const TableSnapshot& snapshot) override { return inner_.load(snapshot); }
    const char* kind() const override { return inner_.kind(); }

    void release() { release_.set_value(); }
    std::atomic<bool> entered = false;

private:
    ServerStore& inner_;
    std::promise<void> release_;
    std::shared_future<void> released_ = release_.get_future().share();
};

class TableWorkerTest : public StoreTest {
protected:
    bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done() && std::chrono::steady_clock::now() < deadline) io_.run_for(5ms);
        return done();
    }
    // A signed call; its reply and how long it took.
    std::pair<std::string, std::chrono::milliseconds> timedCall(const Ipv4Endpoint& to, const std::string& line) {
        auto start = std::chrono::steady_clock::now();
        std::optional<Expected<std::string>> reply;
        RegistryClient client(io_, {{to}, std::nullopt, 2000ms, 50ms, 2000ms, key_});
        client.call(line, [&](Expected<std::string> r) { reply = std::move(r); });
        runUntil([&] { return reply.has_value(); });
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        return {reply && reply->ok() ? **reply : "no reply", took};
    }

    boost::asio::io_context io_;
    LineKeyPtr key_ = std::make_shared<const LineKey>("unit-test-pool-key-0123456789");
};

TEST_F(TableWorkerTest, ReadsAndSubscriptionsDoNotWaitBehindAWrite) {
    loadTable({row(1, 2, 2), row(2, 1, 1)}, 5);
    HeldStore held(*store_);
    RegistryService service(held, [] { return uint64_t{0}; });
    TableWorker table(io_, service);
    RegistryServer registry(io_, table, 1000ms, key_);
    ASSERT_TRUE(registry.listen({*Ipv4Address::parse("127.0.0.1"), 0}).ok());
    registry.setRole(Role::Primary);
    Ipv4Endpoint endpoint{*Ipv4Address::parse("127.0.0.1"), registry.port()};

    std::optional<Expected<std::string>> announced;
    RegistryClient writer(io_, {{endpoint}, std::nullopt, 5000ms, 50ms, 5000ms, key_});
    writer.call("ANNOUNCE " + server(3).toString(), [&](Expected<std::string> r) { announced = std::move(r); });
    ASSERT_TRUE(runUntil([&] { return held.entered.load(); }));

    // The write is inside the store now. Reads are answered from the table as it was.
    std::vector<std::pair<std::string, std::string>> reads = {
        {"LIST", "OK 5 " + server(1).toString() + " " + server(2).toString()},
        {"ENTRY " + server(1).toString(), "OK 5 found " + server(2).toString() + " " + server(2).toString() + " 0"},
        {"ENTRY " + server(3).toString(), "OK 5 absent 0.0.0.0 0.0.0.0 0"},
        {"ROLE", "OK primary 0"}};
    for (const auto& [line, expected] : reads) {
        auto [reply, took] = timedCall(endpoint, line);
        EXPECT_EQ(reply, expected) << line;
        EXPECT_LT(took, 500ms) << line << " waited behind the write";
    }
    auto [tableReply, tableTook] = timedCall(endpoint, "TABLE");
    EXPECT_EQ(tableReply.rfind("OK 5 ", 0), 0u) << tableReply;
    EXPECT_LT(tableTook, 500ms);
    std::vector<protocol::LiveList> seen;
    auto subscribed = std::chrono::steady_clock::now();
    LiveListClient subscriber(io_, {endpoint}, [&](const protocol::LiveList& list) { seen.push_back(list); }, key_);
    subscriber.start();
    ASSERT_TRUE(runUntil([&] { return !seen.empty(); }, 2s));
    EXPECT_LT(std::chrono::steady_clock::now() - subscribed, 500ms) << "the subscription waited behind the write";
    EXPECT_EQ(seen.front().servers.size(), 2u);
    EXPECT_FALSE(announced.has_value());  // still held

    held.release();
    ASSERT_TRUE(runUntil([&] { return announced.has_value(); }));
    ASSERT_TRUE(announced->ok());
    EXPECT_EQ(announced->value().rfind("OK 6 new ", 0), 0u) << announced->value();
    ASSERT_TRUE(runUntil([&] { return seen.back().servers.size() == 3; }));  // pushed after the write
    EXPECT_EQ(seen.back().version, 6u);
    EXPECT_EQ(timedCall(endpoint, "LIST").first,
              "OK 6 " + server(1).toString() + " " + server(2).toString() + " " + server(3).toString());
    subscriber.stop();
}

}  // namespace
}  // namespace ringgate::registry::test
