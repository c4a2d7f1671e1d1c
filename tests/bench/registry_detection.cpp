// Benchmark: how fast the buddy ring notices a dead back end, and what it costs.
//
//  1. Detection: a ring of --ring agents (ringgate-buddy's BuddyAgent, real ICMP) on
//     198.19.0.x/32 addresses in a private network namespace. A random agent dies (its
//     agent stops and its address disappears, so nothing answers its pings); the time
//     until the registry's live list (as a LiveListClient subscriber sees it) no longer
//     has it is recorded; the server then comes back. p50/p99 over --detections deaths.
//  1b. Heal: a random agent's address disappears (it is cut off, its agent keeps
//     running) until the registry removed it, stays away a little longer, and comes
//     back; the time from its return until the live list is complete again is recorded.
//     p50/p99 over --heals cuts; the goal is two detection periods.
//  2. Ping load per server as the pool grows from 10 to --max-agents agents on addresses
//     of a local route (198.19.16.0/20 on lo; the registry refuses loopback addresses): the ring (each agent pings its two buddies) versus the all-to-all
//     baseline of seed 000's background (each server pings every other), both measured
//     by counting the ICMP echo requests actually sent in a window.
//
// Runs as root in a network namespace of its own (unshare), so it touches nothing else
// and needs no cleanup. Last line: one JSON object.
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "common/cli_app.h"
#include "common/log.h"
#include "control/registry/address_control.h"
#include "control/registry/buddy_agent.h"
#include "control/registry/live_list_client.h"
#include "control/registry/registry_server.h"
#include "control/registry/ring_view.h"

using namespace ringgate;
using namespace ringgate::registry;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kDescription = R"(Measures the buddy ring's death-detection time (p50/p99), the time from a heal to a
complete live list, and the ping load per server as the pool grows, beside the
all-to-all baseline. Needs root (own network namespace).)";

struct Bench {
    boost::asio::io_context io;
    std::unique_ptr<ServerStore> store;
    std::unique_ptr<RegistryService> service;
    std::unique_ptr<TableWorker> table;
    std::unique_ptr<RegistryServer> server;
    Ipv4Endpoint endpoint;

    bool runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit) {
        auto deadline = Clock::now() + limit;
        while (!done() && Clock::now() < deadline) io.run_for(5ms);
        return done();
    }
    void runFor(std::chrono::milliseconds span) {
        auto deadline = Clock::now() + span;
        while (Clock::now() < deadline) io.run_for(deadline - Clock::now());
    }
    size_t liveCount() { return store->snapshot()->entries.size(); }
    bool settled(size_t n) {
        auto snapshot = store->snapshot();
        return snapshot && snapshot->entries.size() == n && checkRing(snapshot->entries).ok;
    }
};

