#include "control/vip/host_addresses.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringgate::vip {

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

namespace {
// Completes `link` (its name set) with the index and MAC of that interface.
Expected<HostLink> completeLink(ifaddrs* addresses, HostLink link, const std::string& wanted) {
    for (ifaddrs* a = addresses; a && !link.name.empty(); a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_PACKET || link.name != a->ifa_name) continue;
        auto* ll = reinterpret_cast<sockaddr_ll*>(a->ifa_addr);
        link.index = ll->sll_ifindex;
        link.mac = dataplane::MacAddress::load(ll->sll_addr);
    }
    ::freeifaddrs(addresses);
    if (link.name.empty() || link.index == 0) return makeError("no interface " + wanted);
    return link;
}
}  // namespace

Expected<HostLink> findHostLink(Ipv4Address address) {
    ifaddrs* addresses = nullptr;
    if (::getifaddrs(&addresses) != 0) return makeError("getifaddrs: " + errnoText());
    HostLink link;
    for (ifaddrs* a = addresses; a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
        if (ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr) == address.value) link.name = a->ifa_name;
    }
    return completeLink(addresses, std::move(link), "holds " + address.toString());
}

Expected<HostLink> findHostLinkByName(const std::string& name) {
    ifaddrs* addresses = nullptr;
    if (::getifaddrs(&addresses) != 0) return makeError("getifaddrs: " + errnoText());
    HostLink link;
    link.name = name;
    return completeLink(addresses, std::move(link), "named " + name);
}

HostAddresses::~HostAddresses() {
    if (socket_ >= 0) ::close(socket_);
}

Expected<void> HostAddresses::open() {
    if (socket_ >= 0) return {};  // already open (a reload adding links)
    socket_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (socket_ < 0) return makeError("netlink socket: " + errnoText());
    return {};
}

Expected<void> HostAddresses::add(const HostLink& link, Ipv4Address address, uint8_t prefixLength) {
    return change(link, address, prefixLength, true);
}

Expected<void> HostAddresses::remove(const HostLink& link, Ipv4Address address, uint8_t prefixLength) {
    return change(link, address, prefixLength, false);
}

Expected<void> HostAddresses::change(const HostLink& link, Ipv4Address address, uint8_t prefixLength, bool add) {
    AddressRequest request{};
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
    request.header.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
    request.header.nlmsg_seq = ++sequence_;
    request.address.ifa_family = AF_INET;
    request.address.ifa_prefixlen = prefixLength;
    request.address.ifa_index = static_cast<uint32_t>(link.index);
    uint32_t raw = htonl(address.value);
    addAttribute(request, IFA_LOCAL, &raw, sizeof raw);
    addAttribute(request, IFA_ADDRESS, &raw, sizeof raw);

    // The kernel handles the request inside send() and queues its answer at once, so
    // this is a short, bounded exchange on the control thread.
    const std::string what = std::string(add ? "add " : "delete ") + address.toString() + " on " + link.name;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(socket_, &request, request.header.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof kernel) < 0)
        return makeError(what + ": " + errnoText());
    char answer[1024];
    for (;;) {
        ssize_t n = ::recv(socket_, answer, sizeof answer, 0);
        if (n < 0) return makeError(what + ": netlink answer: " + errnoText());
        auto* header = reinterpret_cast<nlmsghdr*>(answer);
        if (!NLMSG_OK(header, static_cast<size_t>(n)) || header->nlmsg_seq != request.header.nlmsg_seq) continue;
        if (header->nlmsg_type != NLMSG_ERROR) continue;
        int error = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(header))->error;
        if (error == 0 || (!add && error == EADDRNOTAVAIL)) break;
        return makeError(what + ": " + std::strerror(error));
    }
    ++changes_;
    return {};
}

}  // namespace ringgate::vip
