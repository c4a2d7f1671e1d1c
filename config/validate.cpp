#include "config/validate.h"

#include <fstream>
#include <map>
#include <set>
#include <tuple>

namespace ringgate::config {

namespace {

std::string at(const std::string& list, size_t index) {
    return list + "[" + std::to_string(index) + "]";
}

void validateCluster(const Config& config, Diagnostics& diag) {
    const Cluster& cluster = config.cluster;
    if (cluster.nodes.empty()) diag.errorAt("cluster.nodes", "the node map needs at least one node");
    // The name travels on every train (a node of another cluster is refused by it).
    if (cluster.name.empty() || cluster.name.size() > 64)
        diag.errorAt("cluster.name", "a cluster name has 1 to 64 characters");
    if (cluster.sharedKey && cluster.sharedKey->size() < 16)
        diag.errorAt("cluster.shared_key", "a shared key needs at least 16 characters");

    std::map<NodeId, size_t> ids;
    std::map<Ipv4Address, std::string> addresses;
    for (size_t i = 0; i < cluster.nodes.size(); ++i) {
        const Node& node = cluster.nodes[i];
        std::string path = at("cluster.nodes", i);
        auto [it, fresh] = ids.emplace(node.id, i);
        if (!fresh)
            diag.errorAt(path + ".id", "node id " + std::to_string(node.id) +
                                           " is already used by cluster.nodes[" +
                                           std::to_string(it->second) + "]");
        if (node.addresses.empty())
            diag.errorAt(path + ".addresses", "a node needs a primary address on at least one subnet");
        for (const NodeAddress& a : node.addresses) {
            std::string addressPath = path + ".addresses." + a.subnet;
            const Subnet* subnet = config.findSubnet(a.subnet);
            if (!subnet) {
                diag.errorAt(addressPath, "no subnet named '" + a.subnet + "'");
                continue;
            }
            if (!subnet->prefix.contains(a.address))
                diag.errorAt(addressPath, a.address.toString() + " is outside subnet " +
                                              a.subnet + " (" + subnet->prefix.toString() + ")");
            auto [prev, unique] = addresses.emplace(a.address, addressPath);
            if (!unique)
                diag.errorAt(addressPath, a.address.toString() + " is also " + prev->second);
        }
    }
}

void validateSubnets(const Config& config, Diagnostics& diag) {
    std::set<std::string> names;
    std::map<Ipv4Address, std::string> vips;
    std::set<Ipv4Address> nodeAddresses;
    for (const Node& node : config.cluster.nodes)
        for (const NodeAddress& a : node.addresses) nodeAddresses.insert(a.address);

    for (size_t s = 0; s < config.subnets.size(); ++s) {
        const Subnet& subnet = config.subnets[s];
        std::string path = at("subnets", s);
        if (!names.insert(subnet.name).second)
            diag.errorAt(path + ".name", "subnet name '" + subnet.name + "' is used twice");
        // Overlapping subnets would make "which port faces this address" ambiguous.
        for (size_t other = 0; other < s; ++other) {
            const Ipv4Prefix& o = config.subnets[other].prefix;
            if (o.contains(subnet.prefix.network) || subnet.prefix.contains(o.network))
                diag.errorAt(path + ".prefix", subnet.prefix.toString() + " overlaps subnets[" +
                                                   std::to_string(other) + "] (" + o.toString() + ")");
        }
        for (size_t v = 0; v < subnet.vips.size(); ++v) {
            const Vip& vip = subnet.vips[v];
            std::string vipPath = at(path + ".vips", v);
            if (!subnet.prefix.contains(vip.address))
                diag.errorAt(vipPath + ".address", vip.address.toString() + " is outside subnet " +
                                                       subnet.name + " (" +
                                                       subnet.prefix.toString() + ")");
            auto [prev, unique] = vips.emplace(vip.address, vipPath);
            if (!unique)
                diag.errorAt(vipPath + ".address",
                             vip.address.toString() + " is already a VIP at " + prev->second);
            if (nodeAddresses.count(vip.address))
                diag.errorAt(vipPath + ".address",
                             vip.address.toString() + " is a node's primary address, not a VIP");
            if (vip.preferredHost && !config.cluster.findNode(*vip.preferredHost))
                diag.errorAt(vipPath + ".preferred_host",
                             "node " + std::to_string(*vip.preferredHost) +
                                 " is not in cluster.nodes");
            if (vip.persistence == Persistence::StickyPreferred && !vip.preferredHost)
                diag.errorAt(vipPath + ".persistence",
                             "persistence 3 (sticky to preferred host) needs a preferred_host");
        }
    }
}

bool isVip(const Config& config, Ipv4Address address) {
    for (const Subnet& subnet : config.subnets)
        for (const Vip& vip : subnet.vips)
            if (vip.address == address) return true;
    return false;
}

bool onSomeSubnet(const Config& config, Ipv4Address address) {
    for (const Subnet& subnet : config.subnets)
        if (subnet.prefix.contains(address)) return true;
    return false;
}

void validatePoolsAndServices(const Config& config, Diagnostics& diag) {
    std::set<std::string> poolNames;
    for (size_t p = 0; p < config.pools.size(); ++p) {
        const BackendPool& pool = config.pools[p];
        std::string path = at("pools", p);
        if (!poolNames.insert(pool.name).second)
            diag.errorAt(path + ".name", "pool name '" + pool.name + "' is used twice");
        if (!pool.fromRegistry && pool.backends.empty())
            diag.errorAt(path, "a pool needs backends, or registry: true to follow the registry");
        if (pool.fromRegistry && !config.registry)
            diag.errorAt(path + ".registry", "registry: true but there is no registry section");
        if (pool.fromRegistry && pool.port == 0 && pool.backends.empty())
            diag.errorAt(path + ".registry", "a registry pool needs a port (or a static back end to take it from)");
        std::set<std::pair<Ipv4Address, uint16_t>> members;
        for (size_t b = 0; b < pool.backends.size(); ++b) {
            const Backend& backend = pool.backends[b];
            std::string backendPath = at(path + ".backends", b);
            if (!members.insert({backend.address, backend.port}).second)
                diag.errorAt(backendPath, backend.address.toString() + ":" +
                                              std::to_string(backend.port) + " is listed twice");
            if (!onSomeSubnet(config, backend.address))
                diag.errorAt(backendPath + ".address",
                             backend.address.toString() + " is on none of the configured subnets");
            if (isVip(config, backend.address))
                diag.errorAt(backendPath + ".address",
                             backend.address.toString() + " is a VIP, not a back end");
        }
    }

    std::set<std::string> serviceNames;
    std::map<std::tuple<Ipv4Address, uint16_t, Protocol>, std::string> listeners;
    for (size_t i = 0; i < config.services.size(); ++i) {
        const Service& service = config.services[i];
        std::string path = at("services", i);
        if (!serviceNames.insert(service.name).second)
            diag.errorAt(path + ".name", "service name '" + service.name + "' is used twice");
        if (!isVip(config, service.vip))
            diag.errorAt(path + ".vip", service.vip.toString() + " is not a VIP of any subnet");
        if (!config.findPool(service.pool))
            diag.errorAt(path + ".pool", "no pool named '" + service.pool + "'");
        auto [prev, unique] =
            listeners.emplace(std::make_tuple(service.vip, service.port, service.protocol), path);
        if (!unique)
            diag.errorAt(path, service.vip.toString() + ":" + std::to_string(service.port) + "/" +
                                   std::string(toString(service.protocol)) +
                                   " is already served by " + prev->second);
    }
}

const Subnet* subnetOf(const Config& config, Ipv4Address address) {
    for (const Subnet& subnet : config.subnets)
        if (subnet.prefix.contains(address)) return &subnet;
    return nullptr;
}

// mode http: the host stack of the VIP's owner terminates the connection. On the fast
// path that needs ringgate's XDP program to pass the service's VIP:port to the host,
// which only AF_XDP ports have (the PMD ports' exception path has no such rule).
void validateHttpServices(const Config& config, Diagnostics& diag) {
    for (size_t i = 0; i < config.services.size(); ++i) {
        const Service& service = config.services[i];
        if (service.mode != ServiceMode::Http) continue;
        std::string path = at("services", i);
        if (service.protocol != Protocol::Tcp)
            diag.errorAt(path + ".protocol", "mode http needs protocol tcp");
        if (!config.dataplane.enabled) continue;
        const Subnet* subnet = subnetOf(config, service.vip);
        if (!subnet) continue;  // reported with the VIP
        for (const Port& port : config.dataplane.ports)
            if (port.subnet == subnet->name && port.driver != PortDriver::AfXdp)
                diag.errorAt(path + ".mode", "mode http on the fast path needs af_xdp ports on subnet " +
                                                 subnet->name + " (port " + port.name + " is " +
                                                 std::string(toString(port.driver)) + ")");
    }
}

void validateTimers(const Config& config, Diagnostics& diag) {
    const Timers& t = config.timers;
    // A hand-off must be able to fail (all retries) before the ring gives the token up for
    // lost; otherwise a single dead node triggers a 911 storm instead of a clean skip.
    uint64_t handoffBudget = uint64_t{t.handoffAckTimeoutMs} * (t.handoffRetries + 1);
    if (uint64_t{t.tokenIntervalMs} + handoffBudget >= t.tokenLossTimeoutMs)
        diag.errorAt("timers.token_loss_timeout_ms",
                     std::to_string(t.tokenLossTimeoutMs) +
                         " ms must exceed token_interval_ms + handoff_ack_timeout_ms x "
                         "(handoff_retries + 1) = " +
                         std::to_string(t.tokenIntervalMs + handoffBudget) + " ms");
    if (t.garpRepeats > 0 && uint64_t{t.garpIntervalMs} * t.garpRepeats > 60'000)
        diag.errorAt("timers.garp_interval_ms",
                     "gratuitous ARP repeats would last over a minute; lower garp_repeats or the interval");
    if (t.probeTimeoutMs >= t.tokenLossTimeoutMs)
        diag.errorAt("timers.probe_timeout_ms",
                     "an ARP probe must finish before the token is declared lost (token_loss_timeout_ms)");
}

void validateLocalMonitors(const Config& config, Diagnostics& diag) {
    size_t counts[3] = {0, 0, 0};  // items seen so far in nics, ping_targets, applications
    std::set<std::string> seen;
    for (const LocalMonitor& m : config.localMonitors.monitors) {
        size_t list = m.kind == MonitorKind::Link ? 0 : m.kind == MonitorKind::Ping ? 1 : 2;
        static const char* kLists[] = {"local_monitors.nics", "local_monitors.ping_targets",
                                       "local_monitors.applications"};
        std::string path = at(kLists[list], counts[list]++);
        if (!seen.insert(describe(m)).second) diag.errorAt(path, describe(m) + " is monitored twice");
        if (m.kind == MonitorKind::Link && (m.interface.empty() || m.interface.size() > 15))
            diag.errorAt(path, "an interface name has 1 to 15 characters");
        if (m.kind == MonitorKind::Http &&
            (m.path.empty() || m.path[0] != '/' || m.path.find_first_of(" \r\n") != std::string::npos))
            diag.errorAt(path + ".path", "an HTTP path starts with / and has no spaces or line breaks");
        if (m.timing.timeoutMs >= m.timing.intervalMs)
            diag.errorAt(path, "timeout_ms (" + std::to_string(m.timing.timeoutMs) +
                                   ") must be below interval_ms (" + std::to_string(m.timing.intervalMs) + ")");
        for (const std::string& subnet : m.subnets)
            if (!config.findSubnet(subnet)) diag.errorAt(path + ".subnets", "no subnet named '" + subnet + "'");
        if (affectedSubnets(config, m).empty())
            diag.errorAt(path, m.kind == MonitorKind::Link
                                   ? "no dataplane port uses interface " + m.interface +
                                         ": write { interface: " + m.interface + ", subnets: [NAME] }"
                                   : m.target.toString() + " is on no subnet: write { target: " +
                                         m.target.toString() + ", subnets: [NAME] }");
    }
    const LoadBalancingConfig& lb = config.loadBalancing;
    if (lb.enabled && lb.byteWeight == 0 && lb.cpuWeight == 0)
        diag.errorAt("load_balancing", "byte_weight and cpu_weight are both 0: set enabled: false instead");
}

void validateManagement(const Config& config, Diagnostics& diag) {
    const Management& m = config.management;
    if (m.socketPath.front() != '/')
        diag.errorAt("management.socket", "must be an absolute path");
    if (m.socketPathFor(65535).size() >= 108)  // sun_path limit
        diag.errorAt("management.socket", "path is too long for a Unix socket (limit 107 bytes)");
    if (!m.readOnlySocketPath.empty()) {
        if (m.readOnlySocketPath.front() != '/')
            diag.errorAt("management.read_only_socket", "must be an absolute path");
        else if (m.readOnlySocketPathFor(65535).size() >= 108)
            diag.errorAt("management.read_only_socket", "path is too long for a Unix socket (limit 107 bytes)");
        else if (m.readOnlySocketPath == m.socketPath)
            diag.errorAt("management.read_only_socket", "must differ from management.socket");
    } else if (!m.readOnlySocketGroup.empty()) {
        diag.errorAt("management.read_only_socket_group", "needs management.read_only_socket");
    }
    // One password for everyone, unsalted, cannot say who changed what: refused.
    if (!m.passwordHash.empty())
        diag.errorAt("management.password_hash", "one shared password is not supported: list users "
                                                 "(management.users: name, password_hash, role)");
    std::set<std::string> names;
    for (size_t i = 0; i < m.users.size(); ++i) {
        const ManagementUser& user = m.users[i];
        const std::string path = "management.users[" + std::to_string(i) + "]";
        if (user.name.empty() || user.name.size() > 64 ||
            user.name.find_first_of(": \t\r\n") != std::string::npos)
            diag.errorAt(path + ".name", "1-64 characters, no spaces or colons");
        else if (!names.insert(user.name).second)
            diag.errorAt(path + ".name", "user '" + user.name + "' is listed twice");
        // Only salted, deliberately slow hashes in crypt(3) form: yescrypt (what
        // `ringgatectl passwd` makes), bcrypt, scrypt. Plain digests are refused.
        const std::string& h = user.passwordHash;
        bool slow = h.rfind("$y$", 0) == 0 || h.rfind("$gy$", 0) == 0 || h.rfind("$7$", 0) == 0 ||
                    h.rfind("$2b$", 0) == 0 || h.rfind("$2y$", 0) == 0;
        if (!slow)
            diag.errorAt(path + ".password_hash", "not a salted slow hash (yescrypt $y$, bcrypt $2b$ or scrypt $7$); "
                                                  "make one with `ringgatectl passwd`");
    }
    if (m.listen) {
        if (m.certificate.empty())
            diag.errorAt("management.certificate", "management.listen needs a certificate (PEM) for HTTPS");
        if (m.privateKey.empty())
            diag.errorAt("management.private_key", "management.listen needs the certificate's private key (PEM)");
        if (m.users.empty())
            diag.errorAt("management.users", "management.listen needs at least one user");
    } else if (!m.users.empty() || !m.certificate.empty() || !m.privateKey.empty()) {
        diag.errorAt("management", "users, certificate and private_key are for management.listen, which is not set");
    }
}

void validateRegistry(const Config& config, Diagnostics& diag) {
    if (!config.registry) return;
    const Registry& r = *config.registry;
    if (r.endpoints.empty()) diag.errorAt("registry.endpoints", "needs at least one endpoint");
    if (r.store == RegistryStore::Postgresql && r.postgresConninfo.empty())
        diag.errorAt("registry.postgres_conninfo", "store postgresql needs a connection string");
    if (!r.keyFile.empty()) {
        std::ifstream file(r.keyFile);
        std::string key;
        if (!file || !std::getline(file, key)) diag.errorAt("registry.key_file", "cannot read " + r.keyFile);
        else if (key.size() < 16) diag.errorAt("registry.key_file", "the key in " + r.keyFile + " needs at least 16 characters");
    }
}

bool inNatPorts(uint16_t port) { return port >= kNatPortFirst && port <= kNatPortLast; }

void validateDataplane(const Config& config, Diagnostics& diag) {
    const Dataplane& d = config.dataplane;
    if (!d.enabled) return;
    // The fast path takes TCP/UDP to a node's own address on the fullnat ports; a host
    // service there would never see its traffic.
    const std::string natRange = " is in the fullnat port range " + std::to_string(kNatPortFirst) + "-" +
                                 std::to_string(kNatPortLast) + ", which the fast path takes";
    if (inNatPorts(config.cluster.port))
        diag.errorAt("cluster.port", "port " + std::to_string(config.cluster.port) + natRange);
    if (config.management.listen && inNatPorts(config.management.listen->port))
        diag.errorAt("management.listen", "port " + std::to_string(config.management.listen->port) + natRange);
    if (d.ports.empty()) diag.errorAt("dataplane.ports", "an enabled dataplane needs ports");
    if (d.lcores.empty()) diag.errorAt("dataplane.lcores", "an enabled dataplane needs an lcore");
    std::set<uint32_t> lcores;
    for (size_t i = 0; i < d.lcores.size(); ++i)
        if (!lcores.insert(d.lcores[i]).second)
            diag.errorAt(at("dataplane.lcores", i), "lcore " + std::to_string(d.lcores[i]) +
                                                        " is listed twice");
    std::map<std::string, std::string> portNames;
    std::map<std::string, std::string> interfaces;
    for (size_t i = 0; i < d.ports.size(); ++i) {
        const Port& port = d.ports[i];
        std::string path = at("dataplane.ports", i);
        auto [prev, unique] = portNames.emplace(port.name, path);
        if (!unique)
            diag.errorAt(path + ".name", "port name '" + port.name + "' is already used by " +
                                             prev->second);
        if (!config.findSubnet(port.subnet))
            diag.errorAt(path + ".subnet", "no subnet named '" + port.subnet + "'");
        switch (port.driver) {
            case PortDriver::AfXdp:
            case PortDriver::AfPacket:
                if (port.interface.empty()) {
                    diag.errorAt(path + ".interface",
                                 std::string(toString(port.driver)) + " ports need an interface");
                } else {
                    auto [other, fresh] = interfaces.emplace(port.interface, path);
                    if (!fresh)
                        diag.errorAt(path + ".interface", "interface '" + port.interface +
                                                              "' is already used by " + other->second);
                }
                break;
            case PortDriver::Pci:
                if (port.pciAddress.empty())
                    diag.errorAt(path + ".pci_address", "pci ports need a pci_address");
                break;
            case PortDriver::Pcap:
                if (port.pcapRx.empty() && port.pcapTx.empty())
                    diag.errorAt(path, "pcap ports need pcap_rx, pcap_tx or both");
                break;
            case PortDriver::Ring:
                break;
        }
    }
}

void validateFlows(const Config& config, Diagnostics& diag) {
    const Flows& f = config.flows;
    if (!f.enabled) return;
    if (f.port == 0 && config.cluster.port == 65535)
        diag.errorAt("flows.port", "cluster.port is 65535, so cluster.port + 1 does not exist: set flows.port");
    uint16_t port = f.portOr(config.cluster.port);
    if (port == config.cluster.port)
        diag.errorAt("flows.port", "port " + std::to_string(port) + " is cluster.port's; flow records need their own");
    if (config.dataplane.enabled && inNatPorts(port))
        diag.errorAt("flows.port", "port " + std::to_string(port) + " is in the fullnat port range " +
                                       std::to_string(kNatPortFirst) + "-" + std::to_string(kNatPortLast) +
                                       ", which the fast path takes");
    // Connection entries name their handler in 16 bits.
    for (size_t i = 0; i < config.cluster.nodes.size(); ++i)
        if (config.cluster.nodes[i].id > 65535)
            diag.errorAt(at("cluster.nodes", i) + ".id",
                         "node id " + std::to_string(config.cluster.nodes[i].id) +
                             " is above 65535, the largest flow records carry (or set flows.enabled: false)");
}

}  // namespace

void validate(const Config& config, Diagnostics& diag) {
    validateCluster(config, diag);
    validateSubnets(config, diag);
    validatePoolsAndServices(config, diag);
    validateHttpServices(config, diag);
    validateTimers(config, diag);
    validateLocalMonitors(config, diag);
    validateManagement(config, diag);
    validateRegistry(config, diag);
    validateDataplane(config, diag);
    validateFlows(config, diag);
}

}  // namespace ringgate::config
