#include "dataplane/dataplane.h"

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "common/json_writer.h"
#include "common/log.h"
#include "dataplane/eal.h"
#ifdef RINGGATE_HAVE_BPF
#include "bpf/xdp_maps.h"
#endif

namespace ringgate::dataplane {

namespace {
std::atomic<unsigned> instanceSerial{0};

int launchWorker(void* arg) {
    auto* self = static_cast<std::pair<Worker*, const std::atomic<bool>*>*>(arg);
    self->first->run(*self->second);
    delete self;
    return 0;
}


std::string percent(size_t part, size_t whole) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f%%", whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
    return text;
}

// Creates the DPDK port of a configured port (a virtual device, or a PCI device the EAL
// already probed) and returns its id.
Expected<uint16_t> createPort(const config::Port& port, size_t index, unsigned queues,
                              const std::string& xdpProgram) {
    uint16_t portId = 0;
    if (port.driver == config::PortDriver::Pci) {
        if (rte_eth_dev_get_port_by_name(port.pciAddress.c_str(), &portId) != 0)
            return makeError("port " + port.name + ": PCI device " + port.pciAddress +
                             " is not bound to a DPDK driver");
        return portId;
    }
    std::string devargs = vdevArguments(port, index, queues, xdpProgram);
    std::string name = devargs.substr(0, devargs.find(','));
    std::string args = devargs.find(',') == std::string::npos ? "" : devargs.substr(devargs.find(',') + 1);
    if (rte_vdev_init(name.c_str(), args.c_str()) != 0)
        return makeError("port " + port.name + ": create " + devargs + ": " + rte_strerror(rte_errno) +
                         (port.interface.empty() ? "" : " (does interface " + port.interface + " exist?)"));
    if (rte_eth_dev_get_port_by_name(name.c_str(), &portId) != 0)
        return makeError("port " + port.name + ": " + name + " created no ethdev");
    return portId;
}
}  // namespace

DataplaneOptions defaultOptions(const config::Config& config) {
    DataplaneOptions options;
    options.timeouts = config.dataplane.timeouts;
    if (const char* program = std::getenv("RINGGATE_XDP_PROGRAM")) {
        options.xdpProgram = program;
    } else {
#ifdef RINGGATE_XDP_OBJECT
        options.xdpProgram = RINGGATE_XDP_OBJECT;
#endif
    }
    return options;
}

