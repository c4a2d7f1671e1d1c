// The commands a gateway answers, declared once: ringgated registers a handler for each,
// `help` lists them, ringgatectl builds its --help and subcommands from them, and remote
// management (HTTPS) lets read-only users run only those that change nothing.
#pragma once

#include <string>
#include <string_view>

namespace ringgate::management {

enum class Access { Read, Change };

struct CommandSpec {
    const char* name;
    const char* args;     // synopsis of the arguments, "" for none
    const char* summary;  // one line
    Access access;
};

inline constexpr CommandSpec kGatewayCommands[] = {
    {"status", "", "node identity, uptime, configuration version, CPU, local monitors", Access::Read},
    {"members", "", "ring order, member states, token holder, counters", Access::Read},
    {"vips", "", "VIP table: current/preferred host, persistence, bytes/s; each node's load", Access::Read},
    {"vip", "move VIP NODE | prefer VIP NODE | unprefer VIP | persistence VIP 0|1|3 | close VIP | open VIP",
     "change a VIP (applies at the next token visit)", Access::Change},
    {"drain", "NODE", "the node gives away its VIPs and takes none", Access::Change},
    {"undrain", "NODE", "the node may hold VIPs again", Access::Change},
    {"stats", "", "fast-path counters per port, VIP, service and back end", Access::Read},
    {"http-stats", "", "the HTTP path (mode http): requests, bytes, resumes by outcome, transfers ended short",
     Access::Read},
    {"connections", "[VIP] [MAX]", "the fast path's connections (of VIP; at most MAX, default 100)", Access::Read},
    {"flows", "", "flow records across the cluster: sent, received, held, adopted (docs/FLOWS.md)", Access::Read},
    {"metrics", "", "every counter and gauge in the Prometheus text format (as GET /metrics)", Access::Read},
    {"pool", "", "back-end pools: live back ends from ringgate-registry, or the configured ones", Access::Read},
    {"garp", "VIP", "announce an owned VIP by gratuitous ARP from the fast path", Access::Change},
    {"live-backends", "POOL [ADDR:PORT...]", "set the back ends new flows of POOL may use", Access::Change},
    {"config", "push FILE",
     "validate FILE, apply it on this node and share it with every node on the token (as SIGHUP after "
     "editing the file); every node rewrites its own file",
     Access::Change},
    {"log-level", "SPEC", "set log levels, e.g. 'debug' or 'cluster=debug,vip=info'", Access::Change},
};

// The declaration of `name`, or nullptr.
const CommandSpec* findCommand(std::string_view name);

// "name ARGS" padded, then the summary: one line of `help`.
std::string usageLine(const CommandSpec& spec);

}  // namespace ringgate::management
