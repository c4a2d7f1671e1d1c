// ringgate-buddy: the agent on each back end (seed 000): joins the ring, watches its two
// buddies, reports dead ones, and leaves cleanly on SIGTERM.
#include <cstdio>
#include <string>

#include "common/cli.h"
#include "common/log.h"
#include "config/loader.h"
#include "control/registry/buddy_agent.h"

namespace {

constexpr const char* kHelp = R"(usage: ringgate-buddy --self ADDR (--registry ADDR:PORT[,ADDR:PORT...] | --config FILE) [OPTIONS]

Runs on a back end: announces ADDR to ringgate-registry (ServerAnnounce), tells its two
new buddies to replace each other with it (ServerReplace, on their listener port),
probes both buddies, and after N silent probes deletes the dead one (ServerDelete) and
repairs the ring with the dead server's other buddy. On SIGTERM it removes itself and
makes its buddies each other's (a normal shutdown). Started again, it announces again.

  --self ADDR              this back end's address (its identity in the server table)
  --registry LIST          registry service endpoint(s), comma separated
  --config FILE            take registry endpoints, buddy_port and buddy_check from FILE
  --port N                 listener port for ServerReplace (default 7301 or buddy_port)
  --check icmp|tcp|http    how buddies are probed (default icmp: needs root or
                           net.ipv4.ping_group_range)
  --check-port N           port for tcp/http checks
  --check-path PATH        path for http checks (default /)
  --interval-ms N          probe interval (default 500)
  --failures N             silent probes in a row that mean dead (default 3)
  --reconcile-ms N         re-read the own table entry this often; 0 = never (default 10000)
  --key-file PATH          the pool's HMAC key: signs registry calls and ServerReplace
                           messages, and the listener accepts only signed requests;
                           required unless --no-auth (or registry.key_file in FILE)
  --no-auth                unsigned traffic (trials only)
  --log SPEC               log levels, e.g. "buddy=debug"
  --help                   this text

Listener requests (one line each): "REPLACE <version> <toReplace> <replacement>",
"STATUS" -> "OK <self> <buddyA> <buddyB> <version> <refused>". Anything else is refused
with "ERR reason" and counted.
Exit status: 0 success, 1 runtime failure, 2 bad command line or configuration.
)";

int usageError(const std::string& message) { return ringgate::cli::usageError("ringgate-buddy", message); }

}  // namespace

int main(int argc, char** argv) {
    using namespace ringgate;
    using namespace ringgate::registry;
    auto start = cli::startProgram("ringgate-buddy", argc, argv,
                                   {{"self", "registry", "config", "port", "check", "check-port", "check-path",
                                     "interval-ms", "failures", "reconcile-ms", "key-file"},
                                    {"no-auth"}},
                                   kHelp);
    if (!start.args) return start.exitStatus;
    auto& args = start.args;

    BuddyAgentOptions options;
    auto selfText = args->option("self");
    if (!selfText) return usageError("--self ADDR is required");
    auto self = Ipv4Address::parse(*selfText);
    if (!self) return usageError("--self: '" + *selfText + "' is not an IPv4 address");
    options.core.self = *self;
    log::setIdentity("buddy " + *selfText);

    if (auto path = args->option("config")) {
        auto loaded = config::loadFile(*path);
        if (!loaded.config) {
            std::fputs(loaded.report("ringgate-buddy").c_str(), stderr);
            return 2;
        }
        if (!loaded.config->registry) return usageError(*path + " has no registry section");
        const auto& r = *loaded.config->registry;
        options.registry.endpoints = r.endpoints;
        options.listenerPort = r.buddyPort;
        options.probe.kind = r.buddyCheck.kind == config::HealthCheckKind::Tcp    ? ProbeKind::Tcp
                             : r.buddyCheck.kind == config::HealthCheckKind::Http ? ProbeKind::Http
                                                                                  : ProbeKind::Icmp;
        options.probe.port = r.buddyCheck.port;
        if (!r.buddyCheck.path.empty()) options.probe.path = r.buddyCheck.path;
        options.interval = std::chrono::milliseconds(r.buddyCheck.intervalMs);
        options.core.failures = r.buddyCheck.failures;
    }
    std::optional<std::string> keyFile;
    if (auto path = args->option("config")) {
        auto loaded = config::loadFile(*path);  // (already checked above)
        if (loaded.config && loaded.config->registry && !loaded.config->registry->keyFile.empty())
            keyFile = loaded.config->registry->keyFile;
    }
    if (auto path = args->option("key-file")) keyFile = *path;
    auto key = keyFromOptions(keyFile, args->has("no-auth"));
    if (!key) return usageError(key.error().message);
    options.registry.key = *key;
    if (auto list = args->option("registry")) {
        options.registry.endpoints.clear();
        size_t start = 0;
        while (start <= list->size()) {
            size_t comma = list->find(',', start);
            std::string item = list->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            auto endpoint = Ipv4Endpoint::parse(item);
            if (!endpoint) return usageError("--registry: '" + item + "' is not ADDR:PORT");
            options.registry.endpoints.push_back(*endpoint);
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    if (options.registry.endpoints.empty()) return usageError("--registry ADDR:PORT (or --config FILE) is required");
    struct NumberOption {
        const char* name;
        unsigned long min, max;
    };
    for (auto [name, min, max] : {NumberOption{"port", 1, 65535}, NumberOption{"check-port", 1, 65535},
                                  NumberOption{"interval-ms", 10, 600000}, NumberOption{"failures", 1, 1000},
                                  NumberOption{"reconcile-ms", 0, 3600000}}) {
        auto text = args->option(name);
        if (!text) continue;
        auto value = cli::parseNumber(name, *text, min, max);
        if (!value) return usageError(value.error().message);
        std::string n = name;
        if (n == "port") options.listenerPort = static_cast<uint16_t>(*value);
        if (n == "check-port") options.probe.port = static_cast<uint16_t>(*value);
        if (n == "interval-ms") options.interval = std::chrono::milliseconds(*value);
        if (n == "failures") options.core.failures = static_cast<uint32_t>(*value);
        if (n == "reconcile-ms") options.core.reconcile = std::chrono::milliseconds(*value);
    }
    if (auto kind = args->option("check")) {
        if (*kind == "icmp") options.probe.kind = ProbeKind::Icmp;
        else if (*kind == "tcp") options.probe.kind = ProbeKind::Tcp;
        else if (*kind == "http") options.probe.kind = ProbeKind::Http;
        else return usageError("--check must be icmp, tcp or http");
    }
    if (auto path = args->option("check-path")) options.probe.path = *path;
    if (options.probe.kind != ProbeKind::Icmp && options.probe.port == 0)
        return usageError("--check tcp/http needs --check-port N");

    boost::asio::io_context io;
    BuddyAgent agent(io, options);
    if (auto started = agent.start(); !started) {
        RG_ERROR(Buddy, "%s", started.error().message.c_str());
        return 1;
    }
    boost::asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](boost::system::error_code, int) {
        agent.stop([&] { io.stop(); });
    });
    io.run();
    return 0;
}
