#include "control/vip/kernel_actuator.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace ringgate::vip {

namespace asio = boost::asio;

namespace {

std::string errnoText() { return std::strerror(errno); }

// An rtnetlink request: header, ifaddrmsg, then attributes, built in one buffer.
struct AddressRequest {
    nlmsghdr header;
    ifaddrmsg address;
    char attributes[64];
};

void addAttribute(AddressRequest& request, uint16_t type, const void* data, size_t length) {
    auto* attribute = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&request) +
                                                NLMSG_ALIGN(request.header.nlmsg_len));
    attribute->rta_type = type;
    attribute->rta_len = static_cast<uint16_t>(RTA_LENGTH(length));
    std::memcpy(RTA_DATA(attribute), data, length);
    request.header.nlmsg_len = NLMSG_ALIGN(request.header.nlmsg_len) + RTA_ALIGN(attribute->rta_len);
}

}  // namespace

KernelActuator::KernelActuator(asio::io_context& io, const config::Config& config, config::NodeId self)
    : io_(io), config_(config), self_(self) {}

KernelActuator::~KernelActuator() {
    // VIPs this node still holds go with it, as they would with a stopping fast path.
    for (auto& [vip, state] : vips_)
        if (state.link && !state.probing && !state.conflict) (void)changeAddress(*state.link, vip, false);
    for (auto& link : links_)
        if (link->arpStream) link->arpStream->close();
    if (netlink_ >= 0) ::close(netlink_);
}

Expected<void> KernelActuator::start() {
    const config::Node* node = config_.cluster.findNode(self_);
    ifaddrs* addresses = nullptr;
    if (::getifaddrs(&addresses) != 0) return makeError("getifaddrs: " + errnoText());
    for (const config::Subnet& subnet : config_.subnets) {
        if (subnet.vips.empty()) continue;
        auto primary = node->addressOn(subnet.name);
        if (!primary) return makeError("node " + std::to_string(self_) + " has no address on subnet " +
                                       subnet.name + ", which has VIPs");
        auto link = std::make_unique<Link>();
        link->subnet = subnet.name;
        link->primary = *primary;
        link->prefixLength = subnet.prefix.length;
        for (ifaddrs* a = addresses; a; a = a->ifa_next) {
            if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
            auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
            if (ntohl(in->sin_addr.s_addr) == primary->value) link->name = a->ifa_name;
        }
        for (ifaddrs* a = addresses; a && !link->name.empty(); a = a->ifa_next) {
            if (!a->ifa_addr || a->ifa_addr->sa_family != AF_PACKET || link->name != a->ifa_name) continue;
            auto* ll = reinterpret_cast<sockaddr_ll*>(a->ifa_addr);
            link->index = ll->sll_ifindex;
            link->mac = dataplane::MacAddress::load(ll->sll_addr);
        }
        if (link->name.empty() || link->index == 0) {
            ::freeifaddrs(addresses);
            return makeError("no interface holds " + primary->toString() + " (node " +
                             std::to_string(self_) + "'s address on subnet " + subnet.name + ")");
        }
        links_.push_back(std::move(link));
    }
    ::freeifaddrs(addresses);
    if (links_.empty()) return {};

    netlink_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (netlink_ < 0) return makeError("netlink socket: " + errnoText());
    for (auto& link : links_) {
        link->arpSocket = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ARP));
        if (link->arpSocket < 0) return makeError("ARP socket on " + link->name + ": " + errnoText());
        sockaddr_ll bindTo{};
        bindTo.sll_family = AF_PACKET;
        bindTo.sll_protocol = htons(ETH_P_ARP);
        bindTo.sll_ifindex = link->index;
        if (::bind(link->arpSocket, reinterpret_cast<sockaddr*>(&bindTo), sizeof bindTo) != 0)
            return makeError("bind ARP socket to " + link->name + ": " + errnoText());
        // A predecessor killed with SIGKILL leaves its VIPs on the interface; this node
        // answers for nothing until the token gives it a VIP.
        const config::Subnet* subnet = config_.findSubnet(link->subnet);
        for (const config::Vip& vip : subnet->vips)
            if (auto removed = changeAddress(*link, vip.address, false); !removed)
                return makeError("clearing stale " + removed.error().message);
        link->arpStream = std::make_unique<asio::posix::stream_descriptor>(io_, link->arpSocket);
        receiveArp(*link);
        RG_INFO(Vip, "VIPs of subnet %s go on %s (%s)", link->subnet.c_str(), link->name.c_str(),
                link->mac.toString().c_str());
    }
    return {};
}

KernelActuator::Link* KernelActuator::linkFor(Ipv4Address vip) {
    for (auto& link : links_) {
        const config::Subnet* subnet = config_.findSubnet(link->subnet);
        if (subnet && subnet->prefix.contains(vip)) return link.get();
    }
    return nullptr;
}

