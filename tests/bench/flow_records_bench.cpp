// flow_records_bench: what flows across the cluster cost the fast path, and how many flow
// records one node sends and takes (docs/FLOWS.md).
//
//   flow_records_bench [--flows N] [--rounds R] [--records N]
//
// Two fast paths in this process on in-memory net_ring ports (tests/bench/ring_rig.h), one
// with flow records off and one with them on (node 1 of three, every new flow a record
// on the worker's ring, which the control thread would drain: drained here between
// passes, outside the timed window). Rounds alternate between the two so that both see
// the same machine:
//   1. new connections: SYNs, 32 a pass, cycles per created connection, median pass;
//   2. established flows: random flows of the table, both directions, median pass.
// Then the replicator: node 1 makes N local records (as its FlowService does from the
// rings), node 2 (the holder of all of them) takes every datagram and applies it, acks go
// back; records per CPU-second of the whole exchange (both nodes on one core), HMAC on,
// in steady state (after as many flows came and went).
// The last line is one JSON object.
#include <rte_cycles.h>
#include <rte_eth_ring.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <unistd.h>

#include "common/cli.h"
#include "common/json_writer.h"
#include "config/loader.h"
#include "control/flows/flow_replicator.h"
#include "dataplane/dataplane.h"
#include "dataplane/eal.h"
#include "tests/bench/ring_rig.h"

using namespace ringgate;
using namespace ringgate::dataplane;
using namespace ringgate::dataplane::bench;

namespace {

constexpr const char* kHelp = R"(usage: flow_records_bench [--flows N] [--rounds R] [--records N]

New connections per second and established cycles per packet of the fast path with flow
records off and on (same run), and flow records per second through the replicator.

  --flows N     connections per table (default 262144)
  --rounds R    rounds per variant, alternating; medians reported (default 5)
  --records N   records through the replicator (default 1000000)
)";

constexpr unsigned kBurst = 32;
constexpr unsigned kBackends = 32;
constexpr uint32_t kVip = 0xC6120064;        // 198.18.0.100
constexpr uint32_t kClientBase = 0x64400000;  // 100.64.0.0/10

std::string configYaml(uint32_t flows) {
    std::string yaml = R"(
cluster:
  name: bench
  config_version: 1
  nodes:
    - { id: 1, addresses: { external: 198.18.0.1, internal: 198.19.0.1 } }
    - { id: 2, addresses: { external: 198.18.0.2, internal: 198.19.0.2 } }
    - { id: 3, addresses: { external: 198.18.0.3, internal: 198.19.0.3 } }
subnets:
  - { name: external, prefix: 198.18.0.0/24, vips: [ { address: 198.18.0.100, preferred_host: 1 } ] }
  - { name: internal, prefix: 198.19.0.0/24, vips: [ { address: 198.19.0.100, preferred_host: 1 } ] }
pools:
  - name: farm
    backends:
)";
    for (unsigned b = 0; b < kBackends; ++b)
        yaml += "      - { address: 198.19.0." + std::to_string(10 + b) + ", port: 8080 }\n";
    yaml += R"(services:
  - { name: dnat, vip: 198.18.0.100, port: 80, protocol: tcp, pool: farm, nat: dnat }
dataplane:
  lcores: [1]
  tables: { connections: )" + std::to_string(flows) + R"(, neighbours: 256 }
  ports:
    - { name: ext, subnet: external, driver: ring }
    - { name: int, subnet: internal, driver: ring }
)";
    return yaml;
}

// One fast path with its ports, records on or off.
struct Variant {
    Rig rig;
    std::unique_ptr<Dataplane> dp;
    std::vector<Flow> table;
    std::vector<FlowMessage> drained;
    uint32_t created = 0;
    std::vector<double> newCycles, establishedCycles;
};