namespace {
// Tells ringgate's XDP program on an AF_XDP port which addresses are VIPs (to the fast
// path) and which are the node's own (to the host).
Expected<void> configureXdp(const config::Config& config, config::NodeId self, const config::Port& port) {
#ifdef RINGGATE_HAVE_BPF
    bpf::XdpAddresses addresses;
    for (const auto& subnet : config.subnets)
        for (const auto& vip : subnet.vips) addresses.vips.push_back(vip.address.value);
    if (const config::Node* node = config.cluster.findNode(self))
        for (const auto& a : node->addresses) addresses.locals.push_back(a.address.value);
    PortBlock nat = natPortBlock(config.cluster, self);
    addresses.natPortFirst = nat.first;
    addresses.natPortLast = nat.last;
    auto ok = bpf::configureAttachedXdp(port.interface, addresses);
    if (!ok) return makeError("port " + port.name + ": " + ok.error().message);
#else
    (void)config;
    (void)self;
    (void)port;
    RG_WARN(Dataplane, "port %s: built without libbpf; the PMD's default XDP program sends all traffic "
                       "to the fast path", port.name.c_str());
#endif
    return {};
}
// mode http services of the VIPs this node owns: ringgate's XDP program passes their TCP
// to the host stack, where the HTTP proxy (control/httplink) listens. Non-owners keep
// none, so a VIP's connections reach its owner's proxy only.
Expected<void> passHostPorts(const config::Config& config, const std::vector<Ipv4Address>& owned,
                             const std::string& xdpProgram) {
#ifdef RINGGATE_HAVE_BPF
    if (xdpProgram.empty()) return {};
    std::vector<Ipv4Endpoint> ports;
    for (const config::Service& service : config.services)
        if (service.mode == config::ServiceMode::Http &&
            std::find(owned.begin(), owned.end(), service.vip) != owned.end())
            ports.push_back({service.vip, service.port});
    for (const config::Port& port : config.dataplane.ports) {
        if (port.driver != config::PortDriver::AfXdp) continue;
        if (auto ok = bpf::setAttachedHostPorts(port.interface, ports); !ok)
            return makeError("port " + port.name + ": " + ok.error().message);
    }
#else
    (void)config;
    (void)owned;
    (void)xdpProgram;
#endif
    return {};
}
// The TAP interface through which the host OS sends and receives the traffic of a PMD
// port that is not the fast path's. It carries the port's MAC so that the host's ARP
// answers and frames are the port's own.
Expected<int> createExceptionPort(const config::Port& port, size_t index, uint16_t portId) {
    if (port.exceptionInterface.size() > 15)
        return makeError("port " + port.name + ": exception_interface '" + port.exceptionInterface +
                         "' is longer than 15 characters");
    rte_ether_addr mac{};
    rte_eth_macaddr_get(portId, &mac);
    std::string name = "net_tap" + std::to_string(index);
    std::string args = "iface=" + port.exceptionInterface + ",mac=" + MacAddress::load(mac.addr_bytes).toString();
    if (rte_vdev_init(name.c_str(), args.c_str()) != 0)
        return makeError("port " + port.name + ": exception interface " + port.exceptionInterface + ": " +
                         rte_strerror(rte_errno));
    uint16_t id = 0;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0)
        return makeError("port " + port.name + ": " + name + " created no ethdev");
    return static_cast<int>(id);
}
}  // namespace

Dataplane::Dataplane(const config::Config& config, config::NodeId self, DataplaneOptions options)
    : config_(config), self_(self), options_(std::move(options)),
      lastStatsAt_(std::chrono::steady_clock::now()) {}

Expected<std::unique_ptr<Dataplane>> Dataplane::start(const config::Config& config, config::NodeId self,
                                                      DataplaneOptions options) {
    auto eal = initEal(ealArguments(config, self));
    if (!eal) return eal.error();
    std::unique_ptr<Dataplane> dataplane(new Dataplane(config, self, std::move(options)));
    std::vector<uint16_t> portIds;
    unsigned queues = static_cast<unsigned>(std::max<size_t>(config.dataplane.lcores.size(), 1));
    for (size_t i = 0; i < config.dataplane.ports.size(); ++i) {
        const config::Port& configured = config.dataplane.ports[i];
#ifdef RINGGATE_HAVE_BPF
        // A killed predecessor's program is still attached (dropping VIP traffic: fail
        // closed); ours can only attach once it is gone.
        if (configured.driver == config::PortDriver::AfXdp && !dataplane->options_.xdpProgram.empty())
            if (auto detached = bpf::detachStaleXdp(configured.interface); !detached)
                return makeError("port " + configured.name + ": " + detached.error().message);
#endif
        auto port = createPort(configured, i, queues, dataplane->options_.xdpProgram);
        if (!port) return port.error();
        portIds.push_back(*port);
        int exception = -1;
        if (!configured.exceptionInterface.empty() && configured.driver != config::PortDriver::AfXdp) {
            auto tap = createExceptionPort(configured, i, *port);
            if (!tap) return tap.error();
            exception = *tap;
        }
        dataplane->exceptionIds_.push_back(exception);
    }
    dataplane->ownsPorts_ = true;
    auto ok = dataplane->init(std::move(portIds));
    if (!ok) return ok.error();
    return dataplane;
}

