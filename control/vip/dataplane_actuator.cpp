#include "control/vip/dataplane_actuator.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "common/log.h"
#include "dataplane/dataplane.h"

namespace ringgate::vip {

namespace {
constexpr auto kRateWindow = std::chrono::seconds(1);
}

DataplaneActuator::DataplaneActuator(boost::asio::io_context& io, const config::Config& config,
                                     config::NodeId self, dataplane::Dataplane& dataplane)
    : config_(config),
      self_(self),
      dataplane_(dataplane),
      sequencer_(io, config.timers,
                 ClaimSequencer::Io{
                     [this](Ipv4Address vip) -> Expected<void> {
                         owned_.push_back(vip);
                         auto published = publish();
                         if (!published) std::erase(owned_, vip);  // the sequencer tries again
                         return published;
                     },
                     [this](Ipv4Address vip) -> Expected<void> {
                         std::erase(owned_, vip);
                         return publish();
                     },
                     [this](Ipv4Address vip) { return dataplane_.sendGratuitousArp(vip); },
                     [this](Ipv4Address vip) {
                         probedAt_[vip] = std::chrono::steady_clock::now();
                         return dataplane_.sendArpRequest(vip);
                     },
                     // Answered since the last probe: an older answer may be from a peer
                     // that has released the VIP since.
                     [this](Ipv4Address vip) {
                         auto age = dataplane_.neighbourAgeMs(vip);
                         auto since = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - probedAt_[vip]);
                         return age && *age <= since.count();
                     },
                 }) {}

DataplaneActuator::~DataplaneActuator() {
    sequencer_.releaseAll();
    // Without ringgated, nothing would keep the host from answering for every VIP.
    for (const auto& [link, vip] : onHost_) (void)hostAddresses_.remove(link, vip, 32);
}

Expected<void> DataplaneActuator::publish() { return dataplane_.setOwnedVips(owned_); }

void DataplaneActuator::claim(Ipv4Address vip, bool probeFirst, NodeId handOverFrom) {
    std::optional<Ipv4Address> peer;
    if (handOverFrom != kNoNode) {
        const config::Node* node = config_.cluster.findNode(handOverFrom);
        for (const config::Subnet& subnet : config_.subnets)
            if (node && subnet.prefix.contains(vip)) peer = node->addressOn(subnet.name);
        if (!peer)
            RG_WARN(Vip, "VIP %s: node %u has no address on its subnet; its older flows end here",
                    vip.toString().c_str(), handOverFrom);
    }
    // Set (or cleared) before the claim publishes the VIP, so the first snapshot that
    // owns it already knows where older flows go.
    auto handed = dataplane_.handOverFrom(vip, peer, config_.dataplane.timeouts.establishedMs);
    if (!handed)
        RG_WARN(Vip, "VIP %s: hand-over from node %u: %s", vip.toString().c_str(), handOverFrom,
                handed.error().message.c_str());
    sequencer_.claim(vip, probeFirst);
}

namespace {
// Calls `each(link, subnet)` for every subnet with VIPs and a host interface of this node.
template <typename Each>
void forEachVipLink(const config::Config& config, config::NodeId self, Each each) {
    const config::Node* node = config.cluster.findNode(self);
    for (const config::Subnet& subnet : config.subnets) {
        if (subnet.vips.empty()) continue;
        auto primary = node->addressOn(subnet.name);
        if (!primary) continue;
        auto link = findHostLink(*primary);
        if (!link) {
            RG_WARN(Vip, "subnet %s: %s; its VIPs stay off the host", subnet.name.c_str(),
                    link.error().message.c_str());
            continue;
        }
        each(*link, subnet);
    }
}
}  // namespace

namespace {
// The host holds every VIP, and the HTTP proxy (mode http) answers clients from one: the
// host's ARP requests must still name its own primary address, never a VIP. A request
// from a VIP would reach every peer's fast path as a claim of it, and the answer, sent
// to the VIP, would go to the fast path instead of the host (arp_announce 2: the best
// local address of the target's subnet).
Expected<void> announceFromPrimary(const HostLink& link) {
    std::string path = "/proc/sys/net/ipv4/conf/" + link.name + "/arp_announce";
    std::ofstream out(path);
    if (out << "2\n" << std::flush) return {};
    return makeError("set " + path + " to 2: " + std::strerror(errno));
}
}  // namespace

Expected<void> DataplaneActuator::clearHostVips(const config::Config& config, config::NodeId self) {
    HostAddresses addresses;
    if (auto opened = addresses.open(); !opened) return opened;
    Expected<void> result;
    forEachVipLink(config, self, [&](const HostLink& link, const config::Subnet& subnet) {
        for (const config::Vip& vip : subnet.vips)
            if (auto removed = addresses.remove(link, vip.address, 32); !removed && result) result = removed;
    });
    return result;
}

