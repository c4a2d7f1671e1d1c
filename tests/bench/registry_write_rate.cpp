// Benchmark: the registry's write rate on SQLite and on PostgreSQL with durable settings
// (SQLite in WAL mode with its default synchronous=FULL; a PostgreSQL 15 cluster with
// fsync and synchronous_commit on), printed side by side. Each store gets the same
// stream: --writes announces then as many deletes, from --clients concurrent callers
// over loopback TCP with signed requests, through the real RegistryServer. Beside the
// writes, one caller asks LIST one request at a time: its latency while the announces run
// against the same-run baseline without writes shows that reads do not wait behind the
// store (they are answered from the table as of the last finished change). Last line:
// one JSON object.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/cli_app.h"
#include "common/log.h"
#include "control/registry/registry_client.h"
#include "control/registry/registry_server.h"

using namespace ringgate;
using namespace ringgate::registry;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kDescription = R"(Writes per second through ringgate-registry's server on SQLite and on a durable
PostgreSQL cluster (started with --pg-cluster SCRIPT, tests/registry/pg_cluster.sh),
and LIST latency alone and during the writes. Needs root for PostgreSQL (the server runs
as the postgres user); without PostgreSQL 15 only SQLite is measured.)";

// Runs `count` requests made by `line(i)` from `clients` concurrent callers; returns
// requests per second, or a negative number when one failed.
double run(boost::asio::io_context& io, Ipv4Endpoint endpoint, const LineKeyPtr& key, unsigned long count,
           unsigned long clients, const std::function<std::string(unsigned long)>& line) {
    RegistryClientOptions options{{endpoint}, std::nullopt, 2000ms, 50ms, 20000ms, key};
    RegistryClient client(io, options);
    unsigned long next = 0, done = 0;
    bool failed = false;
    std::function<void()> issue = [&] {
        if (next >= count) return;
        client.call(line(next++), [&](Expected<std::string> reply) {
            if (!reply || reply->rfind("OK", 0) != 0) {
                if (!failed) std::fprintf(stderr, "write failed: %s\n", reply ? reply->c_str() : reply.error().message.c_str());
                failed = true;
            }
            ++done;
            issue();
        });
    };
    auto start = Clock::now();
    for (unsigned long c = 0; c < clients; ++c) issue();
    while (done < count && !failed) io.run_for(10ms);
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return failed ? -1.0 : static_cast<double>(count) / seconds;
}

std::string address(unsigned long i) { return Ipv4Address{0xC6130000u + 256 + static_cast<uint32_t>(i)}.toString(); }

struct Rates {
    double announce = 0, remove = 0;
    double readIdleP99Ms = 0, readDuringWritesP99Ms = 0;  // LIST latency
    size_t readsDuringWrites = 0;
};

// One caller asking LIST, one request at a time with 10 ms between an answer and the next
// question (a gateway's or an operator's pace, not a flood that would compete with the
// writes for the CPU), until `count` answers or `stop` holds; each latency in milliseconds.
class Reader {
public:
    Reader(boost::asio::io_context& io, Ipv4Endpoint endpoint, const LineKeyPtr& key)
        : client_(io, {{endpoint}, std::nullopt, 2000ms, 50ms, 20000ms, key}), pause_(io) {}
    void start(size_t count) {
        limit_ = count;
        ask();
    }
    void stop() { stopping_ = true; }
    bool done() const { return !asking_; }
    std::vector<double> latencies;

private:
    void ask() {
        if (stopping_ || latencies.size() >= limit_) {
            asking_ = false;
            return;
        }
        asking_ = true;
        auto sent = Clock::now();
        client_.call("LIST", [this, sent](Expected<std::string> reply) {
            if (reply && reply->rfind("OK", 0) == 0)
                latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
            pause_.expires_after(10ms);
            pause_.async_wait([this](boost::system::error_code ec) {
                if (!ec) ask();
            });
        });
    }
    RegistryClient client_;
    boost::asio::steady_timer pause_;
    size_t limit_ = 0;
    bool stopping_ = false;
    bool asking_ = false;
};

double p99(std::vector<double> values) {
    if (values.empty()) return -1;
    std::sort(values.begin(), values.end());
    return values[std::min(values.size() - 1, values.size() * 99 / 100)];
}