Expected<std::unique_ptr<Dataplane>> Dataplane::startOnPorts(const config::Config& config, config::NodeId self,
                                                             std::vector<uint16_t> portIds,
                                                             DataplaneOptions options) {
    std::unique_ptr<Dataplane> dataplane(new Dataplane(config, self, std::move(options)));
    auto ok = dataplane->init(std::move(portIds));
    if (!ok) return ok.error();
    return dataplane;
}

Expected<void> Dataplane::init(std::vector<uint16_t> portIds) {
    const config::Dataplane& dp = config_.dataplane;
    if (portIds.size() != dp.ports.size())
        return makeError("dataplane: " + std::to_string(dp.ports.size()) + " ports configured, " +
                         std::to_string(portIds.size()) + " given");
    portIds_ = std::move(portIds);
    unsigned serial = instanceSerial++;
    std::string tag = std::to_string(serial);
    unsigned workers = static_cast<unsigned>(std::max<size_t>(dp.lcores.size(), 1));

    size_t rcuBytes = rte_rcu_qsbr_get_memsize(workers);
    rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc(("rg_rcu" + tag).c_str(), rcuBytes, 64));
    if (!rcu_ || rte_rcu_qsbr_init(rcu_, workers) != 0) return makeError("dataplane: RCU state: out of memory");
    for (unsigned w = 0; w < workers; ++w) rte_rcu_qsbr_thread_register(rcu_, w);

    unsigned mbufs = static_cast<unsigned>(std::max<size_t>(8191, portIds_.size() * workers * 4096 + 2047));
    pool_ = rte_pktmbuf_pool_create(("rg_mbuf" + tag).c_str(), mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    static_cast<int>(rte_socket_id()));
    controlPool_ = rte_pktmbuf_pool_create(("rg_ctl" + tag).c_str(), 1023, 32, 0, 256,
                                           static_cast<int>(rte_socket_id()));
    if (!pool_ || !controlPool_)
        return makeError("dataplane: mbuf pool of " + std::to_string(mbufs) + " buffers: " +
                         rte_strerror(rte_errno) + " (raise dataplane.memory_mb)");

    auto configure = [&](uint16_t id, const std::string& name) -> Expected<MacAddress> {
        rte_eth_conf conf{};
        if (int rc = rte_eth_dev_configure(id, static_cast<uint16_t>(workers), static_cast<uint16_t>(workers), &conf); rc != 0)
            return makeError("port " + name + ": configure " + std::to_string(workers) + " queues: " + rte_strerror(-rc));
        unsigned socket = static_cast<unsigned>(std::max(rte_eth_dev_socket_id(id), 0));
        for (unsigned q = 0; q < workers; ++q) {
            if (int rc = rte_eth_rx_queue_setup(id, static_cast<uint16_t>(q), 0, socket, nullptr, pool_); rc != 0)
                return makeError("port " + name + ": RX queue " + std::to_string(q) + ": " + rte_strerror(-rc));
            if (int rc = rte_eth_tx_queue_setup(id, static_cast<uint16_t>(q), 0, socket, nullptr); rc != 0)
                return makeError("port " + name + ": TX queue " + std::to_string(q) + ": " + rte_strerror(-rc));
        }
        if (int rc = rte_eth_dev_start(id); rc != 0)
            return makeError("port " + name + ": start: " + rte_strerror(-rc));
        rte_eth_promiscuous_enable(id);  // not every PMD has it; nothing depends on it
        rte_ether_addr mac{};
        rte_eth_macaddr_get(id, &mac);
        return MacAddress::load(mac.addr_bytes);
    };
    for (size_t i = 0; i < portIds_.size(); ++i) {
        const std::string& name = dp.ports[i].name;
        auto mac = configure(portIds_[i], name);
        if (!mac) return mac.error();
        macs_.push_back(*mac);
        // The AF_XDP PMD loads the XDP program when it sets up the queues: fill its maps now.
        if (ownsPorts_ && dp.ports[i].driver == config::PortDriver::AfXdp && !options_.xdpProgram.empty()) {
            auto steering = configureXdp(config_, self_, dp.ports[i]);
            if (!steering) return steering;
        }
        if (i < exceptionIds_.size() && exceptionIds_[i] >= 0) {
            auto tap = configure(static_cast<uint16_t>(exceptionIds_[i]), name + " exception interface");
            if (!tap) return tap.error();
        }
        RG_INFO(Dataplane, "port %s: DPDK port %u, MAC %s, %u queue(s)%s%s", name.c_str(), portIds_[i],
                macs_.back().toString().c_str(), workers,
                dp.ports[i].exceptionInterface.empty() ? "" : ", host traffic through ",
                dp.ports[i].exceptionInterface.c_str());
    }

    ConnectionTableConfig tableConfig{"rg_conn" + tag, dp.connectionTableSize, workers};
    auto table = ConnectionTable::create(tableConfig, rcu_);
    if (!table) return table.error();
    table_ = std::move(*table);
    neighbours_ = std::make_unique<NeighbourTable>(dp.neighbourTableSize, options_.neighbourTimers);

    owned_ = staticOwnedVips(config_, self_);
    live_ = configuredBackends(config_);
    if (auto ok = publish(); !ok) return ok;

    WorkerShared shared;
    shared.table = table_.get();
    shared.neighbours = neighbours_.get();
    shared.snapshot = &current_;
    shared.rcu = rcu_;
    shared.pool = controlPool_;
    shared.timeouts = options_.timeouts;
    for (size_t i = 0; i < portIds_.size(); ++i) {
        shared.portIds[i] = portIds_[i];
        if (i < exceptionIds_.size() && exceptionIds_[i] >= 0) {
            shared.hasException[i] = true;
            shared.exceptionIds[i] = static_cast<uint16_t>(exceptionIds_[i]);
        }
    }
    shared.portCount = static_cast<unsigned>(portIds_.size());
    shared.workers = workers;
    shared.idleBackoff = dp.idlePolicy == config::IdlePolicy::Backoff;
    shared.idleSleepMaxUs = dp.idleSleepMaxUs;
    tscEpoch_ = rte_get_tsc_cycles();
    shared.tscEpoch = tscEpoch_;
    for (unsigned w = 0; w < workers; ++w) {
        rte_ring* ring = rte_ring_create_elem(("rg_cmd" + tag + "_" + std::to_string(w)).c_str(), sizeof(uint64_t),
                                              256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (!ring) return makeError("dataplane: command ring: " + std::string(rte_strerror(rte_errno)));
        commandRings_.push_back(ring);
        workers_.push_back(std::make_unique<Worker>(w, shared, ring));
    }

    // Resolve every back end before the first flow needs it.
    for (const auto& [pool, backends] : live_)
        for (const auto& backend : backends) (void)sendArpRequest(backend.address);

    if (options_.launchWorkers) {
        for (unsigned w = 0; w < workers; ++w) {
            unsigned lcore = dp.lcores.empty() ? 1 : dp.lcores[w];
            if (!rte_lcore_is_enabled(lcore) || lcore == rte_get_main_lcore())
                return makeError("dataplane: lcore " + std::to_string(lcore) + " is not an EAL worker lcore");
            auto* arg = new std::pair<Worker*, const std::atomic<bool>*>(workers_[w].get(), &stop_);
            if (rte_eal_remote_launch(launchWorker, arg, lcore) != 0) {
                delete arg;
                return makeError("dataplane: lcore " + std::to_string(lcore) + " is busy");
            }
            lcores_.push_back(lcore);
        }
        RG_INFO(Dataplane, "%u worker(s) running; %zu VIP(s) owned; connection table %u entries (~%zu MiB)",
                workers, owned_.size(), dp.connectionTableSize, table_->memoryBytes() >> 20);
    }
    return {};
}