bool startVariant(Variant& v, const config::Config& config, bool records, const std::string& tag) {
    v.rig.pool = rte_pktmbuf_pool_create(("frb_pool" + tag).c_str(), 16383, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    std::vector<uint16_t> portIds;
    for (unsigned p = 0; p < 2; ++p) {
        std::string name = "frb" + tag + std::to_string(p);
        v.rig.rx[p] = rte_ring_create((name + "rx").c_str(), 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        v.rig.tx[p] = rte_ring_create((name + "tx").c_str(), 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        int id = rte_eth_from_rings(name.c_str(), &v.rig.rx[p], 1, &v.rig.tx[p], 1, 0);
        if (id < 0 || !v.rig.pool) return false;
        v.rig.ports[p] = static_cast<uint16_t>(id);
        portIds.push_back(v.rig.ports[p]);
    }
    DataplaneOptions options;
    options.launchWorkers = false;
    options.flows = records;
    options.timeouts.synMs = options.timeouts.establishedMs = 3'600'000;
    auto started = Dataplane::startOnPorts(config, 1, portIds, options);
    if (!started) {
        std::fprintf(stderr, "flow_records_bench: %s\n", started.error().message.c_str());
        return false;
    }
    v.dp = std::move(*started);
    if (records && !v.dp->setMembers({1, 2, 3})) return false;
    for (unsigned b = 0; b < kBackends; ++b)
        v.dp->neighbours().learn(0xC613000A + b, MacAddress{{0x02, 0, 0, 0, 1, static_cast<uint8_t>(b)}}, 1);
    v.dp->worker(0).step(2);
    v.rig.collect();
    v.table.resize(config.dataplane.connectionTableSize);
    return true;
}

// SYNs for flows [base, base + count): one pass, cycles per connection made.
void newConnections(Variant& v, uint32_t base, unsigned count, uint32_t now) {
    FlowKey keys[kBurst];
    for (unsigned i = 0; i < count; ++i) {
        uint32_t f = base + i;
        keys[i] = FlowKey{kClientBase + f / 50000, kVip, static_cast<uint16_t>(10000 + f % 50000), 80, kProtoTcp};
    }
    v.rig.fill(0, keys, count, kTcpSyn);
    uint64_t t0 = rte_rdtsc_precise();
    v.dp->worker(0).step(now);
    uint64_t t1 = rte_rdtsc_precise();
    v.rig.collect();
    v.drained.clear();
    v.dp->takeFlowMessages(v.drained, 1u << 16);  // the control thread's work, untimed
    unsigned made = 0;
    for (unsigned i = 0; i < count; ++i) {
        auto hit = v.dp->connections().lookup(keys[i]);
        if (!hit.conn) continue;
        v.table[base + i] = Flow{keys[i], hit.conn->reverse};
        ++made;
    }
    v.created += made;
    if (made) v.newCycles.push_back(static_cast<double>(t1 - t0) / made);
}

double establishedRound(Variant& v, std::mt19937& random, unsigned passes, uint32_t now) {
    std::uniform_int_distribution<uint32_t> pick(0, v.created - 1);
    FlowKey forward[kBurst], reverse[kBurst];
    std::vector<double> cycles(passes);
    for (unsigned p = 0; p < passes; ++p) {
        for (unsigned i = 0; i < kBurst; ++i) {
            forward[i] = v.table[pick(random)].forward;
            reverse[i] = v.table[pick(random)].reverse;
        }
        v.rig.fill(0, forward, kBurst, kTcpAck);
        v.rig.fill(1, reverse, kBurst, kTcpAck);
        uint64_t t0 = rte_rdtsc_precise();
        v.dp->worker(0).step(now);
        cycles[p] = static_cast<double>(rte_rdtsc_precise() - t0) / std::max(v.rig.collect(), 1u);
    }
    return median(cycles);
}

// Node 1 hands `count` records to node 2 through the replicator, both in this thread.
double recordsPerSecond(uint32_t count) {
    using flows::FlowRecord;
    using flows::FlowReplicator;
    flows::ReplicatorOptions o1, o2;
    o1.self = 1;
    o2.self = 2;
    o1.incarnation = 10;
    o2.incarnation = 20;
    o1.sharedKey = o2.sharedKey = "bench-shared-key-0123456789";
    o1.budgetRecords = o2.budgetRecords = size_t{count} * 2;
    FlowReplicator one(o1), two(o2);
    flows::Time now{1'000'000};
    one.setMembers(now, {1, 2});
    two.setMembers(now, {1, 2});
    auto exchange = [&] {
        for (int i = 0; i < 4; ++i) {
            for (auto& out : one.takeOutgoing()) two.receive(now, 1, out.bytes);
            for (auto& out : two.takeOutgoing()) one.receive(now, 2, out.bytes);
            (void)two.takeChanges();
            (void)one.takeChanges();
        }
    };
    exchange();
    // Thread CPU time, not wall time: on a machine shared with other work (several
    // gateways on two cores) a wall clock would count other processes' time slices.
    auto cpuSeconds = [] {
        timespec t{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
    };
    // Record `i` of pass `pass`: distinct client tuples in every pass.
    auto recordOf = [](uint32_t pass, uint32_t i) {
        FlowRecord r;
        r.forward = {kClientBase + pass * 64 + i / 50000, kVip, static_cast<uint16_t>(10000 + i % 50000), 80, 6};
        r.reverse = {0xC613000A + i % kBackends, r.forward.src, 8080, r.forward.srcPort, 6};
        r.handler = 1;
        return r;
    };
    // As the FlowService does with a poll's worth of fast-path messages: the store's
    // memory requested a few records ahead.
    constexpr uint32_t kChunk = 1024, kAhead = 8;
    auto pass = [&](uint32_t number, bool end) {
        for (uint32_t base = 0; base < count; base += kChunk) {
            uint32_t last = std::min(count, base + kChunk);
            for (uint32_t i = base; i < last; ++i) {
                if (i + kAhead < last) one.prefetch(recordOf(number, i + kAhead).forward);
                if (end) one.localEnded(now, recordOf(number, i).forward);
                else one.localCreated(now, recordOf(number, i));
            }
            now += flows::Time{2'000};  // past the flush delay: the batch goes
            one.tick(now);
            two.tick(now);
            exchange();
        }
    };
    // Steady state, as in a daemon that has been running: a first million flows come and
    // go (the slab, free lists and indexes reach their size, their pages are touched);
    // then the measured pass.
    pass(0, false);
    pass(0, true);
    double t0 = cpuSeconds();
    pass(1, false);
    double seconds = cpuSeconds() - t0;
    size_t held = two.heldForOthers();
    if (held != count)
        std::fprintf(stderr, "flow_records_bench: node 2 holds %zu of %u records\n", held, count);
    return held == count ? count / seconds : 0;
}

}  // namespace

int main(int argc, char** argv) {
    auto args = cli::parse(argc, argv, {{"flows", "rounds", "records"}, {"help"}});
    if (!args) {
        std::fprintf(stderr, "flow_records_bench: %s\n", args.error().message.c_str());
        return 2;
    }
    if (args->has("help")) {
        std::fputs(kHelp, stdout);
        return 0;
    }
    uint32_t flows = static_cast<uint32_t>(std::stoul(args->option("flows").value_or("262144")));
    unsigned rounds = static_cast<unsigned>(std::stoul(args->option("rounds").value_or("5")));
    uint32_t records = static_cast<uint32_t>(std::stoul(args->option("records").value_or("1000000")));
    if (flows < 4096 || rounds == 0) {
        std::fprintf(stderr, "flow_records_bench: --flows must be at least 4096, --rounds at least 1\n");
        return 2;
    }
    uint64_t memoryMb = 768 + uint64_t{flows} * 2 * 700 / (1 << 20);
    std::vector<std::string> eal = {"flow_records_bench", "-l", "0", "-m", std::to_string(memoryMb), "--no-huge",
                                    "--no-shconf", "--no-pci", "--no-telemetry", "--file-prefix",
                                    "rgfrb" + std::to_string(::getpid()), "--log-level", "lib.eal:error"};
    if (auto ok = initEal(eal); !ok) {
        std::fprintf(stderr, "flow_records_bench: %s\n", ok.error().message.c_str());
        return 1;
    }
    auto loaded = config::loadString(configYaml(flows), "bench.yaml");
    if (!loaded.config) {
        std::fprintf(stderr, "flow_records_bench: %s\n", loaded.errors[0].toString().c_str());
        return 1;
    }
    Variant variants[2];  // records off, on
    for (int v = 0; v < 2; ++v)
        if (!startVariant(variants[v], *loaded.config, v == 1, std::to_string(v))) {
            std::fprintf(stderr, "flow_records_bench: could not start variant %d\n", v);
            return 1;
        }
    // New connections: the table filled in `rounds` slices, the variants taking turns.
    uint32_t now = 3;
    uint32_t slice = flows / rounds / kBurst * kBurst;
    for (unsigned r = 0; r < rounds; ++r)
        for (uint32_t base = r * slice; base < (r + 1) * slice; base += kBurst)
            for (Variant& v : variants) newConnections(v, base, kBurst, now);
    std::mt19937 random(42);
    unsigned passes = 20000;
    for (unsigned r = 0; r < rounds; ++r)
        for (Variant& v : variants) v.establishedCycles.push_back(establishedRound(v, random, passes, now));
    uint64_t hz = rte_get_tsc_hz();
    double newOff = static_cast<double>(hz) / median(variants[0].newCycles);
    double newOn = static_cast<double>(hz) / median(variants[1].newCycles);
    double estOff = median(variants[0].establishedCycles), estOn = median(variants[1].establishedCycles);
    uint64_t recordsOut = report::find(variants[1].dp->flowCounts(), "records_out").value_or(0);
    double perSecond = recordsPerSecond(records);

    std::printf("flow records, %u connections per table, TSC %.0f MHz, no hugepages\n", flows,
                static_cast<double>(hz) / 1e6);
    std::printf("  new connections, records off  %10.0f /s per core\n", newOff);
    std::printf("  new connections, records on   %10.0f /s per core (%.2fx; %llu records out)\n", newOn,
                newOn / newOff, static_cast<unsigned long long>(recordsOut));
    std::printf("  established, records off      %10.1f cycles/packet\n", estOff);
    std::printf("  established, records on       %10.1f cycles/packet (%.3fx)\n", estOn, estOn / estOff);
    std::printf("  replicator, node 1 -> node 2  %10.0f records/s (HMAC-SHA256, one core for both)\n", perSecond);
    JsonWriter json;
    json.beginObject()
        .field("flows", static_cast<uint64_t>(flows))
        .field("new_connections_per_second_records_off", newOff)
        .field("new_connections_per_second_records_on", newOn)
        .field("new_connections_ratio", newOn / newOff)
        .field("established_cycles_per_packet_records_off", estOff)
        .field("established_cycles_per_packet_records_on", estOn)
        .field("established_ratio", estOn / estOff)
        .field("records_per_second", perSecond)
        .endObject();
    std::printf("%s\n", json.str().c_str());
    return perSecond > 0 && recordsOut >= variants[1].created ? 0 : 1;
}