Expected<void> DataplaneActuator::addressExceptionInterfaces() {
    const config::Node* node = config_.cluster.findNode(self_);
    for (const config::Port& port : config_.dataplane.ports) {
        if (port.exceptionInterface.empty()) continue;
        auto primary = node->addressOn(port.subnet);
        const config::Subnet* subnet = config_.findSubnet(port.subnet);
        if (!primary || !subnet) continue;  // validation guarantees both; nothing to give otherwise
        auto link = findHostLinkByName(port.exceptionInterface);
        if (!link) return makeError("port " + port.name + ": exception interface: " + link.error().message);
        auto added = hostAddresses_.add(*link, *primary, subnet->prefix.length);
        if (!added)
            return makeError("port " + port.name + ": address " + primary->toString() + " on " +
                             port.exceptionInterface + ": " + added.error().message);
        RG_INFO(Vip, "port %s: the host reaches subnet %s through %s as %s/%u", port.name.c_str(),
                subnet->name.c_str(), link->name.c_str(), primary->toString().c_str(), subnet->prefix.length);
    }
    return {};
}

Expected<void> DataplaneActuator::start() {
    if (auto cleared = publish(); !cleared) return cleared;
    if (auto opened = hostAddresses_.open(); !opened) return opened;
    if (auto addressed = addressExceptionInterfaces(); !addressed) return addressed;
    Expected<void> result;
    forEachVipLink(config_, self_, [&](const HostLink& link, const config::Subnet& subnet) {
        if (!result) return;
        for (const config::Vip& vip : subnet.vips) {
            auto added = hostAddresses_.add(link, vip.address, 32);
            if (!added) {
                result = makeError("putting VIPs on the host: " + added.error().message);
                return;
            }
            onHost_.emplace_back(link, vip.address);
        }
        if (auto announced = announceFromPrimary(link); !announced) result = announced;
        RG_INFO(Vip, "every VIP of subnet %s is on host interface %s; the XDP program hides their ARP",
                subnet.name.c_str(), link.name.c_str());
    });
    if (!result) return result;
    lastSample_ = std::chrono::steady_clock::now();
    for (const auto& [vip, bytes] : dataplane_.vipBytes()) lastBytes_[vip] = bytes;
    return {};
}

Expected<void> DataplaneActuator::reconfigure() {
    sequencer_.setTimers(config_.timers);
    std::set<Ipv4Address> configured;
    for (const config::Subnet& subnet : config_.subnets)
        for (const config::Vip& vip : subnet.vips) configured.insert(vip.address);
    // A removed VIP: nobody answers for it any more (the dataplane has already dropped it
    // from its snapshot), and the host side loses its copy.
    std::erase_if(owned_, [&](Ipv4Address vip) { return !configured.count(vip); });
    Expected<void> result;
    std::erase_if(onHost_, [&](const auto& entry) {
        if (configured.count(entry.second)) return false;
        if (auto removed = hostAddresses_.remove(entry.first, entry.second, 32); !removed && result) result = removed;
        return true;
    });
    // An added VIP goes on the host side like those of the start, now that the XDP
    // program (configured by the dataplane's reconfigure) hides its ARP from the host.
    forEachVipLink(config_, self_, [&](const HostLink& link, const config::Subnet& subnet) {
        for (const config::Vip& vip : subnet.vips) {
            bool known = std::any_of(onHost_.begin(), onHost_.end(),
                                     [&](const auto& entry) { return entry.second == vip.address; });
            if (known) continue;
            if (auto added = hostAddresses_.add(link, vip.address, 32); !added) {
                if (result) result = makeError("putting VIP " + vip.address.toString() + " on the host: " +
                                               added.error().message);
                continue;
            }
            onHost_.emplace_back(link, vip.address);
        }
    });
    return result;
}

NodeLoad DataplaneActuator::measuredLoad() {
    auto now = std::chrono::steady_clock::now();
    if (now - lastSample_ >= kRateWindow) {
        double seconds = std::chrono::duration<double>(now - lastSample_).count();
        for (const auto& [vip, bytes] : dataplane_.vipBytes()) {
            uint64_t before = lastBytes_[vip];
            rates_[vip] = bytes >= before ? static_cast<uint64_t>(static_cast<double>(bytes - before) / seconds) : 0;
            lastBytes_[vip] = bytes;
        }
        lastSample_ = now;
    }
    NodeLoad load;
    for (Ipv4Address vip : owned_) load.vipRates[vip] = rates_[vip];
    return load;
}

}  // namespace ringgate::vip