void Dataplane::stopWorkers() {
    stop_ = true;
    for (unsigned lcore : lcores_) rte_eal_wait_lcore(lcore);
    lcores_.clear();
}

Dataplane::~Dataplane() {
    stopWorkers();
    for (size_t i = 0; i < portIds_.size() && i < macs_.size(); ++i) {
        rte_eth_dev_stop(portIds_[i]);
        if (ownsPorts_) rte_eth_dev_close(portIds_[i]);
    }
    for (int tap : exceptionIds_) {
        if (tap < 0) continue;
        rte_eth_dev_stop(static_cast<uint16_t>(tap));
        rte_eth_dev_close(static_cast<uint16_t>(tap));
    }
    workers_.clear();
    table_.reset();
    delete current_.exchange(nullptr);
    for (rte_ring* ring : commandRings_) rte_ring_free(ring);
    rte_mempool_free(controlPool_);
    rte_mempool_free(pool_);
    rte_free(rcu_);
}

Expected<void> Dataplane::publish() {
    SnapshotInput input{&config_, self_, portIds_, macs_, owned_, &live_, options_.maglevSize, &handOvers_};
    auto built = buildSnapshot(input, slots_);
    if (!built) return built.error();
    const Snapshot* old = current_.exchange(new Snapshot(std::move(*built)), std::memory_order_acq_rel);
    if (old) {
        // Every worker passes a quiescent state (or is asleep, offline) before the old
        // snapshot goes: at most one loop pass.
        rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
        delete old;
    }
    return {};
}

