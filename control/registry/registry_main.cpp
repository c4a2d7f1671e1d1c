// ringgate-registry: the server table of a back-end pool (seeds 000-002) served on the
// network, as primary or monitor of a shared service address (seed 003).
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <string>

#include "common/cli.h"
#include "common/log.h"
#include "config/loader.h"
#include "control/management/command_table.h"
#include "control/management/management_server.h"
#include "control/registry/address_control.h"
#include "control/registry/death_confirmer.h"
#include "control/registry/pool_view.h"
#include "control/registry/prober.h"
#include "control/registry/registry_server.h"
#include "control/registry/replication_follower.h"
#include "control/registry/role_core.h"

namespace {

constexpr const char* kHelp = R"(usage: ringgate-registry [--config FILE] [--service ADDR:PORT] [OPTIONS]

Serves the back-end pool's server table (seed 000): ServerAnnounce, ServerDelete,
ServerReplace, the live list and live-list subscriptions, on TCP (protocol in
control/registry/protocol.h). With --role auto, two or more registries share the
service address as primary and monitor (seed 003).

  --config FILE            take the registry section of a ringgate configuration
                           (service endpoint, store, sqlite_path, postgres_conninfo)
  --service ADDR:PORT      the service address agents and gateways call
  --listen ADDR:PORT       where to accept connections (default 0.0.0.0:PORT of --service)
  --role standalone|auto   standalone: serve at once, never touch addresses (default);
                           auto: ARP-probe the service address; free -> take it and serve
                           as primary; in use -> monitor: follow the primary's table,
                           ping the address, take it over when the primary is silent
  --interface IF           interface that carries the service address (role auto)
  --store sqlite|postgresql
  --sqlite-path PATH       SQLite database file (default from FILE, else ./registry.db)
  --postgres CONNINFO      libpq connection string (store postgresql)
  --management PATH        serve ringgatectl's "pool" and "status" on this Unix socket
  --check-interval-ms N    how often a monitor checks the service at the service address
                           (a signed ROLE request answered "primary"; default 200)
  --check-failures N       failed checks before a takeover (default 3)
  --peers LIST             the other registries' own addresses (comma separated; role
                           auto): asked for their role and term every interval, so that
                           registries started at once elect one primary and a primary
                           that was cut off steps down for the newer term
  --replication-timeout-ms N  the primary waits this long for the monitor's ACK before
                           acknowledging a change without it (default 1000)
  --backend-prefixes LIST  comma-separated prefixes (198.19.0.0/24,...) that back-end
                           addresses must lie in; unspecified, loopback, broadcast and
                           multicast addresses are always refused
  --confirm icmp|tcp|none  how the registry checks a server a buddy reported dead before
                           removing it (default icmp; none: believe reports, within the
                           guard below)
  --confirm-port N         port for --confirm tcp
  --confirm-tries N        probes, --check-interval-ms apart, before a server counts as
                           dead to the registry (default 3)
  --guard-fraction F       unconfirmed removals may take at most this fraction of the pool
                           within the guard window (default 0.5); death reports never
                           remove the last server
  --guard-window-ms N      the guard's sliding window (default 10000)
  --key-file PATH          the pool's HMAC key (first line, >= 16 characters): every
                           request and reply on the registry port is signed with it
                           (docs/REGISTRY.md, "Authentication"); required unless --no-auth
  --no-auth                accept unsigned requests (trials only: anyone who reaches the
                           port can then change the pool)
  --max-connections N      connections served at once (default 1024); more are closed
  --idle-timeout-ms N      close a connection that sends no request for this long
                           (default 10000; subscriptions and monitors are exempt)
  --name NAME              identity in log lines (default "registry")
  --log SPEC               log levels, e.g. "debug" or "registry=debug"
  --help                   this text

Signals: SIGTERM/SIGINT stop serving and release the service address (role auto).
Exit status: 0 success, 1 runtime failure, 2 bad command line or configuration.
)";

int usageError(const std::string& message) { return ringgate::cli::usageError("ringgate-registry", message); }

