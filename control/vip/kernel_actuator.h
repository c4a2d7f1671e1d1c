// VIPs on the host's own network stack, for nodes that run without the fast path
// (dataplane.enabled: false): a claim adds the VIP to the interface that holds this
// node's primary address on the VIP's subnet (rtnetlink) and announces it with
// gratuitous ARPs from an AF_PACKET socket; a release deletes the address at once.
// A claim with probeFirst sends RFC 5227 ARP probes first and gives the VIP up, with an
// error in the log, when another host answers for it.
//
// The kernel counts no bytes per address, so measuredLoad() is empty: load balancing
// needs the fast path's counters.
#pragma once

#include "common/asio.h"

#include <map>
#include <memory>
#include <string>

#include "common/expected.h"
#include "config/config.h"
#include "control/vip/vip_actuator.h"
#include "dataplane/packet.h"

namespace ringgate::vip {

struct KernelActuatorCounters {
    uint64_t addressChanges = 0;
    uint64_t gratuitousArps = 0;
    uint64_t probes = 0;
    uint64_t conflicts = 0;  // a probe was answered: the VIP is in use by another host
    uint64_t errors = 0;
};

class KernelActuator : public VipActuator {
public:
    KernelActuator(boost::asio::io_context& io, const config::Config& config, config::NodeId self);
    ~KernelActuator() override;

    // Finds the interfaces and opens the sockets; call before the first claim.
    Expected<void> start();

    void claim(Ipv4Address vip, bool probeFirst) override;
    void release(Ipv4Address vip) override;
    void announce(Ipv4Address vip) override;
    NodeLoad measuredLoad() override { return {}; }

    const KernelActuatorCounters& counters() const { return counters_; }

private:
    struct Link {
        std::string subnet;
        std::string name;
        int index = 0;
        dataplane::MacAddress mac;
        Ipv4Address primary;
        uint8_t prefixLength = 0;
        int arpSocket = -1;
        std::unique_ptr<boost::asio::posix::stream_descriptor> arpStream;
        std::array<uint8_t, 2048> buffer{};
    };
    struct VipState {
        Link* link = nullptr;
        bool probing = false;
        bool conflict = false;
        uint32_t announcementsLeft = 0;
        std::unique_ptr<boost::asio::steady_timer> timer;
    };

    Link* linkFor(Ipv4Address vip);
    Expected<void> changeAddress(const Link& link, Ipv4Address vip, bool add);
    void sendArp(Link& link, Ipv4Address vip, bool probe);
    void install(Ipv4Address vip);
    void scheduleAnnouncements(Ipv4Address vip);
    void receiveArp(Link& link);

    boost::asio::io_context& io_;
    const config::Config& config_;
    config::NodeId self_;
    int netlink_ = -1;
    uint32_t netlinkSeq_ = 0;
    std::vector<std::unique_ptr<Link>> links_;
    std::map<Ipv4Address, VipState> vips_;
    KernelActuatorCounters counters_;
};

}  // namespace ringgate::vip