Expected<void> Dataplane::setOwnedVips(std::vector<Ipv4Address> vips) {
    std::vector<Ipv4Address> previous = std::move(owned_);
    owned_ = std::move(vips);
    if (auto ok = publish(); !ok) {
        owned_ = std::move(previous);
        return ok;
    }
    // A released VIP's hand-over ends with it (a later claim names its own peer).
    for (Ipv4Address vip : previous)
        if (std::find(owned_.begin(), owned_.end(), vip) == owned_.end()) handOvers_.erase(vip);
    if (ownsPorts_) return passHostPorts(config_, owned_, options_.xdpProgram);
    return {};
}

Expected<void> Dataplane::handOverFrom(Ipv4Address vip, std::optional<Ipv4Address> peer, uint32_t durationMs) {
    auto before = handOvers_;
    if (peer) handOvers_[vip] = HandOver{*peer, clockMs(tscEpoch_) + durationMs};
    else handOvers_.erase(vip);
    if (auto ok = publish(); !ok) {
        handOvers_ = std::move(before);
        return ok;
    }
    if (!peer) return {};
    return sendArpRequest(*peer);  // resolved before the first segment needs it
}

Expected<void> Dataplane::setLiveBackends(const std::string& pool, std::vector<config::Backend> live) {
    if (!config_.findPool(pool)) return makeError("no pool named '" + pool + "'");
    std::vector<config::Backend> previous = std::move(live_[pool]);
    live_[pool] = std::move(live);
    if (auto ok = publish(); !ok) {
        live_[pool] = std::move(previous);
        return ok;
    }
    for (const auto& backend : live_[pool]) (void)sendArpRequest(backend.address);
    return {};
}

Expected<void> Dataplane::command(WorkerCommand type, Ipv4Address address) {
    int port = current_.load()->portFacing(address.value);
    if (port < 0) return makeError(address.toString() + " is on no dataplane port's subnet");
    uint64_t element = packCommand(type, static_cast<unsigned>(port), address.value);
    if (rte_ring_enqueue_elem(commandRings_[0], &element, sizeof element) != 0)
        return makeError("dataplane command queue full");
    return {};
}

Expected<void> Dataplane::sendGratuitousArp(Ipv4Address vip) {
    if (std::find(owned_.begin(), owned_.end(), vip) == owned_.end())
        return makeError("VIP " + vip.toString() + " is not owned by this node");
    return command(WorkerCommand::GratuitousArp, vip);
}

