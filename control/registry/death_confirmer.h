// The registry's own look at a server a buddy reported dead (death_judge.h): `tries`
// probes `interval` apart with the configured check (ICMP by default); any answer means
// alive. Reports about the same server while a look is under way share it.
#pragma once

#include "common/asio.h"

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "control/registry/prober.h"

namespace ringgate::registry {

class DeathConfirmer {
public:
    using Done = std::function<void(bool alive)>;
    DeathConfirmer(boost::asio::io_context& io, ProbeSpec spec, uint32_t tries, std::chrono::milliseconds interval);
    ~DeathConfirmer();

    Expected<void> open();
    void confirm(Ipv4Address server, Done done);

private:
    struct Look {
        std::vector<Done> waiting;
        uint32_t sent = 0;
        bool alive = false;
        std::unique_ptr<boost::asio::steady_timer> timer;
    };
    void next(Ipv4Address server);
    void finish(Ipv4Address server);

    boost::asio::io_context& io_;
    Prober prober_;
    uint32_t tries_;
    std::chrono::milliseconds interval_;
    std::map<Ipv4Address, Look> looks_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringgate::registry
