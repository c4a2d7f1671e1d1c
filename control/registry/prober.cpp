#include "control/registry/prober.h"

#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "control/registry/line_connection.h"

namespace ringgate::registry {
namespace {

uint16_t checksum(const uint8_t* data, size_t length) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < length; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
    if (length & 1) sum += static_cast<uint32_t>(data[length - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

}  // namespace

Prober::Prober(boost::asio::io_context& io, ProbeSpec spec, std::optional<Ipv4Address> source)
    : io_(io), spec_(std::move(spec)), source_(source) {}

Prober::~Prober() { *alive_ = false; }

Expected<void> Prober::open(OnAnswer onAnswer) {
    onAnswer_ = std::move(onAnswer);
    if (spec_.kind != ProbeKind::Icmp) return {};
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0) {
        fd = ::socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
        if (fd < 0)
            return makeError(std::string("open an ICMP socket (needs root, CAP_NET_RAW or net.ipv4.ping_group_range): ") +
                             std::strerror(errno));
        raw_ = true;
    }
    if (source_) {
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_addr.s_addr = htonl(source_->value);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
            std::string message = std::strerror(errno);
            ::close(fd);
            return makeError("bind ICMP socket to " + source_->toString() + ": " + message);
        }
    }
    identifier_ = static_cast<uint16_t>(std::random_device{}());
    icmp_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, fd);
    receiveIcmp();
    return {};
}

void Prober::probe(Ipv4Address target, std::chrono::milliseconds timeout) {
    ++sent_;
    if (spec_.kind != ProbeKind::Icmp) return probeStream(target, timeout);
    uint8_t packet[16] = {};
    packet[0] = ICMP_ECHO;
    packet[4] = static_cast<uint8_t>(identifier_ >> 8);
    packet[5] = static_cast<uint8_t>(identifier_);
    ++sequence_;
    packet[6] = static_cast<uint8_t>(sequence_ >> 8);
    packet[7] = static_cast<uint8_t>(sequence_);
    std::memcpy(packet + 8, "ringgate", 8);
    uint16_t sum = checksum(packet, sizeof packet);
    packet[2] = static_cast<uint8_t>(sum >> 8);
    packet[3] = static_cast<uint8_t>(sum);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(target.value);
    // Non-blocking; a full socket buffer or an unreachable target is just a lost probe.
    (void)::sendto(icmp_->native_handle(), packet, sizeof packet, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
}

void Prober::receiveIcmp() {
    icmp_->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                      [this, alive = alive_](boost::system::error_code ec) {
        if (!*alive || ec) return;
        uint8_t buffer[1500];
        for (;;) {
            sockaddr_in from{};
            socklen_t length = sizeof from;
            ssize_t n = ::recvfrom(icmp_->native_handle(), buffer, sizeof buffer, 0,
                                   reinterpret_cast<sockaddr*>(&from), &length);
            if (n < 0) break;
            const uint8_t* icmp = buffer;
            size_t size = static_cast<size_t>(n);
            if (raw_) {  // raw sockets deliver the IP header, and every ICMP packet
                if (size < 20) continue;
                size_t header = static_cast<size_t>(buffer[0] & 0x0f) * 4;
                if (size < header + 8) continue;
                icmp += header;
                size -= header;
                if (icmp[0] != ICMP_ECHOREPLY || (icmp[4] << 8 | icmp[5]) != identifier_) continue;
            } else if (size < 8 || icmp[0] != ICMP_ECHOREPLY) {
                continue;
            }
            ++answered_;
            if (onAnswer_) onAnswer_(Ipv4Address{ntohl(from.sin_addr.s_addr)});
        }
        receiveIcmp();
    });
}

void Prober::probeStream(Ipv4Address target, std::chrono::milliseconds timeout) {
    struct Check {
        explicit Check(boost::asio::io_context& io) : socket(io), timer(io) {}
        tcp::socket socket;
        boost::asio::steady_timer timer;
        std::string request;
        char buffer[64];
        size_t got = 0;
    };
    auto check = std::make_shared<Check>(io_);
    check->timer.expires_after(timeout);
    check->timer.async_wait([check](boost::system::error_code ec) {
        if (!ec) {
            boost::system::error_code ignored;
            check->socket.close(ignored);
        }
    });
    auto answered = [this, alive = alive_, check, target] {
        check->timer.cancel();
        boost::system::error_code ignored;
        check->socket.close(ignored);
        if (!*alive) return;
        ++answered_;
        if (onAnswer_) onAnswer_(target);
    };
    boost::system::error_code ec;
    check->socket.open(tcp::v4(), ec);
    if (!ec && source_) check->socket.bind({boost::asio::ip::address_v4(source_->value), 0}, ec);
    if (ec) return;
    bool http = spec_.kind == ProbeKind::Http;
    if (http) check->request = "GET " + spec_.path + " HTTP/1.0\r\nHost: " + target.toString() + "\r\n\r\n";
    check->socket.async_connect({boost::asio::ip::address_v4(target.value), spec_.port},
                                [check, http, answered](boost::system::error_code ec) {
        if (ec) return;
        if (!http) return answered();
        boost::asio::async_write(check->socket, boost::asio::buffer(check->request),
                                 [check, answered](boost::system::error_code ec, size_t) {
            if (ec) return;
            // "HTTP/1.x 2xx" or 3xx counts as alive.
            boost::asio::async_read(check->socket, boost::asio::buffer(check->buffer, 12),
                                    [check, answered](boost::system::error_code ec, size_t n) {
                if (ec || n < 12 || std::memcmp(check->buffer, "HTTP/1.", 7) != 0) return;
                if (check->buffer[9] == '2' || check->buffer[9] == '3') answered();
            });
        });
    });
}

}  // namespace ringgate::registry
