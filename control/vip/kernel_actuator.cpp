#include "control/vip/kernel_actuator.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <fstream>

#include "common/log.h"

namespace ringgate::vip {

namespace asio = boost::asio;

KernelActuator::KernelActuator(asio::io_context& io, const config::Config& config, config::NodeId self)
    : io_(io),
      config_(config),
      self_(self),
      sequencer_(io, config.timers,
                 ClaimSequencer::Io{
                     [this](Ipv4Address vip) -> Expected<void> {
                         Link* link = linkFor(vip);
                         if (!link) return makeError("no interface on its subnet");
                         return addresses_.add(link->host, vip, link->subnet->prefix.length);
                     },
                     [this](Ipv4Address vip) -> Expected<void> {
                         Link* link = linkFor(vip);
                         if (!link) return makeError("no interface on its subnet");
                         return addresses_.remove(link->host, vip, link->subnet->prefix.length);
                     },
                     [this](Ipv4Address vip) { return sendArp(vip, false); },
                     [this](Ipv4Address vip) {
                         answeredByOthers_.erase(vip);
                         return sendArp(vip, true);
                     },
                     [this](Ipv4Address vip) { return answeredByOthers_.count(vip) > 0; },
                 }) {}

KernelActuator::~KernelActuator() {
    // VIPs this node still holds go with it, as they would with a stopping fast path.
    sequencer_.releaseAll();
    for (auto& link : links_)
        if (link->arpStream) link->arpStream->close();
}

Expected<void> KernelActuator::start() { return addLinks(true); }

std::optional<uint64_t> interfaceBytes(const std::string& name) {
    uint64_t sum = 0;
    for (const char* counter : {"rx_bytes", "tx_bytes"}) {
        std::ifstream in("/sys/class/net/" + name + "/statistics/" + counter);
        uint64_t value = 0;
        if (!(in >> value)) return std::nullopt;
        sum += value;
    }
    return sum;
}

std::map<Ipv4Address, uint64_t> shareEvenly(uint64_t rate, const std::vector<Ipv4Address>& vips) {
    std::map<Ipv4Address, uint64_t> shares;
    for (size_t i = 0; i < vips.size(); ++i) shares[vips[i]] = rate / vips.size() + (i < rate % vips.size() ? 1 : 0);
    return shares;
}

NodeLoad KernelActuator::measuredLoad() {
    constexpr auto kRateWindow = std::chrono::seconds(1);
    auto now = std::chrono::steady_clock::now();
    if (now - lastSample_ >= kRateWindow) {
        double seconds = std::chrono::duration<double>(now - lastSample_).count();
        bool first = lastSample_ == std::chrono::steady_clock::time_point{};
        for (auto& link : links_) {
            auto bytes = interfaceBytes(link->host.name);
            if (!bytes) continue;
            link->rate = first || *bytes < link->lastBytes
                             ? 0
                             : static_cast<uint64_t>(static_cast<double>(*bytes - link->lastBytes) / seconds);
            link->lastBytes = *bytes;
        }
        lastSample_ = now;
    }
    NodeLoad load;
    for (const auto& link : links_) {
        std::vector<Ipv4Address> answered;
        for (const config::Vip& vip : link->subnet->vips)
            if (sequencer_.installed(vip.address)) answered.push_back(vip.address);
        for (const auto& [vip, rate] : shareEvenly(link->rate, answered)) load.vipRates[vip] = rate;
    }
    return load;
}

Expected<void> KernelActuator::addLinks(bool clearStale) {
    const config::Node* node = config_.cluster.findNode(self_);
    configuredVips_.clear();
    std::vector<Link*> added;
    for (const config::Subnet& subnet : config_.subnets) {
        if (subnet.vips.empty()) continue;
        for (const config::Vip& vip : subnet.vips) configuredVips_.insert(vip.address);
        auto known = std::find_if(links_.begin(), links_.end(),
                                  [&](const auto& link) { return link->subnetName == subnet.name; });
        if (known != links_.end()) {
            (*known)->subnet = &subnet;  // the configuration was replaced: point into the new one
            continue;
        }
        auto primary = node->addressOn(subnet.name);
        if (!primary)
            return makeError("node " + std::to_string(self_) + " has no address on subnet " + subnet.name +
                             ", which has VIPs");
        auto host = findHostLink(*primary);
        if (!host) return makeError(host.error().message + " (node " + std::to_string(self_) + " on subnet " +
                                    subnet.name + ")");
        auto link = std::make_unique<Link>();
        link->host = *host;
        link->subnet = &subnet;
        link->subnetName = subnet.name;
        added.push_back(link.get());
        links_.push_back(std::move(link));
    }
    // A subnet whose VIPs all went keeps its link (and socket): it answers for nothing.
    // Subnets themselves only change with a restart (config/reload.h).
    for (auto& link : links_) {
        link->subnet = config_.findSubnet(link->subnetName);
        if (!link->subnet) return makeError("subnet " + link->subnetName + " is gone");
    }
    if (added.empty()) return {};
    if (auto opened = addresses_.open(); !opened) return opened;
    for (Link* link : added) {
        // A predecessor killed with SIGKILL leaves its VIPs on the interface; this node
        // answers for nothing until the token gives it a VIP.
        if (clearStale)
            for (const config::Vip& vip : link->subnet->vips)
                if (auto removed = addresses_.remove(link->host, vip.address, link->subnet->prefix.length); !removed)
                    return makeError("clearing stale VIPs: " + removed.error().message);
        link->arpSocket = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ARP));
        if (link->arpSocket < 0)
            return makeError("ARP socket on " + link->host.name + ": " + std::strerror(errno));
        sockaddr_ll bindTo{};
        bindTo.sll_family = AF_PACKET;
        bindTo.sll_protocol = htons(ETH_P_ARP);
        bindTo.sll_ifindex = link->host.index;
        if (::bind(link->arpSocket, reinterpret_cast<sockaddr*>(&bindTo), sizeof bindTo) != 0)
            return makeError("bind ARP socket to " + link->host.name + ": " + std::strerror(errno));
        link->arpStream = std::make_unique<asio::posix::stream_descriptor>(io_, link->arpSocket);
        receiveArp(*link);
        RG_INFO(Vip, "VIPs of subnet %s go on %s (%s)", link->subnet->name.c_str(), link->host.name.c_str(),
                link->host.mac.toString().c_str());
    }
    return {};
}