Expected<void> Dataplane::sendArpRequest(Ipv4Address address) {
    return command(WorkerCommand::ArpRequest, address);
}

std::optional<MacAddress> Dataplane::neighbourOf(Ipv4Address address) const {
    auto found = neighbours_->lookup(address.value, clockMs(tscEpoch_));
    if (!found) return std::nullopt;
    return found->mac;
}

std::vector<std::pair<Ipv4Address, uint64_t>> Dataplane::vipBytes() const {
    std::vector<std::pair<Ipv4Address, uint64_t>> bytes;
    uint16_t index = 0;
    for (const auto& subnet : config_.subnets)
        for (const auto& vip : subnet.vips) {
            uint64_t total = 0;
            for (const auto& worker : workers_) total += worker->counters().vips[index].bytes.get();
            bytes.emplace_back(vip.address, total);
            ++index;
        }
    return bytes;
}

uint64_t Dataplane::sumPorts(unsigned port, Counter PortCounters::* field) const {
    uint64_t total = 0;
    for (const auto& worker : workers_) total += (worker->counters().ports[port].*field).get();
    return total;
}

uint64_t Dataplane::portDrops(unsigned port, DropReason reason) const {
    uint64_t total = 0;
    for (const auto& worker : workers_)
        total += worker->counters().ports[port].drops[static_cast<size_t>(reason)].get();
    return total;
}

std::vector<ServiceStats> Dataplane::serviceStats() const {
    auto now = std::chrono::steady_clock::now();
    double seconds = std::chrono::duration<double>(now - lastStatsAt_).count();
    lastNewFlows_.resize(config_.services.size(), 0);
    const Snapshot& snap = *current_.load();
    std::vector<ServiceStats> out;
    for (size_t s = 0; s < config_.services.size(); ++s) {
        ServiceStats stats;
        stats.name = config_.services[s].name;
        for (const auto& worker : workers_) {
            const TrafficCounters& c = worker->counters().services[s];
            stats.packets += c.packets.get();
            stats.bytes += c.bytes.get();
            stats.newFlows += c.newFlows.get();
        }
        stats.newFlowsPerSecond = seconds > 0 ? static_cast<double>(stats.newFlows - lastNewFlows_[s]) / seconds : 0;
        lastNewFlows_[s] = stats.newFlows;
        for (const auto& view : snap.services)
            if (view.counterIndex == s) stats.liveBackends = view.backends.size();
        out.push_back(stats);
    }
    lastStatsAt_ = now;
    return out;
}

namespace {
struct Totals {
    uint64_t packets = 0, bytes = 0, newFlows = 0;
};
template <typename Select>
Totals sum(const std::vector<std::unique_ptr<Worker>>& workers, Select select) {
    Totals t;
    for (const auto& worker : workers) {
        const TrafficCounters& c = select(worker->counters());
        t.packets += c.packets.get();
        t.bytes += c.bytes.get();
        t.newFlows += c.newFlows.get();
    }
    return t;
}
}  // namespace

