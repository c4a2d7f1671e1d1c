// afxdp_bench_xdp: the generator and the sink of tests/bench/afxdp_forwarding_bench.py,
// both XDP programs (afxdp_bench_gen.bpf.c, afxdp_bench_sink.bpf.c) driven from here.
//
//   afxdp_bench_xdp generate --interface IF --src-mac MAC --dst-mac MAC
//                            --src ADDR:PORT --dst ADDR:PORT [--flows N] [--size BYTES]
//       sends UDP frames out of IF as fast as the kernel takes them (BPF_PROG_RUN in
//       live-frames mode, XDP_TX into the veth peer), the source port cycling through N
//       ports from PORT (N flows). Every line read on stdin is answered with
//       {"frames_sent": N}; end of input stops it.
//   afxdp_bench_xdp sink --interface IF --sink-mac MAC --dut-mac MAC
//                        --vip ADDR:PORT --backend ADDR:PORT --client ADDR --nat-source ADDR
//       attaches the sink to IF (native XDP): IPv4 is counted and dropped, the rest goes
//       to the kernel. Prints {"attached": true}, then answers every line on stdin with
//       the counters; end of input detaches it.
//
// The orchestrator reads counters at the edges of a measurement window through these
// pipes, so nothing here needs a clock or a signal handler.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "afxdp_bench_gen.skel.h"
#include "afxdp_bench_sink.skel.h"
#include "common/cli.h"
#include "common/ipv4.h"
#include "common/json_writer.h"

namespace {

constexpr const char* kProgram = "afxdp_bench_xdp";

constexpr const char* kHelp = R"(usage: afxdp_bench_xdp generate --interface IF --src-mac MAC --dst-mac MAC
                              --src ADDR:PORT --dst ADDR:PORT [--flows N] [--size BYTES]
       afxdp_bench_xdp sink --interface IF --sink-mac MAC --dut-mac MAC
                            --vip ADDR:PORT --backend ADDR:PORT --client ADDR --nat-source ADDR

generate  UDP frames out of IF at the kernel's pace (BPF_PROG_RUN, live frames), source
          port cycling over N ports (default 4096) from PORT, BYTES long (default 64);
          each line on stdin is answered with {"frames_sent": N}; EOF stops
sink      native XDP on IF: IPv4 counted (total, wrong MACs, to the VIP, to the back end,
          to anything else, from the client, from the NAT source, from anyone else)
          and dropped, everything else passed to the kernel; each line on stdin is
          answered with the counters; EOF detaches and exits

Used by tests/bench/afxdp_forwarding_bench.py (needs root).
  --log SPEC   log levels (e.g. "debug")
)";

using Mac = std::array<uint8_t, 6>;

std::optional<Mac> parseMac(const std::string& text) {
    Mac mac{};
    unsigned parts[6];
    char tail;
    if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &parts[0], &parts[1], &parts[2], &parts[3],
                    &parts[4], &parts[5], &tail) != 6)
        return std::nullopt;
    for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(parts[i]);
    return mac;
}

int fail(const std::string& message) { return ringgate::cli::usageError(kProgram, message); }

int runtimeError(const std::string& message) {
    std::fprintf(stderr, "%s: %s\n", kProgram, message.c_str());
    return 1;
}

std::string errnoText(int error) { return std::strerror(error < 0 ? -error : error); }