Expected<void> KernelActuator::changeAddress(const Link& link, Ipv4Address vip, bool add) {
    AddressRequest request{};
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
    request.header.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
    request.header.nlmsg_seq = ++netlinkSeq_;
    request.address.ifa_family = AF_INET;
    request.address.ifa_prefixlen = link.prefixLength;
    request.address.ifa_index = static_cast<uint32_t>(link.index);
    uint32_t raw = htonl(vip.value);
    addAttribute(request, IFA_LOCAL, &raw, sizeof raw);
    addAttribute(request, IFA_ADDRESS, &raw, sizeof raw);

    // The kernel handles the request inside send() and queues its answer at once, so
    // this is a short, bounded exchange on the control thread: the change has happened
    // when the acknowledgement is read.
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(netlink_, &request, request.header.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof kernel) < 0)
        return makeError(std::string(add ? "add " : "delete ") + vip.toString() + ": " + errnoText());
    char answer[1024];
    for (;;) {
        ssize_t n = ::recv(netlink_, answer, sizeof answer, 0);
        if (n < 0) return makeError("netlink answer: " + errnoText());
        auto* header = reinterpret_cast<nlmsghdr*>(answer);
        if (!NLMSG_OK(header, static_cast<size_t>(n)) || header->nlmsg_seq != request.header.nlmsg_seq) continue;
        if (header->nlmsg_type != NLMSG_ERROR) continue;
        int error = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(header))->error;
        // Deleting an address that is already gone is the state we wanted.
        if (error == 0 || (!add && error == EADDRNOTAVAIL)) break;
        return makeError(std::string(add ? "add " : "delete ") + vip.toString() + " on " + link.name +
                         ": " + std::strerror(error));
    }
    ++counters_.addressChanges;
    return {};
}

void KernelActuator::sendArp(Link& link, Ipv4Address vip, bool probe) {
    std::array<uint8_t, 64> frame{};
    size_t length = probe ? dataplane::writeArpRequest(frame, link.mac, 0, vip.value)
                          : dataplane::writeGratuitousArp(frame, link.mac, vip.value);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = link.index;
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    if (::sendto(link.arpSocket, frame.data(), length, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
        ++counters_.errors;
        RG_WARN(Vip, "send ARP for %s on %s: %s", vip.toString().c_str(), link.name.c_str(), errnoText().c_str());
        return;
    }
    ++(probe ? counters_.probes : counters_.gratuitousArps);
}

void KernelActuator::claim(Ipv4Address vip, bool probeFirst) {
    Link* link = linkFor(vip);
    if (!link) {
        ++counters_.errors;
        RG_ERROR(Vip, "claim %s: no interface on its subnet", vip.toString().c_str());
        return;
    }
    VipState& state = vips_[vip];
    state.link = link;
    state.conflict = false;
    state.timer = std::make_unique<asio::steady_timer>(io_);
    if (!probeFirst) {
        install(vip);
        return;
    }
    state.probing = true;
    sendArp(*link, vip, true);
    state.timer->expires_after(std::chrono::milliseconds(config_.timers.probeTimeoutMs));
    state.timer->async_wait([this, vip](boost::system::error_code ec) {
        auto it = vips_.find(vip);
        if (ec || it == vips_.end() || !it->second.probing) return;
        it->second.probing = false;
        if (it->second.conflict) {
            RG_ERROR(Vip, "%s is in use by another host (it answered our ARP probe); not claiming it",
                     vip.toString().c_str());
            return;
        }
        install(vip);
    });
}

void KernelActuator::install(Ipv4Address vip) {
    VipState& state = vips_[vip];
    if (auto added = changeAddress(*state.link, vip, true); !added) {
        ++counters_.errors;
        RG_ERROR(Vip, "%s", added.error().message.c_str());
        return;
    }
    sendArp(*state.link, vip, false);
    state.announcementsLeft = config_.timers.garpRepeats;
    scheduleAnnouncements(vip);
}

void KernelActuator::scheduleAnnouncements(Ipv4Address vip) {
    VipState& state = vips_[vip];
    if (state.announcementsLeft == 0) return;
    state.timer->expires_after(std::chrono::milliseconds(config_.timers.garpIntervalMs));
    state.timer->async_wait([this, vip](boost::system::error_code ec) {
        auto it = vips_.find(vip);
        if (ec || it == vips_.end() || it->second.announcementsLeft == 0) return;
        --it->second.announcementsLeft;
        sendArp(*it->second.link, vip, false);
        scheduleAnnouncements(vip);
    });
}

void KernelActuator::release(Ipv4Address vip) {
    auto it = vips_.find(vip);
    if (it == vips_.end()) return;
    VipState& state = it->second;
    if (state.timer) state.timer->cancel();
    bool installed = !state.probing && !state.conflict;
    if (installed) {
        if (auto removed = changeAddress(*state.link, vip, false); !removed) {
            ++counters_.errors;
            RG_ERROR(Vip, "%s", removed.error().message.c_str());
        }
    }
    vips_.erase(it);
}

void KernelActuator::announce(Ipv4Address vip) {
    auto it = vips_.find(vip);
    if (it == vips_.end() || it->second.probing || it->second.conflict) return;
    sendArp(*it->second.link, vip, false);
    it->second.announcementsLeft = config_.timers.garpRepeats;
    scheduleAnnouncements(vip);
}

void KernelActuator::receiveArp(Link& link) {
    link.arpStream->async_read_some(asio::buffer(link.buffer), [this, &link](boost::system::error_code ec, size_t n) {
        if (ec == asio::error::operation_aborted) return;
        if (!ec) {
            dataplane::ConstBytes frame(link.buffer.data(), n);
            auto parsed = dataplane::parsePacket(frame);
            if (parsed.kind == dataplane::PacketKind::Arp) {
                auto arp = dataplane::readArp(frame, parsed);
                // Anyone else claiming a VIP we are probing: the address is in use.
                auto it = vips_.find(Ipv4Address{arp.senderIp});
                if (it != vips_.end() && it->second.probing && arp.senderMac != link.mac) {
                    it->second.conflict = true;
                    ++counters_.conflicts;
                }
            }
        }
        receiveArp(link);
    });
}

}  // namespace ringgate::vip