std::vector<std::string> commaList(const std::string& text) {
    std::vector<std::string> items;
    for (size_t start = 0; start <= text.size();) {
        size_t comma = std::min(text.find(',', start), text.size());
        items.push_back(text.substr(start, comma - start));
        start = comma + 1;
    }
    return items;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace ringgate;
    using namespace ringgate::registry;
    auto start = cli::startProgram("ringgate-registry", argc, argv,
                                   {{"config", "service", "listen", "role", "interface", "store", "sqlite-path",
                                     "postgres", "management", "check-interval-ms", "check-failures",
                                     "replication-timeout-ms", "name", "backend-prefixes", "confirm", "confirm-port",
                                     "confirm-tries", "guard-fraction", "guard-window-ms", "key-file", "max-connections",
                                     "idle-timeout-ms", "peers"},
                                    {"no-auth"}},
                                   kHelp);
    if (!start.args) return start.exitStatus;
    auto& args = start.args;
    log::setIdentity(args->option("name").value_or("registry"));

    std::optional<Ipv4Endpoint> service;
    std::optional<std::string> keyFile;
    std::string store = "sqlite", sqlitePath = "registry.db", conninfo;
    if (auto path = args->option("config")) {
        auto loaded = config::loadFile(*path);
        if (!loaded.config) {
            std::fputs(loaded.report("ringgate-registry").c_str(), stderr);
            return 2;
        }
        if (!loaded.config->registry) return usageError(*path + " has no registry section");
        const auto& r = *loaded.config->registry;
        if (!r.endpoints.empty()) service = r.endpoints.front();
        store = r.store == config::RegistryStore::Postgresql ? "postgresql" : "sqlite";
        sqlitePath = r.sqlitePath;
        conninfo = r.postgresConninfo;
        if (!r.keyFile.empty()) keyFile = r.keyFile;
    }
    if (auto path = args->option("key-file")) keyFile = *path;
    auto key = keyFromOptions(keyFile, args->has("no-auth"));
    if (!key) return usageError(key.error().message);
    if (auto text = args->option("service")) {
        service = Ipv4Endpoint::parse(*text);
        if (!service) return usageError("--service: '" + *text + "' is not ADDR:PORT");
    }
    if (!service) return usageError("--service ADDR:PORT (or --config FILE) is required");
    Ipv4Endpoint listen{Ipv4Address{0}, service->port};
    if (auto text = args->option("listen")) {
        auto parsed = Ipv4Endpoint::parse(*text);
        if (!parsed) return usageError("--listen: '" + *text + "' is not ADDR:PORT");
        listen = *parsed;
    }
    if (auto s = args->option("store")) store = *s;
    if (store != "sqlite" && store != "postgresql") return usageError("--store must be sqlite or postgresql");
    if (auto p = args->option("sqlite-path")) sqlitePath = *p;
    if (auto c = args->option("postgres")) conninfo = *c;
    std::string role = args->option("role").value_or("standalone");
    if (role != "standalone" && role != "auto") return usageError("--role must be standalone or auto");
    auto interface = args->option("interface");
    if (role == "auto" && !interface) return usageError("--role auto needs --interface IF");
    unsigned long intervalMs = 200, failures = 3, replicationMs = 1000, confirmPort = 0, confirmTries = 3,
                  guardWindowMs = 10000, maxConnections = 1024, idleMs = 10000;
    for (auto [name, target, min, max] : {std::tuple{"check-interval-ms", &intervalMs, 10ul, 60000ul},
                                          std::tuple{"check-failures", &failures, 1ul, 100ul},
                                          std::tuple{"replication-timeout-ms", &replicationMs, 10ul, 60000ul},
                                          std::tuple{"confirm-port", &confirmPort, 1ul, 65535ul},
                                          std::tuple{"confirm-tries", &confirmTries, 1ul, 100ul},
                                          std::tuple{"guard-window-ms", &guardWindowMs, 100ul, 3600000ul},
                                          std::tuple{"max-connections", &maxConnections, 1ul, 1000000ul},
                                          std::tuple{"idle-timeout-ms", &idleMs, 100ul, 3600000ul}}) {
        if (auto text = args->option(name)) {
            auto parsed = cli::parseNumber(name, *text, min, max);
            if (!parsed) return usageError(parsed.error().message);
            *target = *parsed;
        }
    }

    std::vector<Ipv4Prefix> prefixes;
    if (auto list = args->option("backend-prefixes")) {
        for (const auto& item : commaList(*list)) {
            auto prefix = Ipv4Prefix::parse(item);
            if (!prefix) return usageError("--backend-prefixes: '" + item + "' is not ADDR/LEN");
            prefixes.push_back(*prefix);
        }
    }
    std::string confirm = args->option("confirm").value_or("icmp");
    if (confirm != "icmp" && confirm != "tcp" && confirm != "none") return usageError("--confirm must be icmp, tcp or none");
    if (confirm == "tcp" && confirmPort == 0) return usageError("--confirm tcp needs --confirm-port N");
    DeathPolicy deathPolicy;
    deathPolicy.confirm = confirm != "none";
    deathPolicy.window = std::chrono::milliseconds(guardWindowMs);
    if (auto text = args->option("guard-fraction")) {
        char* end = nullptr;
        double fraction = std::strtod(text->c_str(), &end);
        if (end == text->c_str() || *end != '\0' || !(fraction >= 0.0 && fraction <= 1.0))
            return usageError("--guard-fraction: '" + *text + "' is not a number from 0 to 1");
        deathPolicy.maxUnconfirmedFraction = fraction;
    }

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
    std::optional<AddressControl> address;
    std::vector<Ipv4Address> peers;
    if (auto list = args->option("peers")) {
        for (const auto& item : commaList(*list)) {
            auto peer = Ipv4Address::parse(item);
            if (!peer) return usageError("--peers: '" + item + "' is not an IPv4 address");
            peers.push_back(*peer);
        }
    }
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
    boost::asio::steady_timer checkTimer(io);
    boost::asio::steady_timer probeTimer(io);
    bool everMonitor = false;
    bool probing = false;
    std::thread probeThread;
    auto parseRole = [](const Expected<std::string>& reply) -> std::optional<std::pair<Role, uint64_t>> {
        if (!reply) return std::nullopt;
        auto w = protocol::words(*reply);
        if (w.size() != 3 || w[0] != "OK") return std::nullopt;
        Role r = w[1] == "primary" ? Role::Primary : w[1] == "monitor" ? Role::Monitor
                 : w[1] == "probing" ? Role::Probing : Role::Standalone;
        return std::pair{r, std::strtoull(std::string(w[2]).c_str(), nullptr, 10)};
    };
    auto syncTerm = [&] {
        serviceCore.setTerm(server.role() == Role::Primary ? roles.term() : roles.highestTerm());
        follower.setMinimumTerm(roles.highestTerm());
    };
    std::function<void(std::vector<RoleAction>)> act;
    act = [&](std::vector<RoleAction> actions) {
        for (auto action : actions) {
            switch (action) {
            case RoleAction::ProbeAddress: {
                // A monitor whose copy may be stale must not serve it: the primary may
                // have acknowledged changes while this monitor was not following.
                if (everMonitor && !follower.copyCurrent()) {
                    RG_WARN(Registry, "primary silent, but this copy is not known to be current "
                                      "(not following it): not taking over");
                    act(roles.probed(true));
                    break;
                }
                server.setRole(Role::Probing);
                if (probing) break;  // one ARP probe at a time
                // Monitors wait in line (seed 003 [0029]): the n-th monitor probes (n-1)
                // probe times later, by which time the first has taken the address.
                uint32_t rank = follower.rank();
                auto delay = std::chrono::milliseconds(rank > 1 ? (rank - 1) * 1500 : 0);
                probing = true;
                probeTimer.expires_after(delay);
                probeTimer.async_wait([&](boost::system::error_code ec) {
                    if (ec) {
                        probing = false;
                        return;
                    }
                    address->forgetNeighbour();
                    // arping takes a second: off the I/O thread, so that peers' ROLE
                    // questions are answered meanwhile (they decide who goes first).
                    if (probeThread.joinable()) probeThread.join();
                    probeThread = std::thread([&] {
                        auto busy = address->inUse();
                        boost::asio::post(io, [&, busy] {
                            probing = false;
                            bool inUse = busy ? *busy : true;  // cannot tell: do not risk two primaries
                            if (!busy)
                                RG_ERROR(Registry, "probing %s: %s", service->address.toString().c_str(),
                                         busy.error().message.c_str());
                            RG_INFO(Registry, "service address %s is %s", service->address.toString().c_str(),
                                    inUse ? "in use" : "free");
                            if (server.role() == Role::Probing) act(roles.probed(inUse));
                        });
                    });
                });
                break;
            }
            case RoleAction::TakeAddress: {
                follower.stop();
                if (auto taken = address->take(); !taken) {
                    RG_ERROR(Registry, "taking %s: %s", service->address.toString().c_str(), taken.error().message.c_str());
                    act(roles.start());
                    break;
                }
                server.setRole(Role::Primary);
                syncTerm();
                server.publishLive();
                RG_INFO(Registry, "primary on %s, term %llu", service->toString().c_str(),
                        static_cast<unsigned long long>(roles.term()));
                break;
            }
            case RoleAction::ReleaseAddress:
                RG_WARN(Registry, "another primary has a newer term (%llu > %llu): stepping down, resynchronising",
                        static_cast<unsigned long long>(roles.highestTerm()),
                        static_cast<unsigned long long>(roles.term()));
                (void)address->release();
                server.setRole(Role::Monitor);
                break;
            case RoleAction::QueryPeers:
                for (Ipv4Address peer : peers)
                    callOnce(io, {peer, service->port}, "ROLE", std::chrono::milliseconds(intervalMs),
                             [&, peer](Expected<std::string> reply) {
                                 if (auto heard = parseRole(reply)) {
                                     act(roles.peerReported(peer, heard->first, heard->second));
                                     syncTerm();
                                 }
                             },
                             std::nullopt, *key);
                break;
            case RoleAction::FollowPrimary:
                everMonitor = true;
                follower.expectNewPrimary();
                address->forgetNeighbour();
                server.setRole(Role::Monitor);
                syncTerm();
                follower.start();
                break;
            case RoleAction::CheckPrimary:
                // The service itself, not ICMP: a host whose registry died still answers pings.
                callOnce(io, *service, "ROLE", std::chrono::milliseconds(2 * intervalMs),
                         [&](Expected<std::string> reply) {
                             auto heard = parseRole(reply);
                             if (heard && heard->first == Role::Primary) {
                                 roles.primaryAnswered(heard->second);
                                 syncTerm();
                             }
                         },
                         std::nullopt, *key);
                break;
            }
        }
    };
    std::function<void()> check = [&] {
        act(roles.tick());
        checkTimer.expires_after(std::chrono::milliseconds(intervalMs));
        checkTimer.async_wait([&](boost::system::error_code ec) {
            if (!ec) check();
        });
    };
    if (role == "auto") {
        address.emplace(*interface, service->address);
        // A registry that crashed while primary left the address behind; holding it now
        // would answer our own probe's question wrongly (seed 003 resets it at boot too).
        (void)address->release();
        boost::asio::post(io, [&] {
            act(roles.start());
            check();
        });
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
        return v;
    };
    commands.add("pool", "pool               back-end ring, live list, registry role", [&](const management::Request& r) {
        return management::Reply{true, r.format == management::Format::Json ? poolJson(view()) : poolText(view())};
    });
    commands.add("status", "status             registry role and store", [&](const management::Request& r) {
        auto v = view();
        if (r.format == management::Format::Json)
            return management::Reply{true, std::string("{\"role\":\"") + roleName(v.role) + "\",\"store\":\"" +
                                               table.kind() + "\",\"version\":" + std::to_string(v.table.version) + "}\n"};
        return management::Reply{true, std::string("role ") + roleName(v.role) + ", store " + table.kind() +
                                           ", version " + std::to_string(v.table.version) + "\n"};
    });
    commands.add("log-level", "log-level SPEC     change log levels", [](const management::Request& r) {
        if (r.args.size() != 1 || !log::applySpec(r.args[0])) return management::Reply::error(r.format, "bad log spec");
        return management::Reply{true, "ok\n"};
    });
    management::ManagementServer management(io, commands);
    if (auto path = args->option("management")) {
        if (auto listening = management.listen(*path); !listening) {
            RG_ERROR(Registry, "%s", listening.error().message.c_str());
            return 1;
        }
    }

    boost::asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](boost::system::error_code, int) {
        RG_INFO(Registry, "stopping");
        if (address && server.role() == Role::Primary) (void)address->release();
        follower.stop();
        server.close();
        management.close();
        checkTimer.cancel();
        probeTimer.cancel();
        io.stop();
    });
    RG_INFO(Registry, "serving %s on %s (store %s, role %s)", service->toString().c_str(), listen.toString().c_str(),
            table.kind(), role.c_str());
    io.run();
    if (probeThread.joinable()) probeThread.join();
    return 0;
}
