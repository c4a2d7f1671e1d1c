// udp_probe: a sequenced UDP stream for measuring outages through the cluster.
//
//   udp_probe echo --listen ADDR:PORT
//       answers every probe datagram with the same bytes (run on a back end)
//   udp_probe stream --to ADDR:PORT --rate PPS [--duration-ms N] [--gap-ms G]
//       sends probes at PPS, reads the echoes, and prints one line per outage:
//         gap <ms> lost <n> after_seq <s> at_ms <t>
//       then a JSON summary as its last line. An outage is a run of missing echoes
//       longer than G ms (default 5 x the send interval). Stops at the duration or SIGINT.
//
// A probe is 16 bytes: sequence number (u64) and send time in ns since the stream began
// (u64), so each echo tells how long ago it was sent without any state per probe.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/cli.h"
#include "common/ipv4.h"
#include "common/json_writer.h"

namespace {

constexpr const char* kHelp = R"(usage: udp_probe echo --listen ADDR:PORT
       udp_probe stream --to ADDR:PORT --rate PPS [--duration-ms N] [--gap-ms G]

echo    answer every datagram on ADDR:PORT with the same bytes
stream  send sequenced probes at PPS to ADDR:PORT, print each outage (a run of missing
        echoes longer than G ms, default 5 send intervals) as
          gap <ms> lost <n> after_seq <s> at_ms <t>
        and a JSON summary as the last line

  --log SPEC   log levels (e.g. "debug")
)";

std::atomic<bool> stopping{false};

using Clock = std::chrono::steady_clock;

struct Probe {
    uint64_t seq;
    uint64_t sentNs;
};

sockaddr_in toSockaddr(const ringgate::Ipv4Endpoint& endpoint) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(endpoint.port);
    address.sin_addr.s_addr = htonl(endpoint.address.value);
    return address;
}

int fail(const std::string& message) { return ringgate::cli::usageError("udp_probe", message); }

int runEcho(const ringgate::Ipv4Endpoint& listen) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address = toSockaddr(listen);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        std::fprintf(stderr, "udp_probe: bind %s: %s\n", listen.toString().c_str(), std::strerror(errno));
        return 1;
    }
    std::vector<uint8_t> buffer(2048);
    while (!stopping) {
        sockaddr_in peer{};
        socklen_t peerLength = sizeof peer;
        ssize_t n = ::recvfrom(fd, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&peer), &peerLength);
        if (n < 0) {
            if (errno == EINTR) continue;
            std::fprintf(stderr, "udp_probe: recvfrom: %s\n", std::strerror(errno));
            return 1;
        }
        ::sendto(fd, buffer.data(), static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&peer), peerLength);
    }
    return 0;
}

int runStream(const ringgate::Ipv4Endpoint& to, unsigned long rate, unsigned long durationMs, double gapMs) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in target = toSockaddr(to);
    const auto start = Clock::now();
    const double intervalNs = 1e9 / static_cast<double>(rate);
    uint64_t sent = 0, received = 0, lastSeq = 0, lastSentNs = 0, outages = 0, duplicates = 0;
    bool any = false;
    double worstMs = 0;
    std::vector<double> gaps;

    auto elapsedNs = [&] {
        return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
    };
    while (!stopping) {
        uint64_t now = elapsedNs();
        if (durationMs && now >= durationMs * 1'000'000ull) break;
        // Send every probe that is due (catching up after a stall keeps the rate exact).
        while (static_cast<double>(sent) * intervalNs <= static_cast<double>(now)) {
            Probe probe{sent, now};
            ::sendto(fd, &probe, sizeof probe, 0, reinterpret_cast<sockaddr*>(&target), sizeof target);
            ++sent;
        }
        pollfd pfd{fd, POLLIN, 0};
        ::poll(&pfd, 1, 1);
        Probe echo{};
        while (::recv(fd, &echo, sizeof echo, 0) == static_cast<ssize_t>(sizeof echo)) {
            ++received;
            if (any && echo.seq <= lastSeq) {
                ++duplicates;  // a late or duplicated echo: not a gap
                continue;
            }
            if (any && echo.seq > lastSeq + 1) {
                // Probes went missing; how long is the hole in send time?
                double gap = static_cast<double>(echo.sentNs - lastSentNs) / 1e6;
                if (gap > gapMs) {
                    ++outages;
                    gaps.push_back(gap);
                    worstMs = std::max(worstMs, gap);
                    std::printf("gap %.1f lost %llu after_seq %llu at_ms %.1f\n", gap,
                                static_cast<unsigned long long>(echo.seq - lastSeq - 1),
                                static_cast<unsigned long long>(lastSeq), static_cast<double>(lastSentNs) / 1e6);
                    std::fflush(stdout);
                }
            }
            any = true;
            lastSeq = echo.seq;
            lastSentNs = echo.sentNs;
        }
    }
    ringgate::JsonWriter json;
    json.beginObject()
        .field("sent", sent)
        .field("received", received)
        .field("duplicates", duplicates)
        .field("outages", outages)
        .field("worst_gap_ms", worstMs)
        .key("gaps_ms").beginArray();
    for (double g : gaps) json.value(g);
    json.endArray().endObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace ringgate;
    auto start = cli::startProgram("udp_probe", argc, argv, {{"listen", "to", "rate", "duration-ms", "gap-ms"}, {}},
                                   kHelp, /*positionalAllowed=*/true);
    if (!start.args) return start.exitStatus;
    auto& args = start.args;
    if (args->positional.size() != 1) return fail("expected 'echo' or 'stream' (see --help)");
    struct sigaction action{};
    action.sa_handler = [](int) { stopping = true; };
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);

    const std::string& mode = args->positional[0];
    if (mode == "echo") {
        auto listen = args->option("listen");
        if (!listen) return fail("echo needs --listen ADDR:PORT");
        auto endpoint = Ipv4Endpoint::parse(*listen);
        if (!endpoint) return fail("--listen: '" + *listen + "' is not ADDR:PORT");
        return runEcho(*endpoint);
    }
    if (mode == "stream") {
        auto to = args->option("to");
        auto rateText = args->option("rate");
        if (!to || !rateText) return fail("stream needs --to ADDR:PORT and --rate PPS");
        auto endpoint = Ipv4Endpoint::parse(*to);
        if (!endpoint) return fail("--to: '" + *to + "' is not ADDR:PORT");
        auto rate = cli::parseNumber("rate", *rateText, 1, 1'000'000);
        if (!rate) return fail(rate.error().message);
        unsigned long duration = 0;
        if (auto text = args->option("duration-ms")) {
            auto parsed = cli::parseNumber("duration-ms", *text, 1, 86'400'000);
            if (!parsed) return fail(parsed.error().message);
            duration = *parsed;
        }
        double gapMs = 5000.0 / static_cast<double>(*rate);
        if (auto text = args->option("gap-ms")) {
            auto parsed = cli::parseNumber("gap-ms", *text, 1, 60'000);
            if (!parsed) return fail(parsed.error().message);
            gapMs = static_cast<double>(*parsed);
        }
        return runStream(*endpoint, *rate, duration, gapMs);
    }
    return fail("unknown mode '" + mode + "' (expected echo or stream)");
}
