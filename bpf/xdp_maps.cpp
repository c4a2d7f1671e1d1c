#include "bpf/xdp_maps.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bpf/ringgate_xdp.h"

namespace ringgate::bpf {

namespace {
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};
std::string errnoText(int error) { return std::strerror(error < 0 ? -error : error); }
}  // namespace

Expected<void> fillXdpMaps(int addrsFd, int configFd, const XdpAddresses& addresses) {
    auto put = [&](uint32_t address, uint32_t cls) -> Expected<void> {
        uint32_t key = htonl(address);
        if (bpf_map_update_elem(addrsFd, &key, &cls, BPF_ANY) != 0)
            return makeError("XDP map rg_addrs: add address: " + errnoText(errno));
        return {};
    };
    for (uint32_t vip : addresses.vips)
        if (auto ok = put(vip, RG_ADDR_VIP); !ok) return ok;
    for (uint32_t local : addresses.locals)
        if (auto ok = put(local, RG_ADDR_LOCAL); !ok) return ok;
    uint32_t zero = 0;
    rg_xdp_config config{addresses.steerTransit ? 1u : 0u, addresses.natPortFirst, addresses.natPortLast};
    if (bpf_map_update_elem(configFd, &zero, &config, BPF_ANY) != 0)
        return makeError("XDP map rg_config: " + errnoText(errno));
    return {};
}

namespace {
rg_host_port hostPortKey(const Ipv4Endpoint& endpoint) {
    return {htonl(endpoint.address.value), htons(endpoint.port), 0};
}
}  // namespace

Expected<void> fillHostPorts(int hostPortsFd, const std::vector<Ipv4Endpoint>& ports) {
    uint32_t one = 1;
    for (const Ipv4Endpoint& port : ports) {
        rg_host_port key = hostPortKey(port);
        if (bpf_map_update_elem(hostPortsFd, &key, &one, BPF_ANY) != 0)
            return makeError("XDP map rg_host_ports: add " + port.toString() + ": " + errnoText(errno));
    }
    // Collect first: deleting while walking with get_next_key may skip entries.
    std::vector<rg_host_port> stale;
    rg_host_port key{}, next{};
    void* previous = nullptr;
    while (bpf_map_get_next_key(hostPortsFd, previous, &next) == 0) {
        bool wanted = false;
        for (const Ipv4Endpoint& port : ports) {
            rg_host_port want = hostPortKey(port);
            wanted = wanted || std::memcmp(&want, &next, sizeof want) == 0;
        }
        if (!wanted) stale.push_back(next);
        key = next;
        previous = &key;
    }
    for (const rg_host_port& gone : stale)
        if (bpf_map_delete_elem(hostPortsFd, &gone) != 0 && errno != ENOENT)
            return makeError("XDP map rg_host_ports: remove: " + errnoText(errno));
    return {};
}

namespace {

// ringgate's maps of the XDP program attached to `interface`; `found` is false when no
// program is attached, an error when one is attached that is not ringgate's.
struct AttachedMaps {
    bool found = false;
    unsigned ifindex = 0;
    Fd addrs, config, hostPorts;
};

Expected<void> findAttached(const std::string& interface, AttachedMaps& out) {
    out.ifindex = if_nametoindex(interface.c_str());
    if (out.ifindex == 0) return makeError("interface " + interface + ": " + errnoText(errno));
    uint32_t progId = 0;
    if (int rc = bpf_xdp_query_id(static_cast<int>(out.ifindex), 0, &progId); rc != 0 || progId == 0) return {};
    Fd prog{bpf_prog_get_fd_by_id(progId)};
    if (prog.fd < 0) return makeError("XDP program " + std::to_string(progId) + ": " + errnoText(errno));
    uint32_t mapIds[16] = {};
    bpf_prog_info info{};
    info.nr_map_ids = 16;
    info.map_ids = reinterpret_cast<uint64_t>(mapIds);
    uint32_t length = sizeof info;
    if (bpf_obj_get_info_by_fd(prog.fd, &info, &length) != 0)
        return makeError("XDP program info: " + errnoText(errno));
    for (uint32_t i = 0; i < info.nr_map_ids && i < 16; ++i) {
        int fd = bpf_map_get_fd_by_id(mapIds[i]);
        if (fd < 0) continue;
        bpf_map_info mapInfo{};
        uint32_t mapLength = sizeof mapInfo;
        if (bpf_obj_get_info_by_fd(fd, &mapInfo, &mapLength) == 0) {
            if (std::strcmp(mapInfo.name, "rg_addrs") == 0) {
                out.addrs.fd = fd;
                continue;
            }
            if (std::strcmp(mapInfo.name, "rg_config") == 0) {
                out.config.fd = fd;
                continue;
            }
            if (std::strcmp(mapInfo.name, "rg_host_ports") == 0) {
                out.hostPorts.fd = fd;
                continue;
            }
        }
        ::close(fd);
    }
    if (out.addrs.fd < 0 || out.config.fd < 0)
        return makeError("interface " + interface + ": the attached XDP program is not ringgate's (no rg_addrs map)");
    out.found = true;
    return {};
}

}  // namespace

Expected<void> detachStaleXdp(const std::string& interface) {
    AttachedMaps attached;
    if (auto ok = findAttached(interface, attached); !ok) return ok;
    if (!attached.found) return {};
    if (int rc = bpf_xdp_detach(static_cast<int>(attached.ifindex), 0, nullptr); rc != 0)
        return makeError("interface " + interface + ": detach the old XDP program: " + errnoText(rc));
    return {};
}

Expected<void> configureAttachedXdp(const std::string& interface, const XdpAddresses& addresses) {
    AttachedMaps attached;
    if (auto ok = findAttached(interface, attached); !ok) return ok;
    if (!attached.found) return makeError("interface " + interface + ": no XDP program attached");
    return fillXdpMaps(attached.addrs.fd, attached.config.fd, addresses);
}

Expected<void> setAttachedHostPorts(const std::string& interface, const std::vector<Ipv4Endpoint>& ports) {
    AttachedMaps attached;
    if (auto ok = findAttached(interface, attached); !ok) return ok;
    if (!attached.found) return makeError("interface " + interface + ": no XDP program attached");
    if (attached.hostPorts.fd < 0)
        return makeError("interface " + interface + ": the attached XDP program predates rg_host_ports (mode http)");
    return fillHostPorts(attached.hostPorts.fd, ports);
}

}  // namespace ringgate::bpf
