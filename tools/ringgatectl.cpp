// ringgatectl: the operator's view of a running node, through its management socket.
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/cli.h"
#include "config/loader.h"
#include "control/management/command_table.h"

namespace {

constexpr const char* kHelp = R"(usage: ringgatectl --config FILE --node ID COMMAND [ARGS...] [--json]
       ringgatectl --socket PATH COMMAND [ARGS...] [--json]
       ringgatectl genkey

Asks a running ringgated node. The socket path comes from FILE's management.socket.

Commands (run "help" against a node for the list it supports):
  status              node identity, uptime and configuration version
  members             ring order, member states, token holder, counters
  vips                VIP table: current host, preferred host, persistence, bytes/s
  stats               fast-path counters per port, VIP, service and back end
  http-stats          the HTTP path (mode http): requests, bytes, resumes by outcome,
                      transfers ended short, back ends held after a failed transfer
  garp VIP            announce an owned VIP by gratuitous ARP from the fast path
  live-backends POOL [ADDR:PORT...]
                      set the back ends new flows of POOL may use (fast path)
  pool                back-end ring, live list, registry roles
  log-level SPEC      change log levels at run time
  help                commands this node answers

Local command (no node asked):
  genkey              print a new random cluster.shared_key (256 bits, hex) for the
                      configuration of every node

  --json              machine-readable output (one JSON document)
  --timeout-ms N      give up after N ms (default 5000)
  --log SPEC          log levels of this client (e.g. "debug")

Exit status: 0 ok, 1 the node refused the command or cannot be reached, 2 usage error.
)";

int usageError(const std::string& message) { return ringgate::cli::usageError("ringgatectl", message); }

// 32 bytes from the kernel's CSPRNG, as 64 hex digits: a cluster.shared_key.
int generateKey() {
    unsigned char bytes[32];
    if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
        std::fprintf(stderr, "ringgatectl: getrandom: %s\n", std::strerror(errno));
        return 1;
    }
    for (unsigned char b : bytes) std::printf("%02x", b);
    std::printf("\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace ringgate;
    auto start = cli::startProgram("ringgatectl", argc, argv, {{"config", "node", "socket", "timeout-ms"}, {"json"}},
                                   kHelp, /*positionalAllowed=*/true);
    if (!start.args) return start.exitStatus;
    auto& args = start.args;
    if (args->positional.empty()) return usageError("a COMMAND is required (see --help)");
    if (args->positional[0] == "genkey") {
        if (args->positional.size() != 1) return usageError("genkey takes no arguments");
        return generateKey();
    }

    std::string socketPath;
    if (auto socket = args->option("socket")) {
        socketPath = *socket;
    } else {
        auto configPath = args->option("config");
        auto nodeText = args->option("node");
        if (!configPath || !nodeText)
            return usageError("--config FILE and --node ID (or --socket PATH) are required");
        auto node = cli::parseNumber("node", *nodeText, 1, 65535);
        if (!node) return usageError(node.error().message);
        auto loaded = config::loadFile(*configPath);
        if (!loaded.config) {
            std::fputs(loaded.report("ringgatectl").c_str(), stderr);
            return 2;
        }
        if (!loaded.config->cluster.findNode(static_cast<config::NodeId>(*node)))
            return usageError("node " + *nodeText + " is not in the node map of " + *configPath);
        socketPath = loaded.config->management.socketPathFor(static_cast<config::NodeId>(*node));
    }
    unsigned long timeoutMs = 5000;
    if (auto text = args->option("timeout-ms")) {
        auto parsed = cli::parseNumber("timeout-ms", *text, 1, 600000);
        if (!parsed) return usageError(parsed.error().message);
        timeoutMs = *parsed;
    }

    management::Request request;
    request.format = args->has("json") ? management::Format::Json : management::Format::Text;
    request.command = args->positional[0];
    request.args.assign(args->positional.begin() + 1, args->positional.end());

    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socketPath.size() >= sizeof address.sun_path) return usageError("socket path too long");
    std::memcpy(address.sun_path, socketPath.c_str(), socketPath.size() + 1);
    timeval timeout{static_cast<time_t>(timeoutMs / 1000), static_cast<suseconds_t>(timeoutMs % 1000 * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        std::fprintf(stderr, "ringgatectl: cannot reach %s: %s (is ringgated running?)\n",
                     socketPath.c_str(), std::strerror(errno));
        return 1;
    }
    std::string line = management::formatRequest(request);
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
        std::fprintf(stderr, "ringgatectl: send to %s failed: %s\n", socketPath.c_str(), std::strerror(errno));
        return 1;
    }
    std::string reply;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n == 0) break;
        if (n < 0) {
            std::fprintf(stderr, "ringgatectl: no complete answer from %s: %s\n", socketPath.c_str(),
                         std::strerror(errno));
            return 1;
        }
        reply.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    size_t newline = reply.find('\n');
    if (newline == std::string::npos) {
        std::fprintf(stderr, "ringgatectl: malformed answer from %s\n", socketPath.c_str());
        return 1;
    }
    bool ok = reply.compare(0, newline, "ok") == 0;
    std::fputs(reply.c_str() + newline + 1, ok ? stdout : stderr);
    return ok ? 0 : 1;
}
