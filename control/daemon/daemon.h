// One gateway node: owns the control thread's io_context and every component of
// ringgated. Components register management commands and timers here; the dataplane,
// when enabled, runs on its own lcores and talks to this thread through snapshots/rings.
#pragma once

#include "common/asio.h"

#include <chrono>
#include <memory>

#include "common/expected.h"
#include "config/config.h"
#include "control/cluster/cluster_service.h"
#include "control/cluster/config_sync.h"
#include "control/cluster/riders.h"
#include "control/daemon/config_rider.h"
#include "control/daemon/node_reports.h"
#include "control/daemon/pool_follower.h"
#include "control/httplink/http_link.h"
#include "control/vip/kernel_actuator.h"
#include "control/vip/vip_service.h"
#include "control/management/command_table.h"
#include "control/management/https_server.h"
#include "control/management/management_server.h"
#include "control/management/rates.h"
#include "control/monitors/cpu_meter.h"
#include "control/monitors/monitor_service.h"
#include "dataplane/stats_report.h"

namespace ringgate::dataplane {
class Dataplane;
}
namespace ringgate::flows {
class FlowService;
}

namespace ringgate::daemon {

class Daemon {
public:
    // `text` is the configuration file's content (shared on the token, config_sync.h).
    Daemon(config::Config config, std::string text, config::NodeId self);
    ~Daemon();

    // Binds sockets and starts components; an error here means nothing is running.
    Expected<void> start();
    // Runs until SIGTERM/SIGINT; returns the process exit status. SIGHUP reloads.
    int run();

    // SIGHUP (source: the node's own file) and `config push FILE`: validates the file as
    // --check-config does, and applies it live or refuses it (nothing changes) saying why;
    // an applied one is shared on the token. `writeOwnFile`: a pushed file also replaces
    // the node's own (atomically). config_reload.cpp; config/reload.h for what applies live.
    ConfigChangeReport reload(const std::string& source, const std::string& who, bool writeOwnFile);

    boost::asio::io_context& io() { return io_; }
    management::CommandTable& commands() { return commands_; }
    const config::Config& config() const { return config_; }
    config::NodeId self() const { return self_; }

    NodeStatus status() const;
    // Every counter and gauge in the Prometheus text exposition format.
    std::string metrics();

private:
    void registerCommands();  // daemon_commands.cpp
#ifdef RINGGATE_HAVE_DATAPLANE
    // The fast path's counters with the new-flow rates this reader measures.
    std::optional<dataplane::DataplaneStats> dataplaneStats();
#endif
    Expected<void> startVipActuator();
    void onSignal(int signal);
    void waitForSignal();
    // The STATUS= line systemd shows: which node, and the configuration in force.
    std::string serviceStatus() const;
    // A newer configuration complete on the token: true when adopted (written to the file,
    // and applied live or left for a restart). config_reload.cpp.
    bool adoptFromCluster(const cluster::SharedConfig& offered);
    // Replaces config_ in place (every component holds a reference to it) and hands the
    // change to each component's update path.
    void applyLive(config::Config next, std::string text);

    config::Config config_;
    std::string configText_;  // the running configuration's file content
    std::string configPath_;  // the node's own file (SIGHUP reads it, adoption rewrites it)
    config::NodeId self_;
    cluster::ConfigSync configSync_;  // the configuration on the token
    ConfigRider configRider_;
    std::optional<uint64_t> restartVersion_;  // adopted, written, waits for a restart
    std::vector<std::string> restartNeeded_;
    boost::asio::io_context io_;
    boost::asio::signal_set signals_;
    management::CommandTable commands_;
    management::ManagementServer management_;
    management::ManagementServer readOnlyManagement_;  // management.read_only_socket, if set
    management::HttpsServer remote_;  // management.listen: JSON API and web console
    cluster::ClusterService cluster_;
    // The DPDK fast path when dataplane.enabled. Declared before the actuator that uses it,
    // so that it is destroyed after it.
    std::shared_ptr<dataplane::Dataplane> dataplane_;
    // Who answers for this node's VIPs: the fast path, or the host stack when it is off.
    std::unique_ptr<vip::VipActuator> actuator_;
    // Flows across the cluster (flows.enabled, the fast path, two or more nodes).
    std::shared_ptr<flows::FlowService> flows_;  // shared: its type is complete only with DPDK
    std::unique_ptr<vip::VipService> vips_;
    cluster::Riders riders_;  // the VIP manager and the flow records on the token
    std::unique_ptr<PoolFollower> pool_;  // follows ringgate-registry for the pools that ask
    // The HTTP path (services in mode http), on threads of its own.
    std::unique_ptr<httplink::HttpLink> http_;
    // Local fault monitors: a failing one withdraws this node from its subnets' VIPs.
    std::unique_ptr<monitors::MonitorService> monitors_;
    // The CPU ringgated uses, sampled each second for the load carriage.
    monitors::CpuMeter cpu_;
    boost::asio::steady_timer cpuTimer_;
    void sampleCpu();
    std::chrono::steady_clock::time_point startedAt_;
    management::RateMeter rates_;
};

}  // namespace ringgate::daemon