std::string Dataplane::statsJson() const {
    const Snapshot& snap = *current_.load();
    JsonWriter json;
    json.beginObject();
    json.key("ports").beginArray();
    for (size_t i = 0; i < portIds_.size(); ++i) {
        unsigned p = static_cast<unsigned>(i);
        json.beginObject()
            .field("name", config_.dataplane.ports[i].name)
            .field("mac", macs_[i].toString())
            .field("rx_packets", sumPorts(p, &PortCounters::rxPackets))
            .field("rx_bytes", sumPorts(p, &PortCounters::rxBytes))
            .field("tx_packets", sumPorts(p, &PortCounters::txPackets))
            .field("tx_bytes", sumPorts(p, &PortCounters::txBytes))
            .field("arp_in", sumPorts(p, &PortCounters::arpIn))
            .field("arp_replies", sumPorts(p, &PortCounters::arpReplies))
            .field("arp_requests_sent", sumPorts(p, &PortCounters::arpRequestsSent))
            .field("gratuitous_arps_sent", sumPorts(p, &PortCounters::gratuitousArpsSent))
            .field("icmp_echo_replies", sumPorts(p, &PortCounters::icmpEchoReplies))
            .field("to_host", sumPorts(p, &PortCounters::toHost))
            .field("from_host", sumPorts(p, &PortCounters::fromHost))
            .field("handed_to_peer", sumPorts(p, &PortCounters::handedToPeer));
        json.key("drops").beginObject();
        for (size_t r = 1; r < kDropReasonCount; ++r)
            json.field(toString(static_cast<DropReason>(r)), portDrops(p, static_cast<DropReason>(r)));
        json.endObject().endObject();
    }
    json.endArray();
    json.key("vips").beginArray();
    uint16_t vipIndex = 0;
    for (const auto& subnet : config_.subnets) {
        for (const auto& vip : subnet.vips) {
            uint16_t index = vipIndex++;
            Totals t = sum(workers_, [&](const WorkerCounters& c) -> const TrafficCounters& { return c.vips[index]; });
            json.beginObject()
                .field("address", vip.address.toString())
                .field("owned", snap.findOwnedVip(vip.address.value) != nullptr)
                .field("packets", t.packets)
                .field("bytes", t.bytes)
                .field("new_flows", t.newFlows)
                .endObject();
        }
    }
    json.endArray();
    json.key("services").beginArray();
    auto services = serviceStats();
    for (size_t s = 0; s < services.size(); ++s) {
        const config::Service& service = config_.services[s];
        json.beginObject()
            .field("name", services[s].name)
            .field("vip", service.vip.toString())
            .field("port", static_cast<uint64_t>(service.port))
            .field("protocol", config::toString(service.protocol))
            .field("nat", config::toString(service.nat))
            .field("packets", services[s].packets)
            .field("bytes", services[s].bytes)
            .field("new_flows", services[s].newFlows)
            .field("new_flows_per_second", services[s].newFlowsPerSecond)
            .field("live_backends", static_cast<uint64_t>(services[s].liveBackends))
            .endObject();
    }
    json.endArray();
    json.key("backends").beginArray();
    for (size_t b = 0; b < slots_.entries().size(); ++b) {
        const auto& entry = slots_.entries()[b];
        Totals t = sum(workers_, [&](const WorkerCounters& c) -> const TrafficCounters& { return c.backends[b]; });
        const auto& live = live_.count(entry.pool) ? live_.at(entry.pool) : std::vector<config::Backend>{};
        bool isLive = std::any_of(live.begin(), live.end(), [&](const config::Backend& x) {
            return x.address == entry.address && x.port == entry.port;
        });
        json.beginObject()
            .field("pool", entry.pool)
            .field("address", entry.address.toString())
            .field("port", static_cast<uint64_t>(entry.port))
            .field("live", isLive)
            .field("packets", t.packets)
            .field("bytes", t.bytes)
            .field("new_flows", t.newFlows)
            .endObject();
    }
    json.endArray();
    uint64_t expired = 0;
    for (const auto& worker : workers_) expired += worker->counters().expired.get();
    json.key("connections").beginObject()
        .field("active", static_cast<uint64_t>(table_->size()))
        .field("capacity", static_cast<uint64_t>(table_->capacity()))
        .field("expired", expired)
        .field("memory_bytes", static_cast<uint64_t>(table_->memoryBytes()))
        .endObject();
    json.field("neighbours", static_cast<uint64_t>(neighbours_->list(clockMs(tscEpoch_)).size()));
    json.endObject();
    return json.str() + "\n";
}