uint16_t ipv4HeaderChecksum(const uint8_t* header) {
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += static_cast<uint32_t>(header[i] << 8 | header[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

// Ethernet + IPv4 (no options, DF) + UDP with checksum 0, zero payload, `size` bytes.
std::vector<uint8_t> udpFrame(const Mac& src, const Mac& dst, const ringgate::Ipv4Endpoint& from,
                              const ringgate::Ipv4Endpoint& to, size_t size) {
    std::vector<uint8_t> frame(size, 0);
    std::memcpy(&frame[0], dst.data(), 6);
    std::memcpy(&frame[6], src.data(), 6);
    frame[12] = 0x08;
    frame[13] = 0x00;
    uint8_t* ip = &frame[14];
    auto put16 = [](uint8_t* p, uint16_t v) {
        p[0] = static_cast<uint8_t>(v >> 8);
        p[1] = static_cast<uint8_t>(v);
    };
    auto put32 = [&](uint8_t* p, uint32_t v) {
        put16(p, static_cast<uint16_t>(v >> 16));
        put16(p + 2, static_cast<uint16_t>(v));
    };
    ip[0] = 0x45;
    put16(ip + 2, static_cast<uint16_t>(size - 14));
    put16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = 17;
    put32(ip + 12, from.address.value);
    put32(ip + 16, to.address.value);
    put16(ip + 10, ipv4HeaderChecksum(ip));
    uint8_t* udp = ip + 20;
    put16(udp, from.port);
    put16(udp + 2, to.port);
    put16(udp + 4, static_cast<uint16_t>(size - 34));
    return frame;
}

// Answers each line on stdin with `report()` until end of input.
template <typename Report>
void answerLines(Report report) {
    std::string line;
    while (std::getline(std::cin, line)) {
        std::printf("%s\n", report().c_str());
        std::fflush(stdout);
    }
}

int runGenerate(unsigned ifindex, const std::vector<uint8_t>& frame, uint32_t flows, uint16_t srcPortFirst) {
    afxdp_bench_gen* skel = afxdp_bench_gen__open();
    if (!skel) return runtimeError("open generator program: " + errnoText(errno));
    skel->rodata->flows = flows;
    skel->rodata->src_port_first = srcPortFirst;
    if (int rc = afxdp_bench_gen__load(skel); rc != 0) {
        afxdp_bench_gen__destroy(skel);
        return runtimeError("load generator program: " + errnoText(rc));
    }
    int progFd = bpf_program__fd(skel->progs.bench_generate);

    std::atomic<bool> stop{false};
    std::string failure;
    std::thread sender([&] {
        // XDP_TX in live-frames mode leaves through the run's ingress interface. Each run
        // ends in a synchronize_rcu (milliseconds on a loaded machine) that would idle
        // the generator half of the time with short runs: 1 M frames per run (~0.3 s)
        // keep it under a few percent, and bound how long stopping takes.
        xdp_md ctx{};
        ctx.data_end = static_cast<uint32_t>(frame.size());
        ctx.ingress_ifindex = ifindex;
        while (!stop.load(std::memory_order_relaxed)) {
            LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                        .data_size_in = static_cast<uint32_t>(frame.size()), .ctx_in = &ctx,
                        .ctx_size_in = sizeof ctx, .repeat = 1u << 20, .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
            if (int rc = bpf_prog_test_run_opts(progFd, &opts); rc != 0 && errno != EINTR) {
                failure = "BPF_PROG_RUN (live frames): " + errnoText(errno);
                break;
            }
        }
    });
    answerLines([&] {
        ringgate::JsonWriter json;
        uint64_t sent = __atomic_load_n(&skel->bss->frames_sent, __ATOMIC_RELAXED);
        json.beginObject().field("frames_sent", sent);
        if (!failure.empty()) json.field("error", failure);
        return json.endObject().str();
    });
    stop = true;
    sender.join();
    afxdp_bench_gen__destroy(skel);
    return failure.empty() ? 0 : runtimeError(failure);
}

int runSink(unsigned ifindex, const Mac& sinkMac, const Mac& dutMac, const ringgate::Ipv4Endpoint& vip,
            const ringgate::Ipv4Endpoint& backend, ringgate::Ipv4Address client, ringgate::Ipv4Address natSource) {
    afxdp_bench_sink* skel = afxdp_bench_sink__open();
    if (!skel) return runtimeError("open sink program: " + errnoText(errno));
    // The skeleton types .rodata as const volatile: written once, before loading.
    auto* rodata = const_cast<std::remove_cv_t<std::remove_pointer_t<decltype(skel->rodata)>>*>(skel->rodata);
    std::memcpy(const_cast<uint8_t*>(rodata->sink_mac), sinkMac.data(), 6);
    std::memcpy(const_cast<uint8_t*>(rodata->dut_mac), dutMac.data(), 6);
    rodata->vip_address = htonl(vip.address.value);
    rodata->vip_port = htons(vip.port);
    rodata->backend_address = htonl(backend.address.value);
    rodata->backend_port = htons(backend.port);
    rodata->client_address = htonl(client.value);
    rodata->nat_address = htonl(natSource.value);
    if (int rc = afxdp_bench_sink__load(skel); rc != 0) {
        afxdp_bench_sink__destroy(skel);
        return runtimeError("load sink program: " + errnoText(rc));
    }
    int progFd = bpf_program__fd(skel->progs.bench_sink);
    if (int rc = bpf_xdp_attach(static_cast<int>(ifindex), progFd, XDP_FLAGS_DRV_MODE, nullptr); rc != 0) {
        afxdp_bench_sink__destroy(skel);
        return runtimeError("attach sink program (native XDP): " + errnoText(rc));
    }
    std::printf("{\"attached\": true}\n");
    std::fflush(stdout);
    answerLines([&] {
        auto read = [](const uint64_t& counter) { return __atomic_load_n(&counter, __ATOMIC_RELAXED); };
        ringgate::JsonWriter json;
        json.beginObject()
            .field("ipv4_frames", read(skel->bss->ipv4_frames))
            .field("wrong_macs", read(skel->bss->wrong_macs))
            .field("to_vip", read(skel->bss->to_vip))
            .field("to_backend", read(skel->bss->to_backend))
            .field("to_other", read(skel->bss->to_other))
            .field("from_client", read(skel->bss->from_client))
            .field("from_nat", read(skel->bss->from_nat))
            .field("from_other", read(skel->bss->from_other))
            .endObject();
        return json.str();
    });
    bpf_xdp_detach(static_cast<int>(ifindex), XDP_FLAGS_DRV_MODE, nullptr);
    afxdp_bench_sink__destroy(skel);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace ringgate;
    auto start = cli::startProgram(kProgram, argc, argv,
                                   {{"interface", "src-mac", "dst-mac", "src", "dst", "flows", "size", "sink-mac",
                                     "dut-mac", "vip", "backend", "client", "nat-source"},
                                    {}},
                                   kHelp, /*positionalAllowed=*/true);
    if (!start.args) return start.exitStatus;
    auto& args = start.args;
    if (args->positional.size() != 1) return fail("expected 'generate' or 'sink' (see --help)");
    const std::string& mode = args->positional[0];

    auto interface = args->option("interface");
    if (!interface) return fail(mode + " needs --interface IF");
    unsigned ifindex = if_nametoindex(interface->c_str());
    if (ifindex == 0) return runtimeError("interface " + *interface + ": " + errnoText(errno));
    auto mac = [&](const char* name) -> std::optional<Mac> {
        auto text = args->option(name);
        return text ? parseMac(*text) : std::nullopt;
    };
    auto endpoint = [&](const char* name) -> std::optional<Ipv4Endpoint> {
        auto text = args->option(name);
        return text ? Ipv4Endpoint::parse(*text) : std::nullopt;
    };

    if (mode == "generate") {
        auto srcMac = mac("src-mac"), dstMac = mac("dst-mac");
        auto src = endpoint("src"), dst = endpoint("dst");
        if (!srcMac || !dstMac) return fail("generate needs --src-mac and --dst-mac as xx:xx:xx:xx:xx:xx");
        if (!src || !dst) return fail("generate needs --src and --dst as ADDR:PORT");
        unsigned long flows = 4096, size = 64;
        if (auto text = args->option("flows")) {
            auto parsed = cli::parseNumber("flows", *text, 1, 65536 - src->port);
            if (!parsed) return fail(parsed.error().message);
            flows = *parsed;
        }
        if (auto text = args->option("size")) {
            auto parsed = cli::parseNumber("size", *text, 60, 1514);
            if (!parsed) return fail(parsed.error().message);
            size = *parsed;
        }
        return runGenerate(ifindex, udpFrame(*srcMac, *dstMac, *src, *dst, size), static_cast<uint32_t>(flows),
                           src->port);
    }
    if (mode == "sink") {
        auto sinkMac = mac("sink-mac"), dutMac = mac("dut-mac");
        auto vip = endpoint("vip"), backend = endpoint("backend");
        if (!sinkMac || !dutMac) return fail("sink needs --sink-mac and --dut-mac as xx:xx:xx:xx:xx:xx");
        if (!vip || !backend) return fail("sink needs --vip and --backend as ADDR:PORT");
        auto address = [&](const char* name) -> std::optional<Ipv4Address> {
            auto text = args->option(name);
            return text ? Ipv4Address::parse(*text) : std::nullopt;
        };
        auto client = address("client"), natSource = address("nat-source");
        if (!client || !natSource) return fail("sink needs --client and --nat-source as ADDR");
        return runSink(ifindex, *sinkMac, *dutMac, *vip, *backend, *client, *natSource);
    }
    return fail("unknown mode '" + mode + "' (expected generate or sink)");
}
