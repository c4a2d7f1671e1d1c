// Liveness probes of a buddy (or of the primary registry's address): ICMP echo by default
// (seed 000 claims 3 and 14, seed 003 [0011]), TCP connect or HTTP GET when configured.
// A probe either answers (onAnswer(target)) or stays silent; the sans-I/O cores count the
// silences. ICMP uses an unprivileged ping socket where the namespace allows it (the
// kernel then demultiplexes replies per socket), else a raw socket (root).
#pragma once

#include "common/asio.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/expected.h"
#include "common/ipv4.h"

namespace ringgate::registry {

enum class ProbeKind { Icmp, Tcp, Http };

struct ProbeSpec {
    ProbeKind kind = ProbeKind::Icmp;
    uint16_t port = 0;        // tcp/http
    std::string path = "/";   // http
};

class Prober {
public:
    using OnAnswer = std::function<void(Ipv4Address from)>;
    Prober(boost::asio::io_context& io, ProbeSpec spec, std::optional<Ipv4Address> source);
    ~Prober();

    Expected<void> open(OnAnswer onAnswer);
    // Sends one probe; an answer arrives through onAnswer within `timeout` or never.
    void probe(Ipv4Address target, std::chrono::milliseconds timeout);
    uint64_t sent() const { return sent_; }
    uint64_t answered() const { return answered_; }

private:
    void receiveIcmp();
    void probeStream(Ipv4Address target, std::chrono::milliseconds timeout);

    boost::asio::io_context& io_;
    ProbeSpec spec_;
    std::optional<Ipv4Address> source_;
    OnAnswer onAnswer_;
    std::unique_ptr<boost::asio::posix::stream_descriptor> icmp_;
    bool raw_ = false;
    uint16_t identifier_ = 0;
    uint16_t sequence_ = 0;
    uint64_t sent_ = 0;
    uint64_t answered_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringgate::registry
