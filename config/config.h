// The cluster configuration: one YAML file describes a whole ringgate cluster.
// docs/CONFIGURATION.md documents every field; loader.cpp parses and validates them.
// Every node of a cluster reads the same file and picks its own entry by node id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ipv4.h"

namespace ringgate::config {

using NodeId = uint32_t;

// Fullnat source ports of the whole cluster, split into one block per node: above the
// well-known ports and ringgate's own service ports, below the host's ephemeral range
// (32768-60999). The XDP program sends TCP/UDP to a node's own address on these ports to
// the fast path (fullnat replies), so no host service may listen on them.
constexpr uint16_t kNatPortFirst = 10000;
constexpr uint16_t kNatPortLast = 32767;

// Seed 004, Table 1: how a VIP sticks to a host.
enum class Persistence : uint8_t {
    Movable = 0,          // may move for load balancing
    StickyCurrent = 1,    // stays with its current host until that host dies
    StickyPreferred = 3,  // returns to its preferred host whenever that host lives
};

enum class Protocol : uint8_t { Tcp, Udp };
enum class NatMode : uint8_t { Dnat, FullNat };
enum class Scheduler : uint8_t { Maglev };
enum class PortDriver : uint8_t { AfXdp, AfPacket, Pcap, Ring, Pci };
enum class IdlePolicy : uint8_t { Backoff, Poll };
enum class RegistryStore : uint8_t { Sqlite, Postgresql };
enum class HealthCheckKind : uint8_t { Icmp, Tcp, Http };
enum class ServiceMode : uint8_t { L4, Http };

struct NodeAddress {
    std::string subnet;  // name of a subnet in `subnets`
    Ipv4Address address;
    bool operator==(const NodeAddress&) const = default;
};

struct Node {
    NodeId id = 0;
    std::vector<NodeAddress> addresses;  // the node's primary address on each subnet
    std::optional<Ipv4Address> addressOn(const std::string& subnet) const;
    bool operator==(const Node&) const = default;
};

struct Cluster {
    std::string name;
    uint64_t configVersion = 0;
    uint16_t port = 7100;                  // UDP port of cluster messaging on every subnet
    std::optional<std::string> sharedKey;  // HMAC key for cluster datagrams; none = no auth
    std::vector<Node> nodes;               // ring order is the order of this list
    const Node* findNode(NodeId id) const;
    bool operator==(const Cluster&) const = default;
};

struct Vip {
    Ipv4Address address;
    std::optional<NodeId> preferredHost;
    Persistence persistence = Persistence::Movable;
    bool operator==(const Vip&) const = default;
};

struct Subnet {
    std::string name;
    Ipv4Prefix prefix;
    std::vector<Vip> vips;
    bool operator==(const Subnet&) const = default;
};

struct Backend {
    Ipv4Address address;
    uint16_t port = 0;
    uint32_t weight = 1;
    bool operator==(const Backend&) const = default;
};

struct BackendPool {
    std::string name;
    bool fromRegistry = false;      // live list comes from ringgate-registry
    uint16_t port = 0;              // registry pools: every live server's port (0: the first static back end's)
    std::vector<Backend> backends;  // static members (or seeds before the registry answers)
    bool operator==(const BackendPool&) const = default;
};

// A `mode: http` service: the VIP's owner terminates the client's TCP connection and
// proxies HTTP/1.1 to the pool (control/httplink, docs/HTTP-LINK.md). Every bound below
// keeps one slow or hostile client from holding more than its share of the gateway.
struct HttpProxy {
    bool resume = false;                    // resume a failed download on another back end (Range)
    uint32_t stallMs = 2000;                // a back end silent this long mid-body has failed
    uint32_t maxResumes = 3;                // resumes per transfer before the client's connection ends
    uint32_t connectTimeoutMs = 1000;       // connecting to a back end
    uint32_t headerTimeoutMs = 10'000;      // a client's request head (and a back end's reply head)
    uint32_t idleTimeoutMs = 60'000;        // a keep-alive connection between requests
    uint32_t clientWriteTimeoutMs = 30'000; // a client that takes none of the body for this long
    uint32_t bufferBytes = 64 * 1024;       // body bytes in flight per connection
    uint32_t maxHeaderBytes = 16 * 1024;    // request or reply head
    uint32_t maxRequestBodyBytes = 1 << 20; // request bodies (POST/PUT) are read whole, up to this
    uint32_t maxConnections = 4096;         // client connections at once; more are closed at accept
    uint32_t backendHoldMs = 5000;          // a back end that failed a transfer gets no new requests
    uint32_t threads = 1;                   // proxy threads of this service (never the control thread)
    bool operator==(const HttpProxy&) const = default;
};

struct Service {
    std::string name;
    Ipv4Address vip;
    uint16_t port = 0;
    Protocol protocol = Protocol::Tcp;
    std::string pool;
    NatMode nat = NatMode::Dnat;
    Scheduler scheduler = Scheduler::Maglev;
    ServiceMode mode = ServiceMode::L4;
    HttpProxy http;  // mode http only
    bool operator==(const Service&) const = default;
};

struct Timers {
    uint32_t tokenIntervalMs = 100;      // one full rotation of the token (per-hop hold = interval / members)
    uint32_t handoffAckTimeoutMs = 40;   // wait for a hand-off acknowledgement before a resend
    uint32_t handoffRetries = 2;         // resends before the destination is declared dead
    uint32_t tokenLossTimeoutMs = 300;   // no token for this long: send a 911
    uint32_t garpRepeats = 3;            // gratuitous ARPs after a claim (burst + repeats)
    uint32_t garpIntervalMs = 200;       // spacing of the repeats
    uint32_t probeTimeoutMs = 100;       // ARP probe before claiming an unowned VIP
    bool operator==(const Timers&) const = default;
};

struct HealthCheck {
    HealthCheckKind kind = HealthCheckKind::Icmp;
    Ipv4Address target;
    uint16_t port = 0;     // tcp/http
    std::string path;      // http
    uint32_t intervalMs = 1000;
    uint32_t failures = 3;  // consecutive failures that count as down
    bool operator==(const HealthCheck&) const = default;
};

// WO 00/62502's localmonitor.cfg (Figure 5, Local Fault Monitor): what a node watches on
// itself. A monitor that fails withdraws this node from the VIPs of the subnets it
// affects (other nodes take them); when it passes again the node is eligible again.
enum class MonitorKind : uint8_t { Link, Ping, Tcp, Http };

// How often a monitor looks and how many results in a row change its verdict.
struct MonitorTiming {
    uint32_t intervalMs = 1000;
    uint32_t timeoutMs = 500;  // a probe not answered within this is a failure (< interval)
    uint32_t fall = 3;         // failures in a row that make a monitor down
    uint32_t rise = 2;         // successes in a row that make a down monitor up again
    bool operator==(const MonitorTiming&) const = default;
};

struct LocalMonitor {
    MonitorKind kind = MonitorKind::Link;
    std::string interface;             // link: the network interface that must have carrier
    Ipv4Address target;                // ping, tcp, http
    uint16_t port = 0;                 // tcp, http
    std::string path = "/";            // http: GET path; 2xx or 3xx passes
    std::vector<std::string> subnets;  // as written; empty: derived (affectedSubnets)
    MonitorTiming timing;
    bool operator==(const LocalMonitor&) const = default;
};

struct LocalMonitors {
    MonitorTiming defaults;                // the section's interval_ms, timeout_ms, fall, rise
    std::vector<LocalMonitor> monitors;    // nics, then ping_targets, then applications
    bool operator==(const LocalMonitors&) const = default;
};

// Dynamic load balancing (WO 00/62502 Figure 5, Local Load Monitor and Dynamic Load
// Balancing): a node's load in points is byte_weight per MB/s through its VIPs plus
// cpu_weight per percent of one CPU that ringgated uses; a node well below the busiest
// takes one VIP from it (vip_manager.h).
struct LoadBalancingConfig {
    bool enabled = true;
    uint32_t byteWeight = 1;           // points per MB/s (10^6 bytes/s)
    uint32_t cpuWeight = 1;            // points per percent of one CPU
    uint32_t imbalancePercent = 125;   // the busiest must carry this much more than the taker...
    uint32_t minImbalance = 1;         // ...and at least this many points more
    uint32_t cooldownMs = 5000;        // between two takes by one node
    bool operator==(const LoadBalancingConfig&) const = default;
};

struct Registry {
    std::vector<Ipv4Endpoint> endpoints;  // service address(es) of ringgate-registry
    RegistryStore store = RegistryStore::Sqlite;
    std::string sqlitePath = "/var/lib/ringgate/registry.db";
    std::string postgresConninfo;  // libpq connection string when store is postgresql
    uint16_t buddyPort = 7301;     // listener port of ringgate-buddy on each back end
    HealthCheck buddyCheck;        // how a buddy checks its buddies (ICMP by default)
    std::string keyFile;           // the pool's HMAC key (registry, agents, gateways); "" = none
    bool operator==(const Registry&) const = default;
};

// Who may use remote management (HTTPS, docs/OPERATIONS.md) and what they may do.
enum class Role : uint8_t { ReadOnly, Admin };

struct ManagementUser {
    std::string name;
    std::string passwordHash;  // crypt(3) form of a salted slow hash: yescrypt ($y$), bcrypt ($2b$), scrypt ($7$)
    Role role = Role::ReadOnly;
    bool operator==(const ManagementUser&) const = default;
};

struct Management {
    std::string socketPath = "/run/ringgate/ringgated-{node}.sock";  // {node} -> node id
    std::optional<Ipv4Endpoint> listen;  // HTTPS listener: JSON API and web console
    std::string certificate;             // PEM chain the listener presents
    std::string privateKey;              // its PEM private key
    std::vector<ManagementUser> users;   // remote users; the listener needs at least one
    uint32_t maxConnections = 32;        // HTTPS connections at once; more are closed at accept
    std::string passwordHash;            // refused: one unsalted password for all; see users
    std::string socketGroup;             // group given the socket (rw for it), "" keeps the daemon's
    // A second socket on which only commands that change nothing are answered (monitoring,
    // on-call read access), with a group of its own; "" = none.
    std::string readOnlySocketPath;
    std::string readOnlySocketGroup;
    std::string socketPathFor(NodeId node) const;
    std::string readOnlySocketPathFor(NodeId node) const;  // "" when there is none
    bool operator==(const Management&) const = default;
};

struct Port {
    std::string name;
    std::string subnet;  // which subnet this port faces
    PortDriver driver = PortDriver::AfXdp;
    std::string interface;  // af_xdp / af_packet
    std::string pciAddress; // pci
    std::string pcapRx;     // pcap
    std::string pcapTx;     // pcap
    // Not af_xdp: a TAP interface of this name hands the host OS what is not the fast
    // path's (traffic to the node's own address, broadcasts, other protocols) and sends
    // what the host transmits. Empty: no exception path (such packets are dropped).
    std::string exceptionInterface;
    uint16_t queues = 1;
    bool operator==(const Port&) const = default;
};

// How long a flow may stay idle in each state before the fast path forgets it.
struct FlowTimeouts {
    uint32_t synMs = 10'000;          // handshake not finished
    uint32_t establishedMs = 300'000;
    uint32_t finMs = 30'000;          // one side closed
    uint32_t closedMs = 2'000;        // both closed (TIME_WAIT) or reset
    uint32_t udpMs = 30'000;
    bool operator==(const FlowTimeouts&) const = default;
};

struct Dataplane {
    bool enabled = true;
    bool hugepages = false;
    uint32_t memoryMb = 512;  // EAL memory (with --no-huge when hugepages is false)
    std::vector<uint32_t> lcores = {1};
    IdlePolicy idlePolicy = IdlePolicy::Backoff;
    uint32_t idleSleepMaxUs = 1000;  // longest sleep of an idle worker
    uint32_t connectionTableSize = 1u << 20;
    FlowTimeouts timeouts;
    uint32_t neighbourTableSize = 4096;
    std::vector<Port> ports;
    bool operator==(const Dataplane&) const = default;
};

// Flows across the cluster (docs/FLOWS.md): records of every connection on two nodes,
// symmetric routing, SYN-ACK holding, adoption of a dead node's flows.
struct Flows {
    bool enabled = true;          // with two or more nodes
    uint16_t port = 0;            // UDP port of flow records on every subnet; 0: cluster.port + 1
    uint32_t holdMs = 50;         // longest a packet waits for its flow's record
    uint32_t holdPackets = 256;   // packets one worker may hold at once
    uint32_t budgetMb = 256;      // memory for records held for other nodes
    uint16_t portOr(uint16_t clusterPort) const { return port ? port : static_cast<uint16_t>(clusterPort + 1); }
    bool operator==(const Flows&) const = default;
};

struct Config {
    std::string sourcePath;
    Cluster cluster;
    std::vector<Subnet> subnets;
    std::vector<BackendPool> pools;
    std::vector<Service> services;
    Timers timers;
    LocalMonitors localMonitors;
    LoadBalancingConfig loadBalancing;
    std::optional<Registry> registry;
    Management management;
    Dataplane dataplane;
    Flows flows;

    const Subnet* findSubnet(const std::string& name) const;
    const BackendPool* findPool(const std::string& name) const;
    bool operator==(const Config&) const = default;
};

std::string_view toString(Persistence persistence);
std::string_view toString(Protocol protocol);
std::string_view toString(NatMode mode);
std::string_view toString(PortDriver driver);
std::string_view toString(ServiceMode mode);
std::string_view toString(Role role);
std::string_view toString(MonitorKind kind);

// The subnets whose VIPs a failing monitor withdraws from this node: those written, else
// for link the subnet of the dataplane port on that interface, for ping the subnet that
// holds the target, for tcp/http every subnet. Empty: none can be derived (an error).
std::vector<std::string> affectedSubnets(const Config& config, const LocalMonitor& monitor);
// "link ext0", "ping 198.18.0.254", "tcp 127.0.0.1:8081", "http 127.0.0.1:8081/health".
std::string describe(const LocalMonitor& monitor);

}  // namespace ringgate::config