Expected<void> KernelActuator::reconfigure() {
    // A removed VIP this node answers is released by the VIP manager at its next token
    // visit, like any VIP that leaves the table.
    sequencer_.setTimers(config_.timers);
    return addLinks(false);
}

KernelActuator::Link* KernelActuator::linkFor(Ipv4Address vip) {
    for (auto& link : links_)
        if (link->subnet->prefix.contains(vip)) return link.get();
    return nullptr;
}

Expected<void> KernelActuator::sendArp(Ipv4Address vip, bool probe) {
    Link* link = linkFor(vip);
    if (!link) return makeError("no interface on its subnet");
    std::array<uint8_t, 64> frame{};
    size_t length = probe ? dataplane::writeArpRequest(frame, link->host.mac, 0, vip.value)
                          : dataplane::writeGratuitousArp(frame, link->host.mac, vip.value);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = link->host.index;
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    if (::sendto(link->arpSocket, frame.data(), length, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
        return makeError(std::string("send ARP on ") + link->host.name + ": " + std::strerror(errno));
    return {};
}

void KernelActuator::receiveArp(Link& link) {
    link.arpStream->async_read_some(asio::buffer(link.buffer), [this, &link](boost::system::error_code ec, size_t n) {
        if (ec == asio::error::operation_aborted) return;
        if (!ec) {
            dataplane::ConstBytes frame(link.buffer.data(), n);
            auto parsed = dataplane::parsePacket(frame);
            if (parsed.kind == dataplane::PacketKind::Arp) {
                auto arp = dataplane::readArp(frame, parsed);
                // Anyone else speaking for one of our VIPs is evidence that it is in use
                // (only VIPs are kept, so the set stays bounded).
                Ipv4Address sender{arp.senderIp};
                if (arp.senderMac != link.host.mac && configuredVips_.count(sender)) answeredByOthers_.insert(sender);
            }
        }
        receiveArp(link);
    });
}

}  // namespace ringgate::vip
