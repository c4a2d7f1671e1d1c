// fastpath_bench: what one fast-path worker costs per packet, beside DPDK's own testpmd
// io forwarding measured in the same run.
//
//   fastpath_bench [--flows N] [--large-flows N] [--rounds R] [--passes P] [--no-testpmd]
//
// In-memory I/O: two net_ring ports (external, internal) whose rings this program fills
// with 64-byte TCP frames and empties again. Only the worker's pass (rx burst, classify,
// table lookup, NAT, tx burst, amortised expiry) is inside the timed window; building the
// frames is not. The phases run twice, on a table of N flows (1 M) and on one of the
// large size (16 M), each with its own dataplane:
//   1. new connections: SYNs of N distinct flows (a quarter fullnat, the rest dnat),
//      32 a pass, the median pass,
//   2. established flows: random flows out of N, both directions, R rounds, median,
//   3. baselines in the same run: the connection table alone (one bulk lookup of the same
//      kind of keys and a read of each entry: the floor the table's memory misses set),
//      random reads of cache lines in memory like the table's (the DRAM floor), the same
//      rings forwarded without processing (our own io loop), and dpdk-testpmd
//      --forward-mode=io on net_ring and on net_null (separate processes, once).
// Memory per flow is everything the connection table allocates (entries, index, free
// rings) over N, checked against the process's resident-set growth.
// The last line is one JSON object.
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "common/cli.h"
#include "common/json_writer.h"
#include "config/loader.h"
#include "control/management/render.h"
#include "dataplane/dataplane.h"
#include "dataplane/eal.h"
#include "dataplane/huge_memory.h"
#include "tests/bench/ring_rig.h"

using namespace ringgate;
using namespace ringgate::dataplane;
using namespace ringgate::dataplane::bench;

namespace {

constexpr const char* kHelp = R"(usage: fastpath_bench [--flows N] [--large-flows N] [--rounds R] [--passes P] [--no-testpmd]

Measures cycles per packet of the ringgate fast path on in-memory ports beside
dpdk-testpmd io forwarding, new connections per second, and memory per flow, on a
table of N flows and again on a large one.

  --flows N        connections in the table (default 1048576)
  --large-flows N  the second, large table (default 16777216; 0 skips it; ~2 GB)
  --rounds R       established-flow rounds; the median is reported (default 5)
  --passes P       worker passes per round, 64 packets each (default 40000)
  --no-testpmd   skip the dpdk-testpmd baselines
  --hugepages    run the EAL on hugepages (reserve them first); default --no-huge
)";

constexpr unsigned kBurst = 32;
constexpr unsigned kBackends = 32;
constexpr uint32_t kVip = 0xC6120064;        // 198.18.0.100
constexpr uint32_t kClientBase = 0x64400000;  // 100.64.0.0/10: clients behind a router

// dpdk-testpmd io forwarding on `vdevs` for a few seconds; returns its cycles/packet.
double testpmdCyclesPerPacket(const std::string& vdevs, const std::string& extra) {
    std::string command = "(sleep 4; echo) | timeout 60 dpdk-testpmd -l 0,1 --no-huge -m 512 --no-pci "
                          "--file-prefix rgbench-tp" + std::to_string(::getpid()) + " " + vdevs +
                          " -- --forward-mode=io --record-core-cycles --total-num-mbufs=8192 " + extra +
                          " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return 0;
    char line[512];
    double cycles = 0;
    while (std::fgets(line, sizeof line, pipe)) {
        const char* at = std::strstr(line, "CPU cycles/packet=");
        if (at) cycles = std::atof(at + std::strlen("CPU cycles/packet="));
    }
    ::pclose(pipe);
    return cycles;
}

std::string configYaml(uint32_t flows) {
    std::string yaml = R"(
cluster:
  name: bench
  config_version: 1
  nodes:
    - { id: 1, addresses: { external: 198.18.0.1, internal: 198.19.0.1 } }
subnets:
  - { name: external, prefix: 198.18.0.0/24, vips: [ { address: 198.18.0.100 } ] }
  - { name: internal, prefix: 198.19.0.0/24, vips: [ { address: 198.19.0.100 } ] }
pools:
  - name: farm
    backends:
)";
    for (unsigned b = 0; b < kBackends; ++b)
        yaml += "      - { address: 198.19.0." + std::to_string(10 + b) + ", port: 8080 }\n";
    yaml += R"(services:
  - { name: dnat, vip: 198.18.0.100, port: 80, protocol: tcp, pool: farm, nat: dnat }
  - { name: fullnat, vip: 198.18.0.100, port: 81, protocol: tcp, pool: farm, nat: fullnat }
