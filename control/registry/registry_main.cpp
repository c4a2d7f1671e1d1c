// ringgate-registry: the server table of a back-end pool (seeds 000-002) served on the
// network, as primary or monitor of a shared service address (seed 003).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/cli.h"
#include "common/cli_app.h"
#include "common/log.h"
#include "common/service_notify.h"
#include "config/loader.h"
#include "control/management/command_table.h"
#include "control/management/management_server.h"
#include "control/registry/death_confirmer.h"
#include "control/registry/pool_view.h"
#include "control/registry/prober.h"
#include "control/registry/registry_server.h"
#include "control/registry/replication_follower.h"
#include "control/registry/role_core.h"
#include "control/registry/role_shell.h"

namespace {

constexpr const char* kDescription = R"(Serves the back-end pool's server table (seed 000): ServerAnnounce, ServerDelete,
ServerReplace, the live list and live-list subscriptions, on TCP (protocol in
control/registry/protocol.h). With --role auto, two or more registries share the
service address as primary and monitor (seed 003).)";

constexpr const char* kFooter = R"(
Signals: SIGTERM/SIGINT stop serving and release the service address (role auto).
Exit status: 0 success, 1 runtime failure, 2 bad command line or configuration.)";

int usageError(const std::string& message) { return ringgate::cli::usageError("ringgate-registry", message); }

}  // namespace

