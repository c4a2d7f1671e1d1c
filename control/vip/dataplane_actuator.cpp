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

Expected<void> DataplaneActuator::start() {
    if (auto cleared = publish(); !cleared) return cleared;
    if (auto opened = hostAddresses_.open(); !opened) return opened;
    const config::Node* node = config_.cluster.findNode(self_);
    for (const config::Subnet& subnet : config_.subnets) {
        if (subnet.vips.empty()) continue;
        auto primary = node->addressOn(subnet.name);
        if (!primary) continue;
        auto link = findHostLink(*primary);
        if (!link) {
            RG_WARN(Vip, "subnet %s: %s; its VIPs stay off the host", subnet.name.c_str(),
                    link.error().message.c_str());
            continue;
        }
        for (const config::Vip& vip : subnet.vips) {
            auto added = hostAddresses_.add(*link, vip.address, 32);
            if (!added) return makeError("putting VIPs on the host: " + added.error().message);
            onHost_.emplace_back(*link, vip.address);
        }
        RG_INFO(Vip, "every VIP of subnet %s is on host interface %s; the XDP program hides their ARP",
                subnet.name.c_str(), link->name.c_str());
    }
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
