// Schema: maps YAML onto config.h. Cross-field rules live in validate.cpp.
#include "config/loader.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/validate.h"
#include "config/yaml_reader.h"

namespace ringgate::config {

std::string ConfigError::toString() const {
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + path +
           ": " + reason;
}

std::string LoadResult::report(std::string_view program) const {
    std::string text;
    for (const ConfigError& error : errors) text += error.toString() + "\n";
    if (!errors.empty())
        text += std::string(program) + ": " + std::to_string(errors.size()) +
                (errors.size() == 1 ? " error in " : " errors in ") + errors.front().file + "\n";
    return text;
}

namespace {

constexpr uint32_t kMaxTimerMs = 600'000;

const std::vector<std::pair<std::string, Persistence>> kPersistenceNames = {
    {"0", Persistence::Movable}, {"1", Persistence::StickyCurrent},
    {"3", Persistence::StickyPreferred}};
const std::vector<std::pair<std::string, Protocol>> kProtocolNames = {{"tcp", Protocol::Tcp},
                                                                      {"udp", Protocol::Udp}};
const std::vector<std::pair<std::string, NatMode>> kNatNames = {{"dnat", NatMode::Dnat},
                                                                {"fullnat", NatMode::FullNat}};
const std::vector<std::pair<std::string, Scheduler>> kSchedulerNames = {
    {"maglev", Scheduler::Maglev}};  // the only scheduler the fast path has
const std::vector<std::pair<std::string, ServiceMode>> kModeNames = {{"l4", ServiceMode::L4},
                                                                      {"http", ServiceMode::Http}};
const std::vector<std::pair<std::string, Role>> kRoleNames = {{"read-only", Role::ReadOnly}, {"admin", Role::Admin}};
const std::vector<std::pair<std::string, PortDriver>> kDriverNames = {
    {"af_xdp", PortDriver::AfXdp}, {"af_packet", PortDriver::AfPacket},
    {"pcap", PortDriver::Pcap},    {"ring", PortDriver::Ring},
    {"pci", PortDriver::Pci}};
const std::vector<std::pair<std::string, IdlePolicy>> kIdleNames = {
    {"backoff", IdlePolicy::Backoff}, {"poll", IdlePolicy::Poll}};
const std::vector<std::pair<std::string, RegistryStore>> kStoreNames = {
    {"sqlite", RegistryStore::Sqlite}, {"postgresql", RegistryStore::Postgresql}};
const std::vector<std::pair<std::string, HealthCheckKind>> kCheckNames = {
    {"icmp", HealthCheckKind::Icmp}, {"tcp", HealthCheckKind::Tcp}, {"http", HealthCheckKind::Http}};

const std::vector<std::pair<std::string, MonitorKind>> kMonitorNames = {
    {"link", MonitorKind::Link}, {"ping", MonitorKind::Ping}, {"tcp", MonitorKind::Tcp}, {"http", MonitorKind::Http}};
const std::vector<std::pair<std::string, MonitorKind>> kApplicationNames = {
    {"tcp", MonitorKind::Tcp}, {"http", MonitorKind::Http}};

template <typename E>
std::string_view nameOf(E value, const std::vector<std::pair<std::string, E>>& names) {
    for (const auto& [name, v] : names)
        if (v == value) return name;
    return "?";
}

void readNameList(MapReader& map, const std::string& key, std::vector<std::string>& out) {
    map.sequence(key, false, [&](const YAML::Node& item, const std::string& path) {
        if (auto text = scalarOf(item, path, map.diagnostics())) out.push_back(*text);
    });
}

void readNode(const YAML::Node& yaml, const std::string& path, Diagnostics& diag, Node& node) {
    MapReader map(yaml, path, diag);
    map.u32("id", node.id, 1, 65535, true);
    YAML::Node addresses = map.child("addresses");
    if (!addresses.IsDefined() || addresses.IsNull()) {
        diag.error(positionOf(yaml), map.childPath("addresses"), "required field is missing");
    } else if (!addresses.IsMap()) {
        diag.error(positionOf(addresses), map.childPath("addresses"),
                   "expected a mapping of subnet name to address");
    } else {
        for (const auto& entry : addresses) {
            std::string subnet = entry.first.Scalar();
            std::string entryPath = map.childPath("addresses") + "." + subnet;
            diag.remember(entryPath, entry.second);
            auto text = scalarOf(entry.second, entryPath, diag);
            if (!text) continue;
            auto address = Ipv4Address::parse(*text);
            if (!address) {
                diag.error(positionOf(entry.second), entryPath,
                           "'" + *text + "' is not an IPv4 address");
                continue;
            }
            node.addresses.push_back({subnet, *address});
        }
    }
    map.finish();
}

void readCluster(MapReader& root, Cluster& cluster) {
    if (!root.has("cluster")) {
        root.child("cluster");
        root.diagnostics().errorAt("cluster", "required section is missing");
        return;
    }
    MapReader map(root.child("cluster"), "cluster", root.diagnostics());
    map.string("name", cluster.name, true);
    map.u64("config_version", cluster.configVersion, 0, UINT64_MAX, true);
    map.u16("port", cluster.port, 1, 65535, false);
    if (map.has("shared_key")) {
        std::string key;
        map.string("shared_key", key, false);
        if (!key.empty()) cluster.sharedKey = key;
    } else {
        map.child("shared_key");
    }
    map.sequence("nodes", true, [&](const YAML::Node& item, const std::string& path) {
        Node node;
        readNode(item, path, map.diagnostics(), node);
        cluster.nodes.push_back(std::move(node));
    });
    map.finish();
}

void readVip(const YAML::Node& yaml, const std::string& path, Diagnostics& diag, Vip& vip) {
    MapReader map(yaml, path, diag);
    map.address("address", vip.address, true);
    if (map.has("preferred_host")) {
        NodeId host = 0;
        map.u32("preferred_host", host, 1, 65535, false);
        if (host != 0) vip.preferredHost = host;
    } else {
        map.child("preferred_host");
    }
    map.choice("persistence", vip.persistence, kPersistenceNames, false);
    map.finish();
}

void readSubnet(const YAML::Node& yaml, const std::string& path, Diagnostics& diag, Subnet& subnet) {
    MapReader map(yaml, path, diag);
    map.string("name", subnet.name, true);
    map.prefix("prefix", subnet.prefix, true);
    map.sequence("vips", false, [&](const YAML::Node& item, const std::string& itemPath) {
        Vip vip;
        readVip(item, itemPath, diag, vip);
        subnet.vips.push_back(vip);
    });
    map.finish();
}

void readPool(const YAML::Node& yaml, const std::string& path, Diagnostics& diag, BackendPool& pool) {
    MapReader map(yaml, path, diag);
    map.string("name", pool.name, true);
    map.boolean("registry", pool.fromRegistry, false);
    map.u16("port", pool.port, 1, 65535, false);
    map.sequence("backends", false, [&](const YAML::Node& item, const std::string& itemPath) {
        MapReader backendMap(item, itemPath, diag);
        Backend backend;
        backendMap.address("address", backend.address, true);
        backendMap.u16("port", backend.port, 1, 65535, true);
        backendMap.u32("weight", backend.weight, 1, 1000, false);
        backendMap.finish();
        pool.backends.push_back(backend);
    });
    map.finish();
}

void readHttpProxy(const YAML::Node& yaml, const std::string& path, Diagnostics& diag, HttpProxy& http) {
    MapReader map(yaml, path, diag);
    map.boolean("resume", http.resume, false);
    map.u32("stall_ms", http.stallMs, 10, kMaxTimerMs, false);
    map.u32("max_resumes", http.maxResumes, 0, 100, false);
    map.u32("connect_timeout_ms", http.connectTimeoutMs, 10, kMaxTimerMs, false);
    map.u32("header_timeout_ms", http.headerTimeoutMs, 10, kMaxTimerMs, false);
    map.u32("idle_timeout_ms", http.idleTimeoutMs, 10, kMaxTimerMs, false);
    map.u32("client_write_timeout_ms", http.clientWriteTimeoutMs, 10, kMaxTimerMs, false);
    map.u32("buffer_bytes", http.bufferBytes, 1024, 16u << 20, false);
    map.u32("max_header_bytes", http.maxHeaderBytes, 1024, 1u << 20, false);
    map.u32("max_request_body_bytes", http.maxRequestBodyBytes, 0, 1u << 30, false);
    map.u32("max_connections", http.maxConnections, 1, 1u << 20, false);
    map.u32("backend_hold_ms", http.backendHoldMs, 0, kMaxTimerMs, false);
    map.u32("threads", http.threads, 1, 64, false);
    map.finish();
}

void readService(const YAML::Node& yaml, const std::string& path, Diagnostics& diag, Service& service) {
    MapReader map(yaml, path, diag);
    map.string("name", service.name, true);
    map.address("vip", service.vip, true);
    map.u16("port", service.port, 1, 65535, true);
    map.choice("protocol", service.protocol, kProtocolNames, false);
    map.string("pool", service.pool, true);
    map.choice("nat", service.nat, kNatNames, false);
    map.choice("scheduler", service.scheduler, kSchedulerNames, false);
    map.choice("mode", service.mode, kModeNames, false);
    if (service.mode == ServiceMode::Http && map.has("nat"))
        diag.error(positionOf(map.child("nat")), map.childPath("nat"),
                   "mode http proxies from the gateway's own address; nat does not apply");
    if (map.has("http")) {
        if (service.mode != ServiceMode::Http)
            diag.error(positionOf(map.child("http")), map.childPath("http"), "http settings need mode: http");
        readHttpProxy(map.child("http"), map.childPath("http"), diag, service.http);
    } else {
        map.child("http");
    }
    map.finish();
}

void readTimers(MapReader& root, Timers& timers) {
    if (!root.has("timers")) { root.child("timers"); return; }
    MapReader map(root.child("timers"), "timers", root.diagnostics());
    map.u32("token_interval_ms", timers.tokenIntervalMs, 1, kMaxTimerMs, false);
    map.u32("handoff_ack_timeout_ms", timers.handoffAckTimeoutMs, 1, kMaxTimerMs, false);
    map.u32("handoff_retries", timers.handoffRetries, 0, 10, false);
    map.u32("token_loss_timeout_ms", timers.tokenLossTimeoutMs, 1, kMaxTimerMs, false);
    map.u32("garp_repeats", timers.garpRepeats, 0, 100, false);
    map.u32("garp_interval_ms", timers.garpIntervalMs, 1, kMaxTimerMs, false);
    map.u32("probe_timeout_ms", timers.probeTimeoutMs, 1, kMaxTimerMs, false);
    map.finish();
}

void readHealthCheck(const YAML::Node& yaml, const std::string& path, Diagnostics& diag,
                     HealthCheck& check, bool targetRequired) {
    MapReader map(yaml, path, diag);
    map.choice("kind", check.kind, kCheckNames, true);
    map.address("target", check.target, targetRequired);
    bool needsPort = check.kind != HealthCheckKind::Icmp;
    map.u16("port", check.port, 1, 65535, needsPort && targetRequired);
    map.string("path", check.path, false);
    map.u32("interval_ms", check.intervalMs, 10, kMaxTimerMs, false);
    map.u32("failures", check.failures, 1, 100, false);
    map.finish();
}

void readTiming(MapReader& map, MonitorTiming& timing) {
    map.u32("interval_ms", timing.intervalMs, 10, kMaxTimerMs, false);
    map.u32("timeout_ms", timing.timeoutMs, 1, kMaxTimerMs, false);
    map.u32("fall", timing.fall, 1, 100, false);
    map.u32("rise", timing.rise, 1, 100, false);
}

// One item of nics, ping_targets or applications: a scalar (interface name or target
// address) or a mapping with the monitor's own subnets and timing.
void readMonitor(const YAML::Node& yaml, const std::string& path, Diagnostics& diag, LocalMonitor& monitor,
                 const MonitorTiming& defaults) {
    monitor.timing = defaults;
    if (yaml.IsScalar() && monitor.kind != MonitorKind::Tcp) {
        diag.remember(path, yaml);
        if (monitor.kind == MonitorKind::Link) {
            monitor.interface = yaml.Scalar();
        } else if (auto address = Ipv4Address::parse(yaml.Scalar())) {
            monitor.target = *address;
        } else {
            diag.error(positionOf(yaml), path, "'" + yaml.Scalar() + "' is not an IPv4 address");
        }
        return;
    }
    MapReader map(yaml, path, diag);
    switch (monitor.kind) {
        case MonitorKind::Link:
            map.string("interface", monitor.interface, true);
            break;
        case MonitorKind::Ping:
            map.address("target", monitor.target, true);
            break;
        default:  // applications: tcp or http
            map.choice("kind", monitor.kind, kApplicationNames, true);
            map.address("target", monitor.target, true);
            map.u16("port", monitor.port, 1, 65535, true);
            if (monitor.kind == MonitorKind::Http)
                map.string("path", monitor.path, false);
            else if (map.has("path"))
                diag.error(positionOf(map.child("path")), map.childPath("path"), "path needs kind: http");
            break;
    }
    readNameList(map, "subnets", monitor.subnets);
    readTiming(map, monitor.timing);
    map.finish();
}

void readLocalMonitors(MapReader& root, LocalMonitors& monitors) {
    if (!root.has("local_monitors")) { root.child("local_monitors"); return; }
    MapReader map(root.child("local_monitors"), "local_monitors", root.diagnostics());
    readTiming(map, monitors.defaults);
    auto readList = [&](const std::string& key, MonitorKind kind) {
        map.sequence(key, false, [&](const YAML::Node& item, const std::string& path) {
            LocalMonitor monitor;
            monitor.kind = kind;
            readMonitor(item, path, map.diagnostics(), monitor, monitors.defaults);
            monitors.monitors.push_back(std::move(monitor));
        });
    };
    readList("nics", MonitorKind::Link);
    readList("ping_targets", MonitorKind::Ping);
    readList("applications", MonitorKind::Tcp);
    map.finish();
}

void readLoadBalancing(MapReader& root, LoadBalancingConfig& balancing) {
    if (!root.has("load_balancing")) { root.child("load_balancing"); return; }
    MapReader map(root.child("load_balancing"), "load_balancing", root.diagnostics());
    map.boolean("enabled", balancing.enabled, false);
    map.u32("byte_weight", balancing.byteWeight, 0, 1000, false);
    map.u32("cpu_weight", balancing.cpuWeight, 0, 1000, false);
    map.u32("imbalance_percent", balancing.imbalancePercent, 101, 10'000, false);
    map.u32("min_imbalance", balancing.minImbalance, 0, 1'000'000, false);
    map.u32("cooldown_ms", balancing.cooldownMs, 0, kMaxTimerMs, false);
    map.finish();
}

void readRegistry(MapReader& root, std::optional<Registry>& out) {
    if (!root.has("registry")) { root.child("registry"); return; }
    MapReader map(root.child("registry"), "registry", root.diagnostics());
    Registry registry;
    map.sequence("endpoints", true, [&](const YAML::Node& item, const std::string& path) {
        auto text = scalarOf(item, path, map.diagnostics());
        if (!text) return;
        auto endpoint = Ipv4Endpoint::parse(*text);
        if (!endpoint) {
            map.diagnostics().error(positionOf(item), path,
                                    "'" + *text + "' is not an IPv4 address:port");
            return;
        }
        registry.endpoints.push_back(*endpoint);
    });
    map.choice("store", registry.store, kStoreNames, false);
    map.string("sqlite_path", registry.sqlitePath, false);
    map.string("postgres_conninfo", registry.postgresConninfo, false);
    map.u16("buddy_port", registry.buddyPort, 1, 65535, false);
    map.string("key_file", registry.keyFile, false);
    if (map.has("buddy_check"))
        readHealthCheck(map.child("buddy_check"), map.childPath("buddy_check"),
                        map.diagnostics(), registry.buddyCheck, false);
    else
        map.child("buddy_check");
    map.finish();
    out = std::move(registry);
}

void readManagement(MapReader& root, Management& management) {
    if (!root.has("management")) { root.child("management"); return; }
    MapReader map(root.child("management"), "management", root.diagnostics());
    map.string("socket", management.socketPath, false);
    if (map.has("listen")) {
        Ipv4Endpoint listen;
        map.endpoint("listen", listen, false);
        if (listen.port != 0) management.listen = listen;
    } else {
        map.child("listen");
    }
    map.string("certificate", management.certificate, false);
    map.string("private_key", management.privateKey, false);
    map.u32("max_connections", management.maxConnections, 1, 4096, false);
    map.sequence("users", false, [&](const YAML::Node& item, const std::string& path) {
        MapReader userMap(item, path, map.diagnostics());
        ManagementUser user;
        userMap.string("name", user.name, true);
        userMap.string("password_hash", user.passwordHash, true);
        userMap.choice("role", user.role, kRoleNames, true);
        userMap.finish();
        management.users.push_back(std::move(user));
    });
    map.string("password_hash", management.passwordHash, false);
    map.string("socket_group", management.socketGroup, false);
    map.string("read_only_socket", management.readOnlySocketPath, false);
    map.string("read_only_socket_group", management.readOnlySocketGroup, false);
    map.finish();
}

void readPort(const YAML::Node& yaml, const std::string& path, Diagnostics& diag, Port& port) {
    MapReader map(yaml, path, diag);
    map.string("name", port.name, true);
    map.string("subnet", port.subnet, true);
    map.choice("driver", port.driver, kDriverNames, false);
    map.string("interface", port.interface, false);
    map.string("pci_address", port.pciAddress, false);
    map.string("pcap_rx", port.pcapRx, false);
    map.string("pcap_tx", port.pcapTx, false);
    map.string("exception_interface", port.exceptionInterface, false);
    map.u16("queues", port.queues, 1, 64, false);
    map.finish();
}

void readDataplane(MapReader& root, Dataplane& dataplane) {
    if (!root.has("dataplane")) { root.child("dataplane"); return; }
    MapReader map(root.child("dataplane"), "dataplane", root.diagnostics());
    map.boolean("enabled", dataplane.enabled, false);
    map.boolean("hugepages", dataplane.hugepages, false);
    map.u32("memory_mb", dataplane.memoryMb, 64, 1u << 20, false);
    if (map.has("lcores")) {
        dataplane.lcores.clear();
        map.sequence("lcores", false, [&](const YAML::Node& item, const std::string& path) {
            auto text = scalarOf(item, path, map.diagnostics());
            if (!text) return;
            uint32_t lcore = 0;
            auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), lcore);
            if (ec != std::errc{} || end != text->data() + text->size() || lcore > 1023) {
                map.diagnostics().error(positionOf(item), path,
                                        "'" + *text + "' is not an lcore id (0-1023)");
                return;
            }
            dataplane.lcores.push_back(lcore);
        });
    } else {
        map.child("lcores");
    }
    if (map.has("idle")) {
        MapReader idle(map.child("idle"), map.childPath("idle"), map.diagnostics());
        idle.choice("policy", dataplane.idlePolicy, kIdleNames, false);
        idle.u32("max_sleep_us", dataplane.idleSleepMaxUs, 1, 1'000'000, false);
        idle.finish();
    } else {
        map.child("idle");
    }
    if (map.has("timeouts")) {
        MapReader timeouts(map.child("timeouts"), map.childPath("timeouts"), map.diagnostics());
        timeouts.u32("syn_ms", dataplane.timeouts.synMs, 100, 86'400'000, false);
        timeouts.u32("established_ms", dataplane.timeouts.establishedMs, 100, 86'400'000, false);
        timeouts.u32("fin_ms", dataplane.timeouts.finMs, 100, 86'400'000, false);
        timeouts.u32("closed_ms", dataplane.timeouts.closedMs, 100, 86'400'000, false);
        timeouts.u32("udp_ms", dataplane.timeouts.udpMs, 100, 86'400'000, false);
        timeouts.finish();
    } else {
        map.child("timeouts");
    }
    if (map.has("tables")) {
        MapReader tables(map.child("tables"), map.childPath("tables"), map.diagnostics());
        tables.u32("connections", dataplane.connectionTableSize, 1024, 1u << 28, false);
        tables.u32("neighbours", dataplane.neighbourTableSize, 16, 1u << 20, false);
        tables.finish();
    } else {
        map.child("tables");
    }
    map.sequence("ports", false, [&](const YAML::Node& item, const std::string& path) {
        Port port;
        readPort(item, path, map.diagnostics(), port);
        dataplane.ports.push_back(std::move(port));
    });
    map.finish();
}

void readFlows(MapReader& root, Flows& flows) {
    if (!root.has("flows")) return;
    MapReader map(root.child("flows"), "flows", root.diagnostics());
    map.boolean("enabled", flows.enabled, false);
    map.u16("port", flows.port, 1, 65535, false);
    map.u32("hold_ms", flows.holdMs, 1, 10'000, false);
    map.u32("hold_packets", flows.holdPackets, 1, 65'536, false);
    map.u32("budget_mb", flows.budgetMb, 1, 1u << 20, false);
    map.finish();
}

LoadResult parse(std::string_view text, const std::string& name) {
    Diagnostics diag(name);
    LoadResult result;
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        // yaml-cpp's own message is precise ("end of map not found"); keep it, drop its prefix.
        Position at{e.mark.is_null() ? 1 : e.mark.line + 1, e.mark.is_null() ? 1 : e.mark.column + 1};
        diag.error(at, "(syntax)", e.msg.empty() ? "invalid YAML" : e.msg);
        result.errors = diag.take();
        return result;
    }
    if (!root.IsDefined() || root.IsNull()) {
        diag.error(Position{1, 1}, "(top)", "the file is empty; expected a cluster configuration");
        result.errors = diag.take();
        return result;
    }
    if (!root.IsMap()) {
        diag.error(positionOf(root), "(top)",
                   "expected a mapping with cluster, subnets, services, ...");
        result.errors = diag.take();
        return result;
    }

    Config config;
    config.sourcePath = name;
    MapReader top(root, "", diag);
    readCluster(top, config.cluster);
    top.sequence("subnets", true, [&](const YAML::Node& item, const std::string& path) {
        Subnet subnet;
        readSubnet(item, path, diag, subnet);
        config.subnets.push_back(std::move(subnet));
    });
    top.sequence("pools", false, [&](const YAML::Node& item, const std::string& path) {
        BackendPool pool;
        readPool(item, path, diag, pool);
        config.pools.push_back(std::move(pool));
    });
    top.sequence("services", false, [&](const YAML::Node& item, const std::string& path) {
        Service service;
        readService(item, path, diag, service);
        config.services.push_back(std::move(service));
    });
    readTimers(top, config.timers);
    readLocalMonitors(top, config.localMonitors);
    readLoadBalancing(top, config.loadBalancing);
    readRegistry(top, config.registry);
    readManagement(top, config.management);
    readDataplane(top, config.dataplane);
    readFlows(top, config.flows);
    top.finish();

    // Cross-field rules only make sense on a structurally sound file.
    if (diag.empty()) validate(config, diag);
    if (diag.empty())
        result.config = std::move(config);
    else
        result.errors = diag.take();
    return result;
}

}  // namespace

LoadResult loadString(std::string_view text, const std::string& name) {
    if (text.size() > kMaxConfigBytes) {
        LoadResult result;
        result.errors.push_back({name, 1, 1, "(file)",
                                 "file is " + std::to_string(text.size()) +
                                     " bytes; the limit is " + std::to_string(kMaxConfigBytes)});
        return result;
    }
    // yaml-cpp reads NUL-terminated text; an embedded NUL means this is not a text file.
    if (text.find('\0') != std::string_view::npos) {
        LoadResult result;
        result.errors.push_back({name, 1, 1, "(file)", "not a text file (contains NUL bytes)"});
        return result;
    }
    LoadResult result = parse(text, name);
    if (result.config) result.text = std::string(text);
    return result;
}

LoadResult loadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        LoadResult result;
        result.errors.push_back({path, 0, 0, "(file)", "cannot open: " + std::string(strerror(errno))});
        return result;
    }
    in.seekg(0, std::ios::end);
    std::streamoff size = in.tellg();
    in.seekg(0, std::ios::beg);
    if (size < 0 || static_cast<size_t>(size) > kMaxConfigBytes) {
        LoadResult result;
        result.errors.push_back({path, 1, 1, "(file)",
                                 "file is " + std::to_string(size) + " bytes; the limit is " +
                                     std::to_string(kMaxConfigBytes)});
        return result;
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return loadString(buffer.str(), path);
}

std::string_view toString(Persistence persistence) { return nameOf(persistence, kPersistenceNames); }
std::string_view toString(Protocol protocol) { return nameOf(protocol, kProtocolNames); }
std::string_view toString(NatMode mode) { return nameOf(mode, kNatNames); }
std::string_view toString(PortDriver driver) { return nameOf(driver, kDriverNames); }
std::string_view toString(ServiceMode mode) { return nameOf(mode, kModeNames); }
std::string_view toString(Role role) { return nameOf(role, kRoleNames); }
std::string_view toString(MonitorKind kind) { return nameOf(kind, kMonitorNames); }

}  // namespace ringgate::config
