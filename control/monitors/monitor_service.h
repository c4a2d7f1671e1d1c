// The I/O shell of the local fault monitors (monitor_core.h decides): a timer on the
// control thread's io_context starts each probe when it falls due, and every probe is
// asynchronous (rtnetlink for links, ICMP echo, TCP connect, HTTP GET), so the token's
// work never waits for one. A probe without an answer within its timeout has failed.
// When the set of withdrawn subnets changes, `onChange` hands it to the VIP service.
#pragma once

#include "common/asio.h"

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/expected.h"
#include "config/config.h"
#include "control/monitors/link_prober.h"
#include "control/monitors/monitor_core.h"
#include "control/monitors/monitors_report.h"

namespace ringgate::registry {
class Prober;
}

namespace ringgate::monitors {

class MonitorService {
public:
    using OnChange = std::function<void(const std::set<std::string>& withdrawnSubnets)>;
    MonitorService(boost::asio::io_context& io, const config::Config& config, OnChange onChange);
    ~MonitorService();

    // Opens the probes' sockets; an error names the one that failed.
    Expected<void> start();
    void stop();
    bool empty() const { return core_.monitors().empty(); }
    MonitorsReport report() const;

private:
    void schedule();
    void startProbe(size_t index);
    void finish(size_t index, uint64_t attempt, bool ok, std::string detail);

    boost::asio::io_context& io_;
    OnChange onChange_;
    std::vector<config::LocalMonitor> configured_;
    MonitorCore core_;
    boost::asio::steady_timer timer_;
    LinkProber links_;
    std::map<uint32_t, std::pair<size_t, uint64_t>> linkQueries_;  // sequence -> (monitor, attempt)
    std::unique_ptr<registry::Prober> ping_;                       // one ICMP socket for all targets
    std::vector<std::unique_ptr<registry::Prober>> streams_;       // per tcp/http monitor
    struct Attempt {
        uint64_t number = 0;
        std::unique_ptr<boost::asio::steady_timer> deadline;
    };
    std::vector<Attempt> attempts_;
    bool stopped_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringgate::monitors