Expected<Rates> measure(ServerStore& store, unsigned long writes, unsigned long clients) {
    boost::asio::io_context io;
    if (auto emptied = store.load({}); !emptied) return emptied.error();
    RegistryService service(store, randomPickSource());
    auto key = std::make_shared<const LineKey>("benchmark-pool-key-0123456789");
    TableWorker table(io, service);
    RegistryServer server(io, table, 1000ms, key);
    if (auto listening = server.listen({*Ipv4Address::parse("127.0.0.1"), 0}); !listening) return listening.error();
    server.setRole(Role::Standalone);
    Ipv4Endpoint endpoint{*Ipv4Address::parse("127.0.0.1"), server.port()};
    Rates rates;
    Reader idle(io, endpoint, key);
    idle.start(200);
    while (!idle.done()) io.run_for(10ms);
    rates.readIdleP99Ms = p99(idle.latencies);
    Reader reader(io, endpoint, key);
    reader.start(SIZE_MAX);
    rates.announce = run(io, endpoint, key, writes, clients, [](unsigned long i) { return "ANNOUNCE " + address(i); });
    reader.stop();
    while (!reader.done()) io.run_for(10ms);
    rates.readDuringWritesP99Ms = p99(reader.latencies);
    rates.readsDuringWrites = reader.latencies.size();
    rates.remove = run(io, endpoint, key, writes, clients, [](unsigned long i) { return "DELETE " + address(i); });
    server.close();
    if (rates.announce < 0 || rates.remove < 0) return makeError("a write failed");
    return rates;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{kDescription, "registry_write_rate"};
    unsigned long writes = 400, clients = 8;
    std::string script = "tests/registry/pg_cluster.sh";
    app.add_option("--writes", writes, "announces, then as many deletes")->check(CLI::Range(1ul, 1000000ul))
        ->capture_default_str();
    app.add_option("--clients", clients, "concurrent callers")->check(CLI::Range(1ul, 10000ul))->capture_default_str();
    app.add_option("--pg-cluster", script, "script that starts and stops a throwaway PostgreSQL cluster")
        ->capture_default_str();
    if (auto exitStatus = cli::parseApp(app, argc, argv)) return *exitStatus;
    log::setAllLevels(log::Level::Warn);

    char dir[] = "/tmp/rg-writerate-XXXXXX";
    if (!::mkdtemp(dir)) return 1;
    auto sqlite = openSqliteStore(std::string(dir) + "/registry.db");
    if (!sqlite) {
        std::fprintf(stderr, "%s\n", sqlite.error().message.c_str());
        return 1;
    }
    auto sqliteRates = measure(**sqlite, writes, clients);
    if (!sqliteRates) {
        std::fprintf(stderr, "sqlite: %s\n", sqliteRates.error().message.c_str());
        return 1;
    }

    std::optional<Rates> pgRates;
    // Beside, not inside, the private directory: the server runs as the postgres user.
    std::string pgDir = std::string(dir) + "-pg";
    if (FILE* pipe = ::popen((script + " start " + pgDir + " durable").c_str(), "r")) {
        char line[512] = {};
        bool got = std::fgets(line, sizeof line, pipe) != nullptr;
        int status = ::pclose(pipe);
        if (got && status == 0) {
            std::string conninfo = line;
            while (!conninfo.empty() && conninfo.back() == '\n') conninfo.pop_back();
            if (auto pg = openPostgresStore(conninfo)) {
                auto rates = measure(**pg, writes, clients);
                if (rates) pgRates = *rates;
                else std::fprintf(stderr, "postgresql: %s\n", rates.error().message.c_str());
            } else {
                std::fprintf(stderr, "postgresql: %s\n", pg.error().message.c_str());
            }
        } else {
            std::fprintf(stderr, "postgresql: cluster did not start (exit %d): measuring SQLite only\n", status);
        }
        (void)std::system((script + " stop " + pgDir).c_str());
    }
    std::string cleanup = std::string("rm -rf ") + dir;
    (void)std::system(cleanup.c_str());

    std::printf("registry writes over loopback, %lu clients, %lu announces then %lu deletes, durable stores:\n",
                clients, writes, writes);
    std::printf("  %-12s %10s %10s %22s %26s\n", "", "announce/s", "delete/s", "LIST p99 alone (ms)",
                "LIST p99 during writes (ms)");
    auto row = [](const char* name, const Rates& r) {
        std::printf("  %-12s %10.0f %10.0f %22.2f %20.2f (%zu)\n", name, r.announce, r.remove, r.readIdleP99Ms,
                    r.readDuringWritesP99Ms, r.readsDuringWrites);
    };
    row("sqlite", *sqliteRates);
    if (pgRates) {
        row("postgresql", *pgRates);
        std::printf("  postgresql / sqlite: %.2f (announce), %.2f (delete)\n", pgRates->announce / sqliteRates->announce,
                    pgRates->remove / sqliteRates->remove);
    }
    nlohmann::ordered_json json;
    json["bench"] = "registry_write_rate";
    json["writes"] = writes;
    json["clients"] = clients;
    json["sqlite_announce_per_s"] = sqliteRates->announce;
    json["sqlite_delete_per_s"] = sqliteRates->remove;
    json["sqlite_list_p99_ms_alone"] = sqliteRates->readIdleP99Ms;
    json["sqlite_list_p99_ms_during_writes"] = sqliteRates->readDuringWritesP99Ms;
    if (pgRates) {
        json["postgresql_announce_per_s"] = pgRates->announce;
        json["postgresql_delete_per_s"] = pgRates->remove;
        json["postgresql_list_p99_ms_alone"] = pgRates->readIdleP99Ms;
        json["postgresql_list_p99_ms_during_writes"] = pgRates->readDuringWritesP99Ms;
        json["postgresql_to_sqlite_announce"] = pgRates->announce / sqliteRates->announce;
    }
    std::printf("%s\n", json.dump().c_str());
    return 0;
}
