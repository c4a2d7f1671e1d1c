// The state of a network interface, asked of the kernel over rtnetlink with libmnl:
// RTM_GETLINK by name, the reply read asynchronously on the io_context (the control
// thread never waits for it). A cable pulled, a peer veth gone down or an interface
// removed all read as a failed link.
#pragma once

#include "common/asio.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/expected.h"

struct mnl_socket;

namespace ringgate::monitors {

struct LinkState {
    bool up = false;       // IFF_UP: administratively up
    bool running = false;  // IFF_RUNNING: carrier, and the kernel's operational state allows traffic
    uint8_t operstate = 0; // IF_OPER_* (RFC 2863)
    bool healthy() const { return up && running; }
    // "up", "no carrier (operstate lowerlayerdown)", "administratively down".
    std::string describe() const;
};

// One reply (RTM_NEWLINK, or NLMSG_ERROR for a failed request) from a buffer of netlink
// messages: each message's sequence number and its state or error. Pure; tested alone.
struct LinkReply {
    uint32_t sequence = 0;
    Expected<LinkState> state;
};
void parseLinkReplies(std::span<const uint8_t> bytes, const std::function<void(LinkReply)>& each);

class LinkProber {
public:
    using OnReply = std::function<void(LinkReply)>;
    explicit LinkProber(boost::asio::io_context& io);
    ~LinkProber();
    LinkProber(const LinkProber&) = delete;
    LinkProber& operator=(const LinkProber&) = delete;

    Expected<void> open(OnReply onReply);
    // Sends the request; its reply arrives through onReply under the returned sequence.
    Expected<uint32_t> query(const std::string& interface);

private:
    void receive();

    boost::asio::io_context& io_;
    mnl_socket* socket_ = nullptr;
    std::unique_ptr<boost::asio::posix::stream_descriptor> stream_;
    OnReply onReply_;
    uint32_t sequence_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringgate::monitors
