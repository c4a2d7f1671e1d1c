#include "control/vip/dataplane_actuator.h"

#include <algorithm>

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
                         return publish();
                     },
                     [this](Ipv4Address vip) -> Expected<void> {
                         std::erase(owned_, vip);
                         return publish();
                     },
                     [this](Ipv4Address vip) { return dataplane_.sendGratuitousArp(vip); },
                     [this](Ipv4Address vip) { return dataplane_.sendArpRequest(vip); },
                     [this](Ipv4Address vip) { return dataplane_.neighbourOf(vip).has_value(); },
                 }) {}

DataplaneActuator::~DataplaneActuator() {
    sequencer_.releaseAll();
    // Without ringgated, nothing would keep the host from answering for every VIP.
    for (const auto& [link, vip] : onHost_) (void)hostAddresses_.remove(link, vip, 32);
}

Expected<void> DataplaneActuator::publish() { return dataplane_.setOwnedVips(owned_); }

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
        RG_INFO(Vip, "every VIP of subnet %s is on host interface %s; the XDP program hides their ARP",
                subnet.name.c_str(), link.name.c_str());
    });
    if (!result) return result;
    lastSample_ = std::chrono::steady_clock::now();
    for (const auto& [vip, bytes] : dataplane_.vipBytes()) lastBytes_[vip] = bytes;
    return {};
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
