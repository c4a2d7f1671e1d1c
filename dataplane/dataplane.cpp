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
#include <filesystem>

#include "common/log.h"
#include "dataplane/eal.h"
#include "dataplane/flow_hash.h"
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

#ifdef RINGGATE_XDP_OBJECT
namespace {
// The installed ringgated loads the installed XDP object; a program run from the build
// tree (tests, benchmarks, the demo) loads the one built beside it.
std::string xdpObjectPath() {
    std::error_code ec;
    auto program = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec && program.parent_path() == RINGGATE_INSTALLED_SBINDIR) return RINGGATE_XDP_OBJECT_INSTALLED;
    return RINGGATE_XDP_OBJECT;
}
}  // namespace
#endif

DataplaneOptions defaultOptions(const config::Config& config) {
    DataplaneOptions options;
    options.timeouts = config.dataplane.timeouts;
    options.flows = config.flows.enabled && config.cluster.nodes.size() > 1;
    options.holdMs = config.flows.holdMs;
    options.holdPackets = config.flows.holdPackets;
    if (const char* program = std::getenv("RINGGATE_XDP_PROGRAM")) {
        options.xdpProgram = program;
    } else {
#ifdef RINGGATE_XDP_OBJECT
        options.xdpProgram = xdpObjectPath();
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
    : config_(config), self_(self), options_(std::move(options)) {}

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
    shared.holdMs = options_.holdMs;
    shared.holdCapacity = options_.holdPackets;
    shared.installs = &installs_;
    tscEpoch_ = rte_get_tsc_cycles();
    shared.tscEpoch = tscEpoch_;
    auto makeRing = [&](const std::string& name, size_t elementSize, unsigned size) -> Expected<rte_ring*> {
        rte_ring* ring = rte_ring_create_elem((name + tag).c_str(), static_cast<unsigned>(elementSize), size,
                                              SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (!ring) return makeError("dataplane: ring " + name + ": " + std::string(rte_strerror(rte_errno)));
        return ring;
    };
    for (unsigned w = 0; w < workers; ++w) {
        std::string suffix = "_" + std::to_string(w) + "_";
        WorkerRings rings;
        auto commands = makeRing("rg_cmd" + suffix, sizeof(uint64_t), 256);
        if (!commands) return commands.error();
        commandRings_.push_back(rings.commands = *commands);
        if (options_.flows) {
            auto in = makeRing("rg_fin" + suffix, sizeof(FlowMessage), options_.flowRingSize);
            if (!in) return in.error();
            flowsIn_.push_back(rings.flowsIn = *in);
            auto out = makeRing("rg_fout" + suffix, sizeof(FlowMessage), options_.flowRingSize);
            if (!out) return out.error();
            flowsOut_.push_back(rings.flowsOut = *out);
        }
        workers_.push_back(std::make_unique<Worker>(w, shared, rings));
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
    for (rte_ring* ring : flowsIn_) rte_ring_free(ring);
    for (rte_ring* ring : flowsOut_) rte_ring_free(ring);
    rte_mempool_free(controlPool_);
    rte_mempool_free(pool_);
    rte_free(rcu_);
}

Expected<void> Dataplane::publish() {
    SnapshotInput input{&config_, self_, portIds_, macs_, owned_, &live_, options_.maglevSize, &handOvers_,
                        &holds_, options_.flows, &members_};
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
        if (std::find(owned_.begin(), owned_.end(), vip) == owned_.end()) {
            handOvers_.erase(vip);
            holds_.erase(vip);
        }
    if (ownedObserver_ && previous != owned_) ownedObserver_(owned_);
    if (ownsPorts_) return passHostPorts(config_, owned_, options_.xdpProgram);
    return {};
}

Expected<void> Dataplane::reconfigure(const config::Config& config) {
    config::Config previous = config_;
    std::vector<Ipv4Address> previousOwned = owned_;
    LiveBackends previousLive = live_;
    config_ = config;
    std::erase_if(owned_, [&](Ipv4Address vip) {
        for (const auto& subnet : config_.subnets)
            for (const auto& v : subnet.vips)
                if (v.address == vip) return false;
        return true;
    });
    // Static pools take their new back ends; a pool that follows the registry keeps its
    // live set (the pool follower hands it again).
    LiveBackends configured = configuredBackends(config_);
    std::erase_if(live_, [&](const auto& entry) { return !config_.findPool(entry.first); });
    for (const auto& pool : config_.pools) {
        const config::BackendPool* old = previous.findPool(pool.name);
        if (!old || !pool.fromRegistry || !old->fromRegistry) live_[pool.name] = configured[pool.name];
    }
    if (ownsPorts_ && !options_.xdpProgram.empty())
        for (const auto& port : config_.dataplane.ports)
            if (port.driver == config::PortDriver::AfXdp)
                if (auto steering = configureXdp(config_, self_, port); !steering) return steering;
    if (auto ok = publish(); !ok) {
        config_ = std::move(previous);
        owned_ = std::move(previousOwned);
        live_ = std::move(previousLive);
        return ok;
    }
    if (ownedObserver_ && previousOwned != owned_) ownedObserver_(owned_);
    if (ownsPorts_) return passHostPorts(config_, owned_, options_.xdpProgram);
    return {};
}

Expected<void> Dataplane::setMembers(std::vector<uint32_t> members) {
    std::sort(members.begin(), members.end());
    if (members == members_) return {};
    std::vector<uint32_t> previous = std::move(members_);
    members_ = std::move(members);
    if (auto ok = publish(); !ok) {
        members_ = std::move(previous);
        return ok;
    }
    // Resolve the members' addresses before the first packet must go to one of them.
    for (uint32_t member : members_)
        if (const config::Node* node = config_.cluster.findNode(member); node && member != self_)
            for (const auto& address : node->addresses) (void)sendArpRequest(address.address);
    return {};
}

Expected<void> Dataplane::holdUnknownFlows(Ipv4Address vip, uint32_t durationMs) {
    uint32_t now = clockMs(tscEpoch_);
    auto held = holds_.find(vip);
    // Ending a hold that is not on (a VIP settles again after each membership change)
    // needs no new snapshot.
    if (durationMs == 0 && (held == holds_.end() || static_cast<int32_t>(held->second - now) <= 0)) return {};
    auto before = holds_;
    holds_[vip] = now + durationMs;
    if (auto ok = publish(); !ok) {
        holds_ = std::move(before);
        return ok;
    }
    return {};
}

size_t Dataplane::takeFlowMessages(std::vector<FlowMessage>& out, size_t max) {
    size_t taken = 0;
    for (rte_ring* ring : flowsOut_) {
        while (taken < max) {
            FlowMessage batch[64];
            unsigned want = static_cast<unsigned>(std::min<size_t>(64, max - taken));
            unsigned n = rte_ring_dequeue_burst_elem(ring, batch, sizeof(FlowMessage), want, nullptr);
            out.insert(out.end(), batch, batch + n);
            taken += n;
            if (n < want) break;
        }
    }
    return taken;
}

bool Dataplane::putFlowMessage(const FlowMessage& message) {
    if (flowsIn_.empty()) return false;
    // Every message about one flow goes to the same worker, in order.
    const FlowKey& k = message.forward;
    size_t worker = flowHash(k.src, k.dst, k.srcPort, k.dstPort, k.proto) % flowsIn_.size();
    FlowMessage copy = message;  // rte_ring takes a non-const pointer
    if (rte_ring_enqueue_elem(flowsIn_[worker], &copy, sizeof copy) != 0) {
        ++flowMessagesRefused_;
        return false;
    }
    return true;
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

std::optional<uint32_t> Dataplane::neighbourAgeMs(Ipv4Address address) const {
    auto found = neighbours_->lookup(address.value, clockMs(tscEpoch_));
    if (!found) return std::nullopt;
    return found->ageMs;
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

namespace {
template <typename Counters, size_t N>
report::Counts summed(const std::vector<std::unique_ptr<Worker>>& workers, const CounterField<Counters> (&fields)[N],
                      const Counters& (*select)(const WorkerCounters&, size_t), size_t index) {
    report::Counts counts;
    for (const auto& field : fields) {
        uint64_t total = 0;
        for (const auto& worker : workers) total += (select(worker->counters(), index).*field.member).get();
        counts.push_back({field.name, total});
    }
    return counts;
}
const PortCounters& portAt(const WorkerCounters& c, size_t i) { return c.ports[i]; }
const TrafficCounters& vipAt(const WorkerCounters& c, size_t i) { return c.vips[i]; }
const TrafficCounters& serviceAt(const WorkerCounters& c, size_t i) { return c.services[i]; }
const TrafficCounters& backendAt(const WorkerCounters& c, size_t i) { return c.backends[i]; }
const WorkerCounters& whole(const WorkerCounters& c, size_t) { return c; }
const FlowCounters& flowsOf(const WorkerCounters& c, size_t) { return c.flows; }
}  // namespace

report::Counts Dataplane::flowCounts() const {
    report::Counts counts = summed(workers_, kFlowCounterFields, flowsOf, 0);
    uint64_t expired = 0, full = 0;
    for (unsigned port = 0; port < portIds_.size(); ++port) {
        expired += portDrops(port, DropReason::HoldExpired);
        full += portDrops(port, DropReason::HoldFull);
    }
    counts.push_back({"hold_expired", expired});
    counts.push_back({"hold_full", full});
    return counts;
}

std::vector<ServiceStats> Dataplane::serviceStats() const {
    const Snapshot& snap = *current_.load();
    std::vector<ServiceStats> out;
    for (size_t s = 0; s < config_.services.size(); ++s) {
        const config::Service& service = config_.services[s];
        ServiceStats stats{service.name, service.vip.toString(), service.port,
                           std::string(config::toString(service.protocol)), std::string(config::toString(service.nat)),
                           summed(workers_, kTrafficCounterFields, serviceAt, s), 0};
        for (const auto& view : snap.services)
            if (view.counterIndex == s) stats.liveBackends = view.backends.size();
        out.push_back(std::move(stats));
    }
    return out;
}

DataplaneStats Dataplane::stats() const {
    const Snapshot& snap = *current_.load();
    DataplaneStats out;
    for (size_t p = 0; p < portIds_.size(); ++p) {
        PortStats port{config_.dataplane.ports[p].name, macs_[p].toString(),
                       summed(workers_, kPortCounterFields, portAt, p), {}};
        for (size_t r = 1; r < kDropReasonCount; ++r)
            port.drops.push_back({std::string(toString(static_cast<DropReason>(r))),
                                  portDrops(static_cast<unsigned>(p), static_cast<DropReason>(r))});
        out.ports.push_back(std::move(port));
    }
    size_t vipIndex = 0;
    for (const auto& subnet : config_.subnets)
        for (const auto& vip : subnet.vips) {
            out.vips.push_back({vip.address.toString(), snap.findOwnedVip(vip.address.value) != nullptr,
                                summed(workers_, kTrafficCounterFields, vipAt, vipIndex)});
            ++vipIndex;
        }
    out.services = serviceStats();
    for (size_t b = 0; b < slots_.entries().size(); ++b) {
        const auto& entry = slots_.entries()[b];
        const auto& live = live_.count(entry.pool) ? live_.at(entry.pool) : std::vector<config::Backend>{};
        bool isLive = std::any_of(live.begin(), live.end(), [&](const config::Backend& x) {
            return x.address == entry.address && x.port == entry.port;
        });
        out.backends.push_back({entry.pool, entry.address.toString(), entry.port, isLive,
                                summed(workers_, kTrafficCounterFields, backendAt, b)});
    }
    out.connections = {{"active", table_->size(), true}, {"capacity", table_->capacity(), true}};
    for (const report::Count& c : summed(workers_, kWorkerCounterFields, whole, 0)) out.connections.push_back(c);
    out.connections.push_back({"memory_bytes", table_->memoryBytes(), true});
    // New flows refused because their keys' index neighbourhood was full (also counted
    // in the table_full drops): should stay 0; growth means a flood aimed at the index.
    out.connections.push_back({"full_neighbourhood", table_->neighbourhoodFull(), false});
    out.neighbours = neighbours_->list(clockMs(tscEpoch_)).size();
    if (options_.flows) out.flows = flowCounts();
    return out;
}

}  // namespace ringgate::dataplane