std::unique_ptr<BuddyAgent> makeAgent(Bench& bench, Ipv4Address self, std::chrono::milliseconds interval,
                                      uint32_t failures) {
    BuddyAgentOptions options;
    options.core = {self, failures, 2000ms};
    options.interval = interval;
    options.listenerPort = 7301;
    options.registry.endpoints = {bench.endpoint};
    auto agent = std::make_unique<BuddyAgent>(bench.io, options);
    if (auto started = agent->start(); !started) {
        std::fprintf(stderr, "agent %s: %s\n", self.toString().c_str(), started.error().message.c_str());
        std::exit(1);
    }
    return agent;
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    size_t index = static_cast<size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

Ipv4Address loopback(uint32_t base, uint32_t k) { return Ipv4Address{base + ((k / 250) << 8) + (k % 250) + 1}; }

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{kDescription, "registry_detection"};
    unsigned long ringSize = 30, detections = 30, heals = 20, intervalMs = 200, failureCount = 3,
                  loadIntervalMs = 1000, windowMs = 3000;
    std::vector<unsigned long> sizes = {10, 100, 1000}, allSizes = {10, 30, 100, 300};
    for (auto [name, target, what] : {std::tuple{"--ring", &ringSize, "agents in the detection ring"},
                                      std::tuple{"--detections", &detections, "deaths to time"},
                                      std::tuple{"--heals", &heals, "cuts and heals to time"},
                                      std::tuple{"--interval-ms", &intervalMs, "probe interval"},
                                      std::tuple{"--failures", &failureCount, "silent probes that mean dead"},
                                      std::tuple{"--load-interval-ms", &loadIntervalMs, "probe interval of the load runs"},
                                      std::tuple{"--window-ms", &windowMs, "how long each load run counts pings"}})
        app.add_option(name, *target, what)->check(CLI::Range(1ul, 1000000ul))->capture_default_str();
    app.add_option("--sizes", sizes, "ring sizes of the load runs, comma separated")
        ->delimiter(',')->check(CLI::Range(2ul, 5000ul))->capture_default_str();
    app.add_option("--all-to-all-sizes", allSizes, "pool sizes of the all-to-all baseline, comma separated")
        ->delimiter(',')->check(CLI::Range(2ul, 5000ul))->capture_default_str();
    if (auto exitStatus = cli::parseApp(app, argc, argv)) return *exitStatus;
    const auto interval = std::chrono::milliseconds(intervalMs);
    const auto failures = static_cast<uint32_t>(failureCount);
    const auto loadInterval = std::chrono::milliseconds(loadIntervalMs);
    const auto window = std::chrono::milliseconds(windowMs);

    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (geteuid() != 0) {
        std::puts("SKIP: needs root (a private network namespace, ICMP sockets)");
        return 77;
    }
    if (unshare(CLONE_NEWNET) != 0) {
        std::perror("unshare(CLONE_NEWNET)");
        return 1;
    }
    (void)runProgram({"ip", "link", "set", "lo", "up"});
    // Every address of this prefix is local, as 127/8 is, without 1,000 `ip addr add`s.
    (void)runProgram({"ip", "route", "add", "local", "198.19.16.0/20", "dev", "lo"});
    // Unprivileged ping sockets: the kernel hands each agent only its own echo replies.
    std::ofstream("/proc/sys/net/ipv4/ping_group_range") << "0 2147483647\n";
    rlimit files{};
    getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
    log::setAllLevels(log::Level::Warn);

    Bench bench;
    bench.store = std::move(openSqliteStore(":memory:").value());
    bench.service = std::make_unique<RegistryService>(*bench.store, randomPickSource());
    bench.table = std::make_unique<TableWorker>(bench.io, *bench.service);
    bench.server = std::make_unique<RegistryServer>(bench.io, *bench.table, 1000ms);
    if (auto listening = bench.server->listen({*Ipv4Address::parse("127.0.0.1"), 0}); !listening) {
        std::fprintf(stderr, "%s\n", listening.error().message.c_str());
        return 1;
    }
    bench.server->setRole(Role::Standalone);
    bench.endpoint = {*Ipv4Address::parse("127.0.0.1"), bench.server->port()};

    // ---- 1. detection time ----
    std::map<Ipv4Address, Clock::time_point> dying;
    std::vector<double> detectionMs;
    std::set<Ipv4Address> lastLive;
    LiveListClient subscriber(bench.io, {bench.endpoint}, [&](const protocol::LiveList& list) {
        std::set<Ipv4Address> live(list.servers.begin(), list.servers.end());
        lastLive = live;
        for (auto it = dying.begin(); it != dying.end();) {
            if (!live.count(it->first)) {
                detectionMs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - it->second).count());
                it = dying.erase(it);
            } else {
                ++it;
            }
        }
    });
    subscriber.start();
    std::map<Ipv4Address, std::unique_ptr<BuddyAgent>> ring;
    const uint32_t ringBase = 0xC6130000u;  // 198.19.0.0
    for (uint32_t k = 1; k <= ringSize; ++k) {
        Ipv4Address address{ringBase + k};
        (void)runProgram({"ip", "addr", "add", address.toString() + "/32", "dev", "lo"});
        ring[address] = makeAgent(bench, address, interval, failures);
    }
    if (!bench.runUntil([&] { return bench.settled(ringSize); }, 30s)) {
        std::fprintf(stderr, "the ring of %lu did not form\n", ringSize);
        return 1;
    }
    std::mt19937 random(7);
    for (unsigned long i = 0; i < detections; ++i) {
        auto victim = std::next(ring.begin(), static_cast<long>(random() % ring.size()))->first;
        ring[victim]->abandon();
        (void)runProgram({"ip", "addr", "del", victim.toString() + "/32", "dev", "lo"});
        dying[victim] = Clock::now();
        if (!bench.runUntil([&] { return !dying.count(victim); }, 20s)) {
            std::fprintf(stderr, "death of %s not detected in 20 s\n", victim.toString().c_str());
            return 1;
        }
        ring.erase(victim);
        if (!bench.runUntil([&] { return bench.settled(ringSize - 1); }, 20s)) {
            std::fprintf(stderr, "ring did not settle after %s died\n", victim.toString().c_str());
            return 1;
        }
        (void)runProgram({"ip", "addr", "add", victim.toString() + "/32", "dev", "lo"});
        ring[victim] = makeAgent(bench, victim, interval, failures);  // it comes back
        if (!bench.runUntil([&] { return bench.settled(ringSize); }, 20s)) {
            std::fprintf(stderr, "%s did not rejoin\n", victim.toString().c_str());
            return 1;
        }
    }
    // ---- 1b. heal -> complete live list ----
    std::vector<double> healMs;
    for (unsigned long i = 0; i < heals; ++i) {
        auto victim = std::next(ring.begin(), static_cast<long>(random() % ring.size()))->first;
        (void)runProgram({"ip", "addr", "del", victim.toString() + "/32", "dev", "lo"});
        if (!bench.runUntil([&] { return !lastLive.count(victim); }, 20s)) {
            std::fprintf(stderr, "cut-off %s never left the live list\n", victim.toString().c_str());
            return 1;
        }
        bench.runFor(std::chrono::milliseconds(failures * interval.count()));  // the cut lasts on
        (void)runProgram({"ip", "addr", "add", victim.toString() + "/32", "dev", "lo"});
        auto healed = Clock::now();
        if (!bench.runUntil([&] { return lastLive.size() == ringSize; }, 20s)) {
            std::fprintf(stderr, "%s did not come back after the heal\n", victim.toString().c_str());
            return 1;
        }
        healMs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - healed).count());
        if (!bench.runUntil([&] { return bench.settled(ringSize); }, 20s)) {
            std::fprintf(stderr, "ring did not settle after %s healed\n", victim.toString().c_str());
            return 1;
        }
    }
    double healP50 = percentile(healMs, 50), healP99 = percentile(healMs, 99);
    double periodMs = static_cast<double>(failures * interval.count());
    std::printf("heal: %lu cut-offs, each removed, then back\n", heals);
    std::printf("  heal -> complete live list: p50 %.0f ms, p99 %.0f ms (goal: 2 detection periods = %.0f ms)\n",
                healP50, healP99, 2 * periodMs);

    subscriber.stop();
    for (auto& [address, agent] : ring) agent->abandon();
    bench.runFor(50ms);
    ring.clear();
    double p50 = percentile(detectionMs, 50), p99 = percentile(detectionMs, 99);
    double floorMs = static_cast<double>(failures * interval.count());
    std::printf("detection: %lu deaths in a ring of %lu, probe every %lld ms, dead after %u silent probes\n",
                detections, ringSize, static_cast<long long>(interval.count()), failures);
    std::printf("  death -> removed from the live list: p50 %.0f ms, p99 %.0f ms (probe floor %u x %lld = %.0f ms)\n",
                p50, p99, failures, static_cast<long long>(interval.count()), floorMs);

    // ---- 2. ping load per server ----
    auto measure = [&](auto& probers, auto sentOf, std::chrono::milliseconds span) {
        uint64_t before = 0, after = 0;
        for (auto& p : probers) before += sentOf(p);
        auto start = Clock::now();
        bench.runFor(span);
        double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        for (auto& p : probers) after += sentOf(p);
        return static_cast<double>(after - before) / seconds / static_cast<double>(probers.size());
    };
    std::vector<std::pair<unsigned long, double>> ringLoad, allLoad;
    for (auto n : sizes) {
        (void)bench.store->load({0, {}});
        std::vector<std::unique_ptr<BuddyAgent>> agents;
        for (uint32_t k = 0; k < n; ++k)
            agents.push_back(makeAgent(bench, loopback(0xC6131000u, k), loadInterval, failures));
        if (!bench.runUntil([&] { return bench.settled(n); }, 120s)) {
            std::fprintf(stderr, "ring of %lu did not form (%zu joined)\n", n, bench.liveCount());
            return 1;
        }
        double perServer = measure(agents, [](auto& a) { return a->prober().sent(); }, window);
        ringLoad.push_back({n, perServer});
        uint64_t sent = 0, answered = 0;
        for (auto& a : agents) sent += a->prober().sent(), answered += a->prober().answered();
        std::printf("  ring       %5lu servers: %7.2f pings/s per server (%.0f%% answered)\n", n, perServer,
                    sent ? 100.0 * static_cast<double>(answered) / static_cast<double>(sent) : 0.0);
        for (auto& a : agents) a->abandon();
        bench.runFor(50ms);
    }
    for (auto n : allSizes) {
        // Baseline: every server pings every other server each interval (seed 000's background).
        std::vector<std::unique_ptr<Prober>> probers;
        std::vector<Ipv4Address> addresses;
        for (uint32_t k = 0; k < n; ++k) {
            addresses.push_back(loopback(0x7F020000u, k));
            probers.push_back(std::make_unique<Prober>(bench.io, ProbeSpec{}, addresses.back()));
            if (auto opened = probers.back()->open([](Ipv4Address) {}); !opened) {
                std::fprintf(stderr, "%s\n", opened.error().message.c_str());
                return 1;
            }
        }
        boost::asio::steady_timer timer(bench.io);
        std::function<void()> round = [&] {
            for (size_t i = 0; i < probers.size(); ++i)
                for (size_t j = 0; j < addresses.size(); ++j)
                    if (i != j) probers[i]->probe(addresses[j], loadInterval);
            timer.expires_after(loadInterval);
            timer.async_wait([&](boost::system::error_code ec) { if (!ec) round(); });
        };
        // Rounds are synchronous here: measure half an interval after one, over whole
        // intervals, so that the window holds exactly that many rounds.
        round();
        bench.runFor(loadInterval / 2);
        auto rounds = std::max<long>(1, static_cast<long>(window / loadInterval));
        double perServer = measure(probers, [](auto& p) { return p->sent(); }, loadInterval * rounds);
        timer.cancel();
        bench.runFor(200ms);  // the last round's replies
        uint64_t sent = 0, answered = 0;
        for (auto& p : probers) sent += p->sent(), answered += p->answered();
        allLoad.push_back({n, perServer});
        double demanded = static_cast<double>(n - 1) * 1000.0 / static_cast<double>(loadInterval.count());
        std::printf("  all-to-all %5lu servers: %7.2f pings/s per server of %.0f demanded (%.0f%% answered)%s\n", n,
                    perServer, demanded,
                    sent ? 100.0 * static_cast<double>(answered) / static_cast<double>(sent) : 0.0,
                    perServer < 0.9 * demanded ? "  <- this machine cannot keep up" : "");
    }

    nlohmann::ordered_json json;
    json["bench"] = "registry_detection";
    json["ring_size"] = ringSize;
    json["detections"] = detectionMs.size();
    json["interval_ms"] = interval.count();
    json["failures"] = failures;
    json["detection_p50_ms"] = p50;
    json["detection_p99_ms"] = p99;
    json["heals"] = healMs.size();
    json["heal_p50_ms"] = healP50;
    json["heal_p99_ms"] = healP99;
    json["heal_goal_ms"] = 2 * periodMs;
    json["load_interval_ms"] = loadInterval.count();
    for (auto [key, load] : {std::pair{"ring_pings_per_server_per_s", &ringLoad},
                             std::pair{"all_to_all_pings_per_server_per_s", &allLoad}}) {
        auto& perSize = json[key] = nlohmann::ordered_json::object();
        for (auto [n, v] : *load) perSize[std::to_string(n)] = v;
    }
    std::puts(json.dump().c_str());
    return 0;
}