dataplane:
  lcores: [1]
  tables: { connections: )" + std::to_string(flows) + R"(, neighbours: 256 }
  ports:
    - { name: ext, subnet: external, driver: ring }
    - { name: int, subnet: internal, driver: ring }
)";
    return yaml;
}

// MemAvailable from /proc/meminfo, in bytes (0 if unknown).
size_t availableBytes() {
    std::ifstream meminfo("/proc/meminfo");
    std::string name;
    size_t kib = 0;
    std::string unit;
    while (meminfo >> name >> kib >> unit)
        if (name == "MemAvailable:") return kib * 1024;
    return 0;
}

// What a run on `flows` needs: the table (~112 bytes a flow), the bench's flow list (32)
// and the DRAM baseline's buffer (as large as the table, at most 2 GiB).
size_t bytesNeeded(uint32_t flows) {
    size_t table = size_t{flows} * 112;
    return table + size_t{flows} * sizeof(Flow) + std::min<size_t>(table, size_t{1} << 31);
}

// This process's resident memory (/proc/self/statm).
size_t residentBytes() {
    std::ifstream statm("/proc/self/statm");
    size_t total = 0, resident = 0;
    statm >> total >> resident;
    return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

struct Result {
    uint32_t flows = 0;
    uint32_t created[2] = {0, 0};  // dnat, fullnat
    double newCyclesDnat = 0, newCyclesFullnat = 0;
    double dnatNewPerSec = 0, fullnatNewPerSec = 0;
    double cyclesPerPacket = 0, ioCycles = 0, tableCycles = 0, lineCycles = 0, emptyPass = 0;
    double expiryCycles = 0;  // per flow, expiring a full table
    size_t floorBytes = 0;
    size_t tableBytes = 0;
    double tablePerFlow = 0, heapPerFlow = 0, rssPerFlow = 0;
    uint64_t forwarded = 0, neighbourhoodFull = 0;
};

// Phases 1 and 2 and the in-process baselines on a dataplane whose table holds `flows`.
Expected<Result> measure(Rig& rig, const std::vector<uint16_t>& portIds, uint32_t flows, unsigned rounds,
                         unsigned passes) {
    auto loaded = config::loadString(configYaml(flows), "bench.yaml");
    if (!loaded.config) return makeError(loaded.errors[0].toString());
    Result result;
    result.flows = flows;
    // The bench's own list of flows, before the memory baseline (it is not ringgate's) and
    // on huge pages: the packets it makes come from random flows, and reading those from
    // 4 KiB pages would evict the table's TLB entries, which a NIC's buffers do not.
    auto flowMemory = HugeMemory::map(sizeof(Flow) * size_t{flows}, "the bench's flows");
    if (!flowMemory) return flowMemory.error();
    Flow* table = static_cast<Flow*>(flowMemory->data());
    std::uninitialized_default_construct_n(table, flows);

    rte_malloc_socket_stats before{}, after{};
    rte_malloc_get_socket_stats(0, &before);
    size_t residentBefore = residentBytes();
    DataplaneOptions options;
    options.launchWorkers = false;
    options.timeouts.synMs = options.timeouts.establishedMs = 3'600'000;
    auto started = Dataplane::startOnPorts(*loaded.config, 1, portIds, options);
    if (!started) return started.error();
    Dataplane& dp = **started;
    rte_malloc_get_socket_stats(0, &after);
    auto learnBackends = [&](uint32_t at) {
        for (unsigned b = 0; b < kBackends; ++b)
            dp.neighbours().learn(0xC613000A + b, MacAddress{{0x02, 0, 0, 0, 1, static_cast<uint8_t>(b)}}, at);
    };
    learnBackends(1);
    Worker& worker = dp.worker(0);
    uint64_t hz = rte_get_tsc_hz();
    uint32_t now = 2;
    worker.step(now);
    rig.collect();  // start-up ARP requests

    // ---- 1. New connections --------------------------------------------------------
    // Filled twice: the first fill brings the table's memory into the caches and TLB
    // for the first time, then every entry expires; the second fill is measured, on a
    // table in its steady state (entries recycled through RCU grace periods).
    // A quarter fullnat, at most a quarter of the (back end, NAT port) pairs the node's
    // port block offers: fuller than that, 16 consecutive ports may all be taken for the
    // chosen back end and a new flow is refused (no_nat_port).
    uint32_t natPorts = config::kNatPortLast - config::kNatPortFirst + 1;
    uint32_t fullnatFlows = std::min<uint32_t>(flows / 4, kBackends * natPorts / 4);
    std::vector<double> newCycles[2];  // per pass, per connection created
    std::vector<FlowKey> keys(kBurst);
    auto fill = [&](bool measure) {
        for (uint32_t base = 0; base < flows; base += kBurst) {
            unsigned count = std::min<uint32_t>(kBurst, flows - base);
            int kind = base < fullnatFlows ? 1 : 0;
            for (unsigned i = 0; i < count; ++i) {
                uint32_t f = base + i;
                keys[i] = FlowKey{kClientBase + f / 50000, kVip, static_cast<uint16_t>(10000 + f % 50000),
                                  static_cast<uint16_t>(kind ? 81 : 80), kProtoTcp};
            }
            rig.fill(0, keys.data(), count, kTcpSyn);
            uint64_t t0 = rte_rdtsc_precise();
            worker.step(now);
            uint64_t t1 = rte_rdtsc_precise();
            rig.collect();
            if (!measure) continue;
            unsigned made = 0;
            for (unsigned i = 0; i < count; ++i) {
                auto hit = dp.connections().lookup(keys[i]);
                if (!hit.conn) continue;
                table[base + i] = Flow{keys[i], hit.conn->reverse};
                ++made;
            }
            result.created[kind] += made;
            if (made > 0) newCycles[kind].push_back(static_cast<double>(t1 - t0) / made);
        }
    };
    fill(false);
    now += options.timeouts.synMs + 1;
    // Expiry of the whole table (no packets: the idle budget, a thousandth of the slice a
    // pass): what removing a flow costs, scan included.
    uint64_t expiryStart = rte_rdtsc_precise();
    while (dp.connections().size() > 0) worker.step(now);
    result.expiryCycles = static_cast<double>(rte_rdtsc_precise() - expiryStart) / flows;
    learnBackends(now);  // the hour that passed aged the neighbours out too
    fill(true);
    result.rssPerFlow = static_cast<double>(residentBytes() - residentBefore) / flows;
    result.neighbourhoodFull = dp.connections().neighbourhoodFull();
    if (result.created[0] + result.created[1] != flows)
        return makeError("only " + std::to_string(result.created[0] + result.created[1]) + " of " +
                         std::to_string(flows) + " connections were created (" +
                         std::to_string(result.neighbourhoodFull) + " refused for a full neighbourhood)\n" +
                         management::toText(dp.stats()));
    result.newCyclesDnat = median(newCycles[0]);
    result.newCyclesFullnat = median(newCycles[1]);
    result.dnatNewPerSec = static_cast<double>(hz) / result.newCyclesDnat;
    result.fullnatNewPerSec = static_cast<double>(hz) / result.newCyclesFullnat;

    // ---- 2. Established flows, and 3. the io baseline on the same rings --------------
    std::mt19937 random(42);
    std::uniform_int_distribution<uint32_t> pick(0, flows - 1);
    std::vector<FlowKey> forwardKeys(kBurst), reverseKeys(kBurst);
    auto prepare = [&] {
        for (unsigned i = 0; i < kBurst; ++i) {
            forwardKeys[i] = table[pick(random)].forward;
            reverseKeys[i] = table[pick(random)].reverse;
        }
        rig.fill(0, forwardKeys.data(), kBurst, kTcpAck);
        rig.fill(1, reverseKeys.data(), kBurst, kTcpAck);
    };
    // The fixed cost of a pass with nothing to do (RCU, commands, expiry, reclaim).
    uint64_t emptyStart = rte_rdtsc_precise();
    for (unsigned p = 0; p < 10000; ++p) worker.step(now);
    result.emptyPass = static_cast<double>(rte_rdtsc_precise() - emptyStart) / 10000;
    std::vector<double> established, io, tableAlone;
    // Each pass is timed alone and a round reports its median pass: on a shared machine a
    // pass that lost the CPU to another process would otherwise count its whole time slice.
    std::vector<double> passCycles(passes);
    auto medianPass = [&](auto&& body) {
        for (unsigned p = 0; p < passes; ++p) {
            prepare();
            uint64_t t0 = rte_rdtsc_precise();
            body();
            passCycles[p] = static_cast<double>(rte_rdtsc_precise() - t0);
            unsigned packets = rig.collect();
            passCycles[p] /= std::max(packets, 1u);
        }
        return median(passCycles);
    };
    // The connection table alone: what one bulk lookup of a pass's 64 keys (half client,
    // half back-end side, random flows as above) and a read of each entry cost.
    volatile uint64_t entrySink = 0;
    bool missed = false;
    auto tableLookupPass = [&] {
        std::vector<FlowKey> lookupKeys(2 * kBurst);
        const FlowKey* pointers[2 * kBurst];
        ConnectionTable::Hit hits[2 * kBurst];
        uint64_t sink = 0;
        for (unsigned p = 0; p < passes; ++p) {
            for (unsigned i = 0; i < 2 * kBurst; ++i) {
                const Flow& flow = table[pick(random)];
                lookupKeys[i] = i < kBurst ? flow.forward : flow.reverse;
                pointers[i] = &lookupKeys[i];
            }
            uint64_t t0 = rte_rdtsc_precise();
            uint64_t found = dp.connections().lookupBulk(pointers, 2 * kBurst, hits);
            for (unsigned i = 0; i < 2 * kBurst; ++i)
                if (found >> i & 1) sink += hits[i].conn->lastSeenMs.load(std::memory_order_relaxed);
            passCycles[p] = static_cast<double>(rte_rdtsc_precise() - t0) / (2 * kBurst);
            if (found != ~uint64_t{0}) missed = true;
        }
        entrySink = sink;  // keeps the entry reads
        return median(passCycles);
    };
    // The memory beneath it: independent reads of random cache lines of memory like the
    // table's (huge-page backed, as large as the table up to 2 GiB; 64 a pass, like the
    // lookups). A lookup reads a bucket line and an entry line: two such lines a packet.
    result.floorBytes = std::min<size_t>(dp.connections().memoryBytes(), size_t{1} << 31);
    auto floorMemory = HugeMemory::map(result.floorBytes, "the DRAM baseline");
    if (!floorMemory) return floorMemory.error();
    auto* floorBuffer = static_cast<const uint64_t*>(floorMemory->data());
    std::uniform_int_distribution<size_t> pickLine(0, result.floorBytes / 64 - 1);
    auto randomLinePass = [&] {
        size_t lines[2 * kBurst];
        uint64_t sink = 0;
        for (unsigned p = 0; p < passes; ++p) {
            for (auto& line : lines) line = pickLine(random) * 8;
            uint64_t t0 = rte_rdtsc_precise();
            for (size_t line : lines) sink += floorBuffer[line];
            passCycles[p] = static_cast<double>(rte_rdtsc_precise() - t0) / (2 * kBurst);
        }
        entrySink = sink;
        return median(passCycles);
    };
    std::vector<double> lineReads;
    for (unsigned r = 0; r < rounds; ++r) {
        established.push_back(medianPass([&] { worker.step(now); }));
        tableAlone.push_back(tableLookupPass());
        lineReads.push_back(randomLinePass());
        rte_mbuf* burst[kBurst];
        io.push_back(medianPass([&] {
            for (unsigned port = 0; port < 2; ++port) {
                uint16_t n = rte_eth_rx_burst(rig.ports[port], 0, burst, kBurst);
                uint16_t sent = rte_eth_tx_burst(rig.ports[1 - port], 0, burst, n);
                for (uint16_t i = sent; i < n; ++i) rte_pktmbuf_free(burst[i]);
            }
        }));
    }
    if (missed) return makeError("a table lookup of an established flow missed");
    for (auto& s : dp.serviceStats()) result.forwarded += report::find(s.traffic, "packets").value_or(0);
    result.cyclesPerPacket = median(established);
    result.ioCycles = median(io);
    result.tableCycles = median(tableAlone);
    result.lineCycles = median(lineReads);
    result.tableBytes = dp.connections().memoryBytes();
    result.heapPerFlow = static_cast<double>(after.heap_allocsz_bytes - before.heap_allocsz_bytes) / flows;
    result.tablePerFlow = static_cast<double>(result.tableBytes) / flows;
    return result;
}

void print(const Result& r, double mhz, unsigned rounds) {
    std::printf("fast path, %u flows in the table (%u fullnat, %u dnat), 64-byte TCP, TSC %.0f MHz\n", r.flows,
                r.created[1], r.created[0], mhz);
    std::printf("  new connections, dnat      %10.0f /s per core (%.0f cycles each, median pass)\n", r.dnatNewPerSec,
                r.newCyclesDnat);
    std::printf("  new connections, fullnat   %10.0f /s per core (%.0f cycles each, median pass)\n",
                r.fullnatNewPerSec, r.newCyclesFullnat);
    std::printf("  expiry, whole table        %10.0f /s per core (%.0f cycles a flow, scan included)\n",
                mhz * 1e6 / r.expiryCycles, r.expiryCycles);
    std::printf("  established flows          %10.1f cycles/packet  %6.2f Mpps/core (median pass, median of %u rounds)\n",
                r.cyclesPerPacket, mhz / r.cyclesPerPacket, rounds);
    std::printf("  connection table alone     %10.1f cycles/packet  (bulk lookup + entry read; ringgate = %.2fx)\n",
                r.tableCycles, r.cyclesPerPacket / r.tableCycles);
    std::printf("  random DRAM line read      %10.1f cycles/line    (independent reads over %zu MiB; 2 lines = %.0f)\n",
                r.lineCycles, r.floorBytes >> 20, 2 * r.lineCycles);
    std::printf("  empty worker pass          %10.0f cycles\n", r.emptyPass);
    std::printf("  io baseline, same rings    %10.1f cycles/packet  %6.2f Mpps/core\n", r.ioCycles, mhz / r.ioCycles);
    std::printf("  memory per flow            %10.1f bytes (all the table allocates: %zu MiB); resident set grew "
                "%.1f a flow (incl. mbuf pools); DPDK heap %.1f a flow (pools)\n",
                r.tablePerFlow, r.tableBytes >> 20, r.rssPerFlow, r.heapPerFlow);
    std::printf("  full neighbourhoods        %10llu\n", static_cast<unsigned long long>(r.neighbourhoodFull));
    std::printf("  packets forwarded          %10llu\n", static_cast<unsigned long long>(r.forwarded));
}

}  // namespace