std::string Dataplane::statsText() const {
    const Snapshot& snap = *current_.load();
    std::string out;
    char line[512];
    out += "ports\n";
    for (size_t i = 0; i < portIds_.size(); ++i) {
        unsigned p = static_cast<unsigned>(i);
        std::snprintf(line, sizeof line, "  %-8s rx %llu pkts %llu B  tx %llu pkts %llu B  arp replies %llu  echo replies %llu\n",
                      config_.dataplane.ports[i].name.c_str(),
                      static_cast<unsigned long long>(sumPorts(p, &PortCounters::rxPackets)),
                      static_cast<unsigned long long>(sumPorts(p, &PortCounters::rxBytes)),
                      static_cast<unsigned long long>(sumPorts(p, &PortCounters::txPackets)),
                      static_cast<unsigned long long>(sumPorts(p, &PortCounters::txBytes)),
                      static_cast<unsigned long long>(sumPorts(p, &PortCounters::arpReplies)),
                      static_cast<unsigned long long>(sumPorts(p, &PortCounters::icmpEchoReplies)));
        out += line;
        std::string drops;
        for (size_t r = 1; r < kDropReasonCount; ++r)
            if (uint64_t n = portDrops(p, static_cast<DropReason>(r)))
                drops += " " + std::string(toString(static_cast<DropReason>(r))) + "=" + std::to_string(n);
        if (!drops.empty()) out += "           drops" + drops + "\n";
        if (uint64_t n = sumPorts(p, &PortCounters::handedToPeer))
            out += "           handed to peer " + std::to_string(n) + "\n";
    }
    out += "vips\n";
    uint16_t vipIndex = 0;
    for (const auto& subnet : config_.subnets) {
        for (const auto& vip : subnet.vips) {
            uint16_t index = vipIndex++;
            Totals t = sum(workers_, [&](const WorkerCounters& c) -> const TrafficCounters& { return c.vips[index]; });
            std::snprintf(line, sizeof line, "  %-15s %-9s %llu pkts %llu B %llu new flows\n",
                          vip.address.toString().c_str(), snap.findOwnedVip(vip.address.value) ? "owned" : "not owned",
                          static_cast<unsigned long long>(t.packets), static_cast<unsigned long long>(t.bytes),
                          static_cast<unsigned long long>(t.newFlows));
            out += line;
        }
    }
    out += "services\n";
    auto services = serviceStats();
    for (size_t s = 0; s < services.size(); ++s) {
        const config::Service& service = config_.services[s];
        std::snprintf(line, sizeof line, "  %-10s %s:%u/%s %-7s %llu pkts %llu B %llu new flows (%.0f/s) %zu live back ends\n",
                      services[s].name.c_str(), service.vip.toString().c_str(), service.port,
                      std::string(config::toString(service.protocol)).c_str(),
                      std::string(config::toString(service.nat)).c_str(),
                      static_cast<unsigned long long>(services[s].packets),
                      static_cast<unsigned long long>(services[s].bytes),
                      static_cast<unsigned long long>(services[s].newFlows), services[s].newFlowsPerSecond,
                      services[s].liveBackends);
        out += line;
    }
    out += "backends\n";
    for (size_t b = 0; b < slots_.entries().size(); ++b) {
        const auto& entry = slots_.entries()[b];
        Totals t = sum(workers_, [&](const WorkerCounters& c) -> const TrafficCounters& { return c.backends[b]; });
        std::snprintf(line, sizeof line, "  %-10s %s:%u %llu pkts %llu B %llu new flows\n", entry.pool.c_str(),
                      entry.address.toString().c_str(), entry.port, static_cast<unsigned long long>(t.packets),
                      static_cast<unsigned long long>(t.bytes), static_cast<unsigned long long>(t.newFlows));
        out += line;
    }
    std::snprintf(line, sizeof line, "connections %zu / %zu (%s), table ~%zu MiB\nneighbours %zu\n", table_->size(),
                  table_->capacity(), percent(table_->size(), table_->capacity()).c_str(),
                  table_->memoryBytes() >> 20, neighbours_->list(clockMs(tscEpoch_)).size());
    out += line;
    return out;
}

}  // namespace ringgate::dataplane
