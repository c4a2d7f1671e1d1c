#include "control/monitors/link_prober.h"

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace ringgate::monitors {

namespace {

std::string_view operstateName(uint8_t state) {
    static constexpr std::string_view kNames[] = {"unknown", "notpresent", "down", "lowerlayerdown",
                                                  "testing", "dormant", "up"};
    return state < std::size(kNames) ? kNames[state] : "?";
}

int attributeOf(const nlattr* attribute, void* data) {
    if (mnl_attr_get_type(attribute) == IFLA_OPERSTATE && mnl_attr_validate(attribute, MNL_TYPE_U8) == 0)
        static_cast<LinkState*>(data)->operstate = mnl_attr_get_u8(attribute);
    return MNL_CB_OK;
}

}  // namespace

std::string LinkState::describe() const {
    if (!up) return "administratively down";
    if (!running) return "no carrier (operstate " + std::string(operstateName(operstate)) + ")";
    return "up";
}

void parseLinkReplies(std::span<const uint8_t> bytes, const std::function<void(LinkReply)>& each) {
    const auto* header = reinterpret_cast<const nlmsghdr*>(bytes.data());
    int remaining = static_cast<int>(bytes.size());
    for (; mnl_nlmsg_ok(header, remaining); header = mnl_nlmsg_next(header, &remaining)) {
        auto* message = const_cast<nlmsghdr*>(header);  // libmnl's readers take non-const
        if (header->nlmsg_type == NLMSG_ERROR) {
            if (header->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) continue;
            const auto* error = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(message));
            if (error->error == 0) continue;  // an acknowledgement
            std::string why = -error->error == ENODEV ? "no such interface" : std::strerror(-error->error);
            each({header->nlmsg_seq, makeError(why)});
        } else if (header->nlmsg_type == RTM_NEWLINK) {
            if (header->nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg))) continue;
            const auto* info = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(message));
            LinkState state;
            state.up = (info->ifi_flags & IFF_UP) != 0;
            state.running = (info->ifi_flags & IFF_RUNNING) != 0;
            mnl_attr_parse(message, sizeof(ifinfomsg), attributeOf, &state);
            each({header->nlmsg_seq, state});
        }
    }
}

LinkProber::LinkProber(boost::asio::io_context& io) : io_(io) {}

LinkProber::~LinkProber() {
    *alive_ = false;
    if (stream_) {
        boost::system::error_code ignored;
        stream_->cancel(ignored);
        stream_->release();  // mnl_socket_close closes the descriptor
    }
    if (socket_) mnl_socket_close(socket_);
}

Expected<void> LinkProber::open(OnReply onReply) {
    onReply_ = std::move(onReply);
    socket_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (!socket_) return makeError(std::string("rtnetlink socket: ") + std::strerror(errno));
    if (mnl_socket_bind(socket_, 0, MNL_SOCKET_AUTOPID) < 0)
        return makeError(std::string("bind rtnetlink socket: ") + std::strerror(errno));
    stream_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, mnl_socket_get_fd(socket_));
    receive();
    return {};
}

Expected<uint32_t> LinkProber::query(const std::string& interface) {
    std::vector<uint8_t> buffer(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* header = mnl_nlmsg_put_header(buffer.data());
    header->nlmsg_type = RTM_GETLINK;
    header->nlmsg_flags = NLM_F_REQUEST;
    header->nlmsg_seq = ++sequence_;
    auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(header, sizeof(ifinfomsg)));
    info->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(header, IFLA_IFNAME, interface.c_str());
    // Stats and the rest are not wanted: ask for the short form where the kernel allows.
    mnl_attr_put_u32(header, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    if (mnl_socket_sendto(socket_, header, header->nlmsg_len) < 0)
        return makeError(std::string("rtnetlink request: ") + std::strerror(errno));
    return header->nlmsg_seq;
}

void LinkProber::receive() {
    stream_->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                        [this, alive = alive_](boost::system::error_code ec) {
        if (!*alive || ec) return;
        std::vector<uint8_t> buffer(MNL_SOCKET_BUFFER_SIZE);
        for (;;) {
            ssize_t n = mnl_socket_recvfrom(socket_, buffer.data(), buffer.size());
            if (n <= 0) break;  // EAGAIN: drained (a truncated read is dropped by the parser)
            parseLinkReplies(std::span(buffer.data(), static_cast<size_t>(n)), onReply_);
        }
        receive();
    });
}

}  // namespace ringgate::monitors