int main(int argc, char** argv) {
    using namespace ringgate;
    using namespace ringgate::registry;
    CLI::App app{kDescription, "ringgate-registry"};
    app.footer(kFooter);
    std::optional<std::string> configPath, serviceText, storeName, sqlitePathOption, conninfoOption, keyFileOption,
        managementPath, interface;
    std::string listenText, role = "standalone", confirm = "icmp", name = "registry";
    std::vector<std::string> peerTexts, prefixTexts;
    unsigned long intervalMs = 200, failures = 3, replicationMs = 1000, confirmPort = 0, confirmTries = 3,
                  guardWindowMs = 10000, maxConnections = 1024, idleMs = 10000;
    double guardFraction = 0.5;
    bool noAuth = false;
    app.add_option("--config", configPath, "take the registry section of a ringgate configuration (service "
                                           "endpoint, store, sqlite_path, postgres_conninfo, key_file)")
        ->check(CLI::ExistingFile);
    app.add_option("--service", serviceText, "the service address agents and gateways call (ADDR:PORT)")
        ->check(cli::kIpv4Endpoint);
    app.add_option("--listen", listenText, "where to accept connections (default 0.0.0.0:PORT of --service)")
        ->check(cli::kIpv4Endpoint);
    app.add_option("--role", role, "standalone: serve at once, never touch addresses (default); auto: ARP-probe "
                                   "the service address; free -> take it and serve as primary; in use -> monitor: "
                                   "follow the primary's table, check the service, take it over when it is gone")
        ->check(CLI::IsMember({"standalone", "auto"}));
    app.add_option("--interface", interface, "interface that carries the service address (role auto)");
    app.add_option("--store", storeName, "sqlite (default) or postgresql")->check(CLI::IsMember({"sqlite", "postgresql"}));
    app.add_option("--sqlite-path", sqlitePathOption, "SQLite database file (default from --config, else ./registry.db)");
    app.add_option("--postgres", conninfoOption, "libpq connection string (store postgresql)");
    app.add_option("--management", managementPath, "serve ringgatectl's \"pool\" and \"status\" on this Unix socket");
    app.add_option("--check-interval-ms", intervalMs, "how often a monitor checks the service at the service address "
                                                      "(a signed ROLE answered \"primary\"), and asks its peers")
        ->check(CLI::Range(10ul, 60000ul))->capture_default_str();
    app.add_option("--check-failures", failures, "failed checks before a takeover")
        ->check(CLI::Range(1ul, 100ul))->capture_default_str();
    app.add_option("--peers", peerTexts, "the other registries' own addresses, comma separated (role auto): asked "
                                         "for their role and term every interval, so that registries started at "
                                         "once elect one primary and a primary that was cut off steps down")
        ->delimiter(',')->check(cli::kIpv4Address);
    app.add_option("--replication-timeout-ms", replicationMs, "the primary waits this long for the monitors' ACK "
                                                              "before acknowledging a change without them")
        ->check(CLI::Range(10ul, 60000ul))->capture_default_str();
    app.add_option("--backend-prefixes", prefixTexts, "comma-separated prefixes back-end addresses must lie in; "
                                                      "unspecified, loopback, broadcast and multicast addresses "
                                                      "are always refused")
        ->delimiter(',')->check(cli::kIpv4Prefix);
    app.add_option("--confirm", confirm, "how the registry checks a server a buddy reported dead before removing "
                                         "it (none: believe reports, within the guard)")
        ->check(CLI::IsMember({"icmp", "tcp", "none"}))->capture_default_str();
    app.add_option("--confirm-port", confirmPort, "port for --confirm tcp")->check(CLI::Range(1ul, 65535ul));
    app.add_option("--confirm-tries", confirmTries, "probes, --check-interval-ms apart, before a server counts as "
                                                    "dead to the registry")
        ->check(CLI::Range(1ul, 100ul))->capture_default_str();
    app.add_option("--guard-fraction", guardFraction, "unconfirmed removals may take at most this fraction of the "
                                                      "pool within the guard window; death reports never remove "
                                                      "the last server")
        ->check(CLI::Range(0.0, 1.0))->capture_default_str();
    app.add_option("--guard-window-ms", guardWindowMs, "the guard's sliding window")
        ->check(CLI::Range(100ul, 3600000ul))->capture_default_str();
    app.add_option("--key-file", keyFileOption, "the pool's HMAC key (first line, >= 16 characters): every request "
                                                "and reply on the registry port is signed with it (docs/REGISTRY.md, "
                                                "\"Authentication\"); required unless --no-auth");
    app.add_flag("--no-auth", noAuth, "accept unsigned requests (trials only: anyone who reaches the port can "
                                      "then change the pool)");
    app.add_option("--max-connections", maxConnections, "connections served at once; more are closed")
        ->check(CLI::Range(1ul, 1000000ul))->capture_default_str();
    app.add_option("--idle-timeout-ms", idleMs, "close a connection that sends no request for this long "
                                                "(subscriptions and monitors are exempt)")
        ->check(CLI::Range(100ul, 3600000ul))->capture_default_str();
    app.add_option("--name", name, "identity in log lines")->capture_default_str();
    if (auto exitStatus = cli::parseApp(app, argc, argv)) return *exitStatus;
    log::setIdentity(name);

    std::optional<Ipv4Endpoint> service;
    std::optional<std::string> keyFile;
    std::string store = "sqlite", sqlitePath = "registry.db", conninfo;
    if (configPath) {
        auto loaded = config::loadFile(*configPath);
        if (!loaded.config) {
            std::fputs(loaded.report("ringgate-registry").c_str(), stderr);
            return 2;
        }
        if (!loaded.config->registry) return usageError(*configPath + " has no registry section");
        const auto& r = *loaded.config->registry;
        if (!r.endpoints.empty()) service = r.endpoints.front();
        store = r.store == config::RegistryStore::Postgresql ? "postgresql" : "sqlite";
        sqlitePath = r.sqlitePath;
        conninfo = r.postgresConninfo;
        if (!r.keyFile.empty()) keyFile = r.keyFile;
    }
    if (keyFileOption) keyFile = keyFileOption;
    auto key = keyFromOptions(keyFile, noAuth);
    if (!key) return usageError(key.error().message);
    if (serviceText) service = Ipv4Endpoint::parse(*serviceText);
    if (!service) return usageError("--service ADDR:PORT (or --config FILE) is required");
    Ipv4Endpoint listen{Ipv4Address{0}, service->port};
    if (!listenText.empty()) listen = *Ipv4Endpoint::parse(listenText);
    if (storeName) store = *storeName;
    if (sqlitePathOption) sqlitePath = *sqlitePathOption;
    if (conninfoOption) conninfo = *conninfoOption;
    if (role == "auto" && !interface) return usageError("--role auto needs --interface IF");
    std::vector<Ipv4Prefix> prefixes;
    for (const auto& text : prefixTexts) prefixes.push_back(*Ipv4Prefix::parse(text));
    if (confirm == "tcp" && confirmPort == 0) return usageError("--confirm tcp needs --confirm-port N");
    DeathPolicy deathPolicy;
    deathPolicy.confirm = confirm != "none";
    deathPolicy.window = std::chrono::milliseconds(guardWindowMs);
    deathPolicy.maxUnconfirmedFraction = guardFraction;

    auto opened = store == "postgresql" ? openPostgresStore(conninfo) : openSqliteStore(sqlitePath);
    if (!opened) {
        RG_ERROR(Registry, "%s", opened.error().message.c_str());
        return 1;
    }
    auto& table = **opened;
    boost::asio::io_context io;
    RegistryService serviceCore(table, randomPickSource());
    serviceCore.setBackendPrefixes(prefixes);
    serviceCore.setDeathPolicy(deathPolicy);
    RegistryLimits limits;
    limits.maxConnections = maxConnections;
    limits.idle = std::chrono::milliseconds(idleMs);
    TableWorker tableWorker(io, serviceCore);  // the store's calls, off the I/O thread
    RegistryServer server(io, tableWorker, std::chrono::milliseconds(replicationMs), *key, limits);
    ProbeSpec confirmSpec;
    confirmSpec.kind = confirm == "tcp" ? ProbeKind::Tcp : ProbeKind::Icmp;
    confirmSpec.port = static_cast<uint16_t>(confirmPort);
    DeathConfirmer confirmer(io, confirmSpec, static_cast<uint32_t>(confirmTries), std::chrono::milliseconds(intervalMs));
    if (deathPolicy.confirm) {
        if (auto ready = confirmer.open(); !ready) {
            RG_ERROR(Registry, "--confirm %s: %s", confirm.c_str(), ready.error().message.c_str());
            return 1;
        }
        server.setConfirm([&](Ipv4Address target, std::function<void(bool)> done) {
            confirmer.confirm(target, std::move(done));
        });
    }
    if (auto listening = server.listen(listen); !listening) {
        RG_ERROR(Registry, "%s", listening.error().message.c_str());
        return 1;
    }

    // Seed 003 roles (role auto) or a single registry that just serves.
    std::vector<Ipv4Address> peers;
    for (const auto& text : peerTexts) peers.push_back(*Ipv4Address::parse(text));
    // This registry's own address on the interface (the one its peers list): the
    // tie-break among registries probing at once.
    Ipv4Address self = listen.address;
    if (self.value == 0 && !peers.empty()) {
        // The source address the kernel would use towards a peer (a UDP connect sends
        // nothing and needs no peer to be up).
        boost::system::error_code ec;
        boost::asio::ip::udp::socket udp(io);
        udp.open(boost::asio::ip::udp::v4(), ec);
        if (!ec) udp.connect({boost::asio::ip::address_v4(peers.front().value), service->port}, ec);
        if (!ec) self = fromAsio(udp.local_endpoint(ec).address());
    }
    RoleCore roles(static_cast<uint32_t>(failures), self, peers.size());
    ReplicationFollower follower(io, tableWorker, *service, *key);
    follower.onCopyChanged([&] { server.publishLive(); });  // a monitor's own subscribers
    std::optional<RoleShell> roleShell;
    if (role == "auto") {
        roleShell.emplace(io, RoleShellOptions{*service, *interface, peers, std::chrono::milliseconds(intervalMs), *key},
                          roles, server, follower, serviceCore);
        roleShell->start();
    } else {
        server.setRole(Role::Standalone);
    }

    management::CommandTable commands;
    auto view = [&] {
        PoolView v;
        v.role = server.role();
        v.service = service->toString();
        v.table = tableWorker.table();
        v.counters = server.counters();
        v.monitorAttached = server.monitorAttached();
        v.monitorPeer = server.monitorPeer();
        v.followedChanges = follower.applied();
        v.deaths = tableWorker.deaths();
        v.store = table.kind();
        return v;
    };
    commands.add("pool", "pool               back-end ring, live list, registry role", [&](const management::Request& r) {
        return management::Reply{true, r.format == management::Format::Json ? poolJson(view()) : poolText(view())};
    });
    commands.add("status", "status             registry role and store", [&](const management::Request& r) {
        auto v = view();
        return management::Reply{true, r.format == management::Format::Json ? statusJson(v) : statusText(v)};
    });
    commands.add("log-level", "log-level SPEC     change log levels", [](const management::Request& r) {
        if (r.args.size() != 1 || !log::applySpec(r.args[0])) return management::Reply::error(r.format, "bad log spec");
        return management::Reply{true, "ok\n"};
    });
    management::ManagementServer management(io, commands);
    if (managementPath) {
        if (auto listening = management.listen(*managementPath); !listening) {
            RG_ERROR(Registry, "%s", listening.error().message.c_str());
            return 1;
        }
    }

    boost::asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](boost::system::error_code, int) {
        RG_INFO(Registry, "stopping");
        service::stopping();
        if (roleShell) roleShell->stop();
        follower.stop();
        server.close();
        management.close();
        io.stop();
    });
    RG_INFO(Registry, "serving %s on %s (store %s, role %s)", service->toString().c_str(), listen.toString().c_str(),
            table.kind(), role.c_str());
    // Ready once the loop turns: the registry port (and the management socket) answer.
    boost::asio::post(io, [&] { service::ready("serving " + service->toString() + " (store " + table.kind() + ")"); });
    io.run();
    return 0;
}
