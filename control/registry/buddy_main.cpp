// ringgate-buddy: the agent on each back end (seed 000): joins the ring, watches its two
// buddies, reports dead ones, and leaves cleanly on SIGTERM.
#include <cstdio>
#include <string>

#include "common/cli.h"
#include "common/cli_app.h"
#include "common/log.h"
#include "common/service_notify.h"
#include "config/loader.h"
#include "control/registry/buddy_agent.h"

namespace {

constexpr const char* kDescription = R"(Runs on a back end: announces ADDR to ringgate-registry (ServerAnnounce), tells its two
new buddies to replace each other with it (ServerReplace, on their listener port),
probes both buddies, and after N silent probes reports the dead one to the registry,
which checks the report before removing it; then it repairs the ring with the dead
server's other buddy. On SIGTERM it removes itself and makes its buddies each other's
(a normal shutdown). Started again, it announces again.)";

constexpr const char* kFooter = R"(
Listener requests (one signed line each): "REPLACE <version> <toReplace> <replacement>",
"STATUS" -> "OK <self> <buddyA> <buddyB> <version> <refused>". Anything else is refused
with "ERR reason" and counted.
Exit status: 0 success, 1 runtime failure, 2 bad command line or configuration.)";

int usageError(const std::string& message) { return ringgate::cli::usageError("ringgate-buddy", message); }

}  // namespace

int main(int argc, char** argv) {
    using namespace ringgate;
    using namespace ringgate::registry;
    CLI::App app{kDescription, "ringgate-buddy"};
    app.footer(kFooter);
    std::string selfText, checkPath;
    std::optional<std::string> configPath, keyFileOption, check;
    std::vector<std::string> registryTexts;
    std::optional<unsigned long> port, checkPort, intervalMs, failures;
    unsigned long reconcileMs = 10000;
    bool noAuth = false;
    app.add_option("--self", selfText, "this back end's address (its identity in the server table)")
        ->required()->check(cli::kIpv4Address);
    app.add_option("--registry", registryTexts, "registry service endpoint(s), comma separated")
        ->delimiter(',')->check(cli::kIpv4Endpoint);
    app.add_option("--config", configPath, "take registry endpoints, buddy_port, buddy_check and key_file from FILE")
        ->check(CLI::ExistingFile);
    app.add_option("--port", port, "listener port for ServerReplace (default 7301 or buddy_port)")
        ->check(CLI::Range(1ul, 65535ul));
    app.add_option("--check", check, "how buddies are probed: icmp (default: needs root or "
                                     "net.ipv4.ping_group_range), tcp or http")
        ->check(CLI::IsMember({"icmp", "tcp", "http"}));
    app.add_option("--check-port", checkPort, "port for tcp/http checks")->check(CLI::Range(1ul, 65535ul));
    app.add_option("--check-path", checkPath, "path for http checks (default /)");
    app.add_option("--interval-ms", intervalMs, "probe interval (default 500)")->check(CLI::Range(10ul, 600000ul));
    app.add_option("--failures", failures, "silent probes in a row that mean dead (default 3)")
        ->check(CLI::Range(1ul, 1000ul));
    app.add_option("--reconcile-ms", reconcileMs, "re-read the own table entry this often; 0 = never")
        ->check(CLI::Range(0ul, 3600000ul))->capture_default_str();
    app.add_option("--key-file", keyFileOption, "the pool's HMAC key: signs registry calls and ServerReplace "
                                                "messages, and the listener accepts only signed requests; "
                                                "required unless --no-auth (or registry.key_file in FILE)");
    app.add_flag("--no-auth", noAuth, "unsigned traffic (trials only)");
    if (auto exitStatus = cli::parseApp(app, argc, argv)) return *exitStatus;

    BuddyAgentOptions options;
    options.core.self = *Ipv4Address::parse(selfText);
    log::setIdentity("buddy " + selfText);

    std::optional<std::string> keyFile;
    if (configPath) {
        auto loaded = config::loadFile(*configPath);
        if (!loaded.config) {
            std::fputs(loaded.report("ringgate-buddy").c_str(), stderr);
            return 2;
        }
        if (!loaded.config->registry) return usageError(*configPath + " has no registry section");
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
        if (!r.keyFile.empty()) keyFile = r.keyFile;
    }
    if (keyFileOption) keyFile = keyFileOption;
    auto key = keyFromOptions(keyFile, noAuth);
    if (!key) return usageError(key.error().message);
    options.registry.key = *key;
    if (!registryTexts.empty()) {
        options.registry.endpoints.clear();
        for (const auto& text : registryTexts) options.registry.endpoints.push_back(*Ipv4Endpoint::parse(text));
    }
    if (options.registry.endpoints.empty()) return usageError("--registry ADDR:PORT (or --config FILE) is required");
    if (port) options.listenerPort = static_cast<uint16_t>(*port);
    if (checkPort) options.probe.port = static_cast<uint16_t>(*checkPort);
    if (intervalMs) options.interval = std::chrono::milliseconds(*intervalMs);
    if (failures) options.core.failures = static_cast<uint32_t>(*failures);
    options.core.reconcile = std::chrono::milliseconds(reconcileMs);
    if (check) {
        options.probe.kind = *check == "tcp" ? ProbeKind::Tcp : *check == "http" ? ProbeKind::Http : ProbeKind::Icmp;
    }
    if (!checkPath.empty()) options.probe.path = checkPath;
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
        service::stopping("leaving the ring");
        agent.stop([&] { io.stop(); });
    });
    // Ready once the loop turns: the listener answers and the announcement is under way.
    boost::asio::post(io, [&] { service::ready("back end " + selfText); });
    io.run();
    return 0;
}
