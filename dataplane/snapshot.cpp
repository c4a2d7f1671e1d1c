#include "dataplane/snapshot.h"

#include <algorithm>

#include "dataplane/maglev.h"

namespace ringgate::dataplane {

namespace {
// Fullnat source ports (config::kNatPortFirst..Last: clear of host service ports, so the
// XDP program can send replies to this node's own address on them to the fast path).
constexpr uint32_t kFirstNatPort = config::kNatPortFirst;
constexpr uint32_t kPortSpace = uint32_t{config::kNatPortLast} + 1;

uint8_t protoNumber(config::Protocol protocol) {
    return protocol == config::Protocol::Tcp ? kProtoTcp : kProtoUdp;
}

// VIP counter indices follow the configuration: subnets in order, VIPs in order.
std::map<uint32_t, uint16_t> vipIndices(const config::Config& config) {
    std::map<uint32_t, uint16_t> indices;
    for (const auto& subnet : config.subnets)
        for (const auto& vip : subnet.vips)
            indices.emplace(vip.address.value, static_cast<uint16_t>(indices.size()));
    return indices;
}
}  // namespace

PortBlock natPortBlock(const config::Cluster& cluster, config::NodeId self) {
    size_t nodes = std::max<size_t>(cluster.nodes.size(), 1);
    size_t position = 0;
    for (size_t i = 0; i < cluster.nodes.size(); ++i)
        if (cluster.nodes[i].id == self) position = i;
    uint32_t size = static_cast<uint32_t>((kPortSpace - kFirstNatPort) / nodes);
    uint32_t first = kFirstNatPort + static_cast<uint32_t>(position) * size;
    return {static_cast<uint16_t>(first), static_cast<uint16_t>(first + size - 1)};
}

PortBlock workerSlice(PortBlock block, unsigned worker, unsigned workers) {
    uint32_t size = (uint32_t{block.last} - block.first + 1) / std::max(workers, 1u);
    uint32_t first = block.first + worker * size;
    return {static_cast<uint16_t>(first), static_cast<uint16_t>(first + size - 1)};
}

bool Snapshot::isClusterVip(uint32_t address) const {
    return std::binary_search(clusterVips.begin(), clusterVips.end(), address);
}

const VipView* Snapshot::findOwnedVip(uint32_t address) const {
    auto it = std::lower_bound(ownedVips.begin(), ownedVips.end(), address,
                               [](const VipView& v, uint32_t a) { return v.address < a; });
    return it != ownedVips.end() && it->address == address ? &*it : nullptr;
}

const ServiceView* Snapshot::findService(uint32_t vip, uint16_t port, uint8_t proto) const {
    for (const auto& service : services)
        if (service.vip == vip && service.port == port && service.proto == proto) return &service;
    return nullptr;
}

int Snapshot::portFacing(uint32_t address) const {
    for (size_t i = 0; i < ports.size(); ++i)
        if (ports[i].contains(address)) return static_cast<int>(i);
    return -1;
}

int BackendSlots::slotFor(const std::string& pool, Ipv4Address address, uint16_t port) {
    for (size_t i = 0; i < entries_.size(); ++i)
        if (entries_[i].pool == pool && entries_[i].address == address && entries_[i].port == port)
            return static_cast<int>(i);
    if (entries_.size() >= kMaxBackendSlots) return -1;
    entries_.push_back({pool, address, port});
    return static_cast<int>(entries_.size() - 1);
}

Expected<Snapshot> buildSnapshot(const SnapshotInput& input, BackendSlots& slots) {
    const config::Config& config = *input.config;
    const config::Node* self = config.cluster.findNode(input.self);
    if (!self) return makeError("node " + std::to_string(input.self) + " is not in the node map");
    if (config.dataplane.ports.size() > kMaxPorts)
        return makeError("at most " + std::to_string(kMaxPorts) + " dataplane ports");
    if (config.services.size() > kMaxServices)
        return makeError("at most " + std::to_string(kMaxServices) + " services");
    auto vipIndex = vipIndices(config);
    if (vipIndex.size() > kMaxVips) return makeError("at most " + std::to_string(kMaxVips) + " VIPs");

    Snapshot snapshot;
    snapshot.natPorts = natPortBlock(config.cluster, input.self);
    for (const auto& [address, index] : vipIndex) snapshot.clusterVips.push_back(address);
    std::sort(snapshot.clusterVips.begin(), snapshot.clusterVips.end());
    for (size_t i = 0; i < config.dataplane.ports.size(); ++i) {
        const config::Port& port = config.dataplane.ports[i];
        const config::Subnet* subnet = config.findSubnet(port.subnet);
        auto primary = self->addressOn(port.subnet);
        if (!subnet || !primary)
            return makeError("port " + port.name + ": node " + std::to_string(input.self) +
                             " has no address on subnet '" + port.subnet + "'");
        PortView view;
        view.portId = input.portIds.at(i);
        view.mac = input.macs.at(i);
        view.primary = primary->value;
        view.network = subnet->prefix.network.value;
        view.mask = subnet->prefix.mask();
        // Fullnat's source toward this subnet: its first VIP (an internal VIP, as the
        // architecture says) while this node owns it, else this node's own address there,
        // so that back ends' replies always come back to the node that holds the flow
        // (replies to a VIP owned elsewhere would need forwarding between gateways).
        view.natSource = primary->value;
        if (!subnet->vips.empty() &&
            std::find(input.ownedVips.begin(), input.ownedVips.end(), subnet->vips[0].address) != input.ownedVips.end())
            view.natSource = subnet->vips[0].address.value;
        view.name = port.name;
        snapshot.ports.push_back(view);
    }

    for (Ipv4Address vip : input.ownedVips) {
        auto index = vipIndex.find(vip.value);
        if (index == vipIndex.end()) return makeError("VIP " + vip.toString() + " is not configured");
        int port = snapshot.portFacing(vip.value);
        if (port < 0) return makeError("VIP " + vip.toString() + " is on no dataplane port's subnet");
        VipView view{vip.value, index->second, static_cast<uint8_t>(port)};
        if (input.handOvers) {
            auto handOver = input.handOvers->find(vip);
            if (handOver != input.handOvers->end()) {
                if (!snapshot.ports[static_cast<size_t>(port)].contains(handOver->second.peer.value))
                    return makeError("VIP " + vip.toString() + ": hand-over peer " +
                                     handOver->second.peer.toString() + " is not on its subnet");
                view.handOverPeer = handOver->second.peer.value;
                view.handOverUntilMs = handOver->second.untilMs;
            }
        }
        snapshot.ownedVips.push_back(view);
    }
    std::sort(snapshot.ownedVips.begin(), snapshot.ownedVips.end(),
              [](const VipView& a, const VipView& b) { return a.address < b.address; });
    snapshot.ownedVips.erase(
        std::unique(snapshot.ownedVips.begin(), snapshot.ownedVips.end(),
                    [](const VipView& a, const VipView& b) { return a.address == b.address; }),
        snapshot.ownedVips.end());

    for (size_t s = 0; s < config.services.size(); ++s) {
        const config::Service& service = config.services[s];
        if (!snapshot.findOwnedVip(service.vip.value)) continue;
        // The owner's host stack terminates these (control/httplink); XDP passes them there.
        if (service.mode == config::ServiceMode::Http) continue;
        ServiceView view;
        view.vip = service.vip.value;
        view.port = service.port;
        view.proto = protoNumber(service.protocol);
        view.nat = service.nat;
        view.counterIndex = static_cast<uint16_t>(s);
        view.vipCounterIndex = vipIndex.at(service.vip.value);
        std::vector<MaglevBackend> weights;
        auto live = input.live ? input.live->find(service.pool) : LiveBackends::const_iterator{};
        if (input.live && live != input.live->end()) {
            for (const config::Backend& backend : live->second) {
                int egress = snapshot.portFacing(backend.address.value);
                if (egress < 0)
                    return makeError("back end " + backend.address.toString() + " of pool " +
                                     service.pool + " is on no dataplane port's subnet");
                int slot = slots.slotFor(service.pool, backend.address, backend.port);
                if (slot < 0) return makeError("more than " + std::to_string(kMaxBackendSlots) + " back ends");
                view.backends.push_back({backend.address.value, backend.port,
                                         static_cast<uint16_t>(slot), static_cast<uint8_t>(egress)});
                weights.push_back({backend.address.value, backend.port, backend.weight});
            }
        }
        view.maglev = buildMaglevTable(weights, input.maglevSize);
        snapshot.services.push_back(std::move(view));
    }
    return snapshot;
}

std::vector<Ipv4Address> staticOwnedVips(const config::Config& config, config::NodeId self) {
    bool alone = config.cluster.nodes.size() <= 1;
    std::vector<Ipv4Address> owned;
    for (const auto& subnet : config.subnets)
        for (const auto& vip : subnet.vips)
            if (alone || vip.preferredHost == self) owned.push_back(vip.address);
    return owned;
}

LiveBackends configuredBackends(const config::Config& config) {
    LiveBackends live;
    for (const auto& pool : config.pools) live[pool.name] = pool.backends;
    return live;
}

}  // namespace ringgate::dataplane