int main(int argc, char** argv) {
    auto args = cli::parse(argc, argv,
                           {{"flows", "large-flows", "rounds", "passes"}, {"no-testpmd", "hugepages", "help"}});
    if (!args) {
        std::fprintf(stderr, "fastpath_bench: %s\n", args.error().message.c_str());
        return 2;
    }
    if (args->has("help")) {
        std::fputs(kHelp, stdout);
        return 0;
    }
    uint32_t flows = static_cast<uint32_t>(std::stoul(args->option("flows").value_or("1048576")));
    uint32_t largeFlows = static_cast<uint32_t>(std::stoul(args->option("large-flows").value_or("16777216")));
    unsigned rounds = static_cast<unsigned>(std::stoul(args->option("rounds").value_or("5")));
    unsigned passes = static_cast<unsigned>(std::stoul(args->option("passes").value_or("40000")));
    if (flows < 1024 || (largeFlows != 0 && largeFlows < 1024)) {
        std::fprintf(stderr, "fastpath_bench: --flows and --large-flows must be at least 1024\n");
        return 2;
    }

    // A machine without the memory for the large table cannot run this benchmark as
    // meant: say so and skip (77) rather than be killed half-way.
    size_t needed = bytesNeeded(std::max(flows, largeFlows)) + (size_t{768} << 20);
    size_t available = availableBytes();
    if (available != 0 && available < needed) {
        std::fprintf(stderr,
                     "fastpath_bench: needs ~%zu MiB (a %u-flow table and its baselines), %zu MiB available: "
                     "skipped; --large-flows 0 runs the %u-flow table alone\n",
                     needed >> 20, std::max(flows, largeFlows), available >> 20, flows);
        return 77;
    }

    // The connection table lives outside DPDK memory (huge_memory.h): the EAL needs only
    // the mbuf pools and small tables.
    std::vector<std::string> eal = {"fastpath_bench", "-l", "0", "-m", "512", "--no-pci", "--no-telemetry",
                                    "--file-prefix", "rgbench" + std::to_string(::getpid()), "--log-level",
                                    "lib.eal:error"};
    // Without hugepages (the default, as in the tests) DPDK memory is 4 KiB pages;
    // --hugepages runs the EAL on reserved 2 MB pages instead.
    if (args->has("hugepages")) {
        eal.push_back("--in-memory");
    } else {
        eal.insert(eal.end(), {"--no-huge", "--no-shconf"});
    }
    if (auto ok = initEal(eal); !ok) {
        std::fprintf(stderr, "fastpath_bench: %s\n", ok.error().message.c_str());
        return 1;
    }

    Rig rig;
    rig.pool = rte_pktmbuf_pool_create("bench_pool", 16383, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    std::vector<uint16_t> portIds;
    for (unsigned p = 0; p < 2; ++p) {
        std::string name = "bench" + std::to_string(p);
        rig.rx[p] = rte_ring_create((name + "rx").c_str(), 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        rig.tx[p] = rte_ring_create((name + "tx").c_str(), 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
        int id = rte_eth_from_rings(name.c_str(), &rig.rx[p], 1, &rig.tx[p], 1, 0);
        if (id < 0 || !rig.pool) {
            std::fprintf(stderr, "fastpath_bench: ring ports: %s\n", rte_strerror(rte_errno));
            return 1;
        }
        rig.ports[p] = static_cast<uint16_t>(id);
        portIds.push_back(rig.ports[p]);
    }

    double mhz = static_cast<double>(rte_get_tsc_hz()) / 1e6;
    auto base = measure(rig, portIds, flows, rounds, passes);
    if (!base) {
        std::fprintf(stderr, "fastpath_bench: %u flows: %s\n", flows, base.error().message.c_str());
        return 1;
    }
    print(*base, mhz, rounds);
    Result large;
    if (largeFlows != 0) {
        auto measured = measure(rig, portIds, largeFlows, rounds, passes);
        if (!measured) {
            std::fprintf(stderr, "fastpath_bench: %u flows: %s\n", largeFlows, measured.error().message.c_str());
            return 1;
        }
        large = *measured;
        print(large, mhz, rounds);
        std::printf("  established, large / base  %10.2fx\n", large.cyclesPerPacket / base->cyclesPerPacket);
    }

    double testpmdRing = 0, testpmdNull = 0;
    if (!args->has("no-testpmd")) {
        testpmdRing = testpmdCyclesPerPacket("--vdev net_ring0 --vdev net_ring1", "--tx-first");
        testpmdNull = testpmdCyclesPerPacket("--vdev net_null0 --vdev net_null1", "");
        std::printf("  dpdk-testpmd io, net_ring  %10.1f cycles/packet\n", testpmdRing);
        std::printf("  dpdk-testpmd io, net_null  %10.1f cycles/packet\n", testpmdNull);
    }
    std::printf("  EAL on %s\n", args->has("hugepages") ? "hugepages" : "4 KiB pages (--no-huge); tables on THP");

    const Result& r = *base;
    JsonWriter json;
    json.beginObject()
        .field("flows", static_cast<uint64_t>(flows))
        .field("established_cycles_per_packet", r.cyclesPerPacket)
        .field("established_mpps_per_core", mhz / r.cyclesPerPacket)
        .field("io_baseline_cycles_per_packet", r.ioCycles)
        .field("table_alone_cycles_per_packet", r.tableCycles)
        .field("random_line_read_cycles", r.lineCycles)
        .field("testpmd_io_net_ring_cycles_per_packet", testpmdRing)
        .field("testpmd_io_net_null_cycles_per_packet", testpmdNull)
        .field("new_connections_per_second_dnat", r.dnatNewPerSec)
        .field("new_connections_per_second_fullnat", r.fullnatNewPerSec)
        .field("expiries_per_second", mhz * 1e6 / r.expiryCycles)
        .field("memory_bytes_per_flow", r.tablePerFlow)
        .field("memory_bytes_per_flow_table", r.tablePerFlow)
        .field("memory_bytes_per_flow_heap", r.heapPerFlow)
        .field("rss_bytes_per_flow", r.rssPerFlow)
        .field("large_flows", static_cast<uint64_t>(largeFlows))
        .field("established_cycles_per_packet_16m", large.cyclesPerPacket)
        .field("established_ratio_16m", largeFlows ? large.cyclesPerPacket / r.cyclesPerPacket : 0.0)
        .field("table_alone_cycles_per_packet_16m", large.tableCycles)
        .field("random_line_read_cycles_16m", large.lineCycles)
        .field("new_connections_per_second_dnat_16m", large.dnatNewPerSec)
        .field("new_connections_per_second_fullnat_16m", large.fullnatNewPerSec)
        .field("expiries_per_second_16m", largeFlows ? mhz * 1e6 / large.expiryCycles : 0.0)
        .field("memory_bytes_16m", static_cast<uint64_t>(large.tableBytes))
        .field("rss_bytes_per_flow_16m", large.rssPerFlow)
        .field("neighbourhood_full", r.neighbourhoodFull + large.neighbourhoodFull)
        .field("tsc_mhz", mhz)
        .field("hugepages", args->has("hugepages"))
        .endObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
}
