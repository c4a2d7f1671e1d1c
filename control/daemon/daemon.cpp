#include "control/daemon/daemon.h"

#include <csignal>
#include <filesystem>

#include "common/log.h"
#include "common/service_notify.h"
#ifdef RINGGATE_HAVE_DATAPLANE
#include "control/flows/flow_service.h"
#include "control/vip/dataplane_actuator.h"
#include "dataplane/dataplane.h"
#endif

namespace ringgate::daemon {

Daemon::Daemon(config::Config config, std::string text, config::NodeId self)
    : config_(std::move(config)),
      configText_(std::move(text)),
      // Absolute: the file is rewritten later (adoption, push), whatever the working directory.
      configPath_(std::filesystem::absolute(config_.sourcePath).lexically_normal().string()),
      self_(self),
      configSync_(config_.cluster.name, cluster::SharedConfig::of(config_.cluster.configVersion, configText_)),
      configRider_(
          configSync_, [this](const cluster::SharedConfig& offered) { return adoptFromCluster(offered); },
          [this] { return config_.cluster.configVersion; }, [this](bool current) { cluster_.setMapCurrent(current); }),
      // SIGHUP is caught from here on: a reload signal during start-up waits for run().
      signals_(io_, SIGTERM, SIGINT, SIGHUP),
      management_(io_, commands_),
      readOnlyManagement_(io_, commands_),
      remote_(io_, commands_),
      cluster_(io_, config_, self_),
      cpuTimer_(io_),
      startedAt_(std::chrono::steady_clock::now()) {
    if (httplink::HttpLink::needed(config_)) http_ = std::make_unique<httplink::HttpLink>(config_);
    // The fast path takes each new live set; without it the gateway still follows and
    // shows the live list. Without a registry it only reports the configured pools.
    pool_ = std::make_unique<PoolFollower>(
            io_, config_, [this](const std::string& pool, const std::vector<config::Backend>& live) {
                if (http_) http_->setLiveBackends(pool, live);
#ifdef RINGGATE_HAVE_DATAPLANE
                if (!dataplane_) return;
                if (auto set = dataplane_->setLiveBackends(pool, live); !set)
                    RG_WARN(Registry, "pool %s: %s", pool.c_str(), set.error().message.c_str());
#else
                (void)pool;
                (void)live;
#endif
            });
    registerCommands();
}

Daemon::~Daemon() = default;

Expected<void> Daemon::startVipActuator() {
    if (config_.dataplane.enabled) {
#ifdef RINGGATE_HAVE_DATAPLANE
        if (auto cleared = vip::DataplaneActuator::clearHostVips(config_, self_); !cleared) return cleared;
        auto started = dataplane::Dataplane::start(config_, self_, dataplane::defaultOptions(config_));
        if (!started) return started.error();
        dataplane_ = std::move(*started);
        if (dataplane::defaultOptions(config_).flows) {
            flows_ = std::make_shared<flows::FlowService>(io_, config_, self_, *dataplane_);
            if (auto ok = flows_->start(); !ok) return ok;
        }
        auto actuator = std::make_unique<vip::DataplaneActuator>(io_, config_, self_, *dataplane_);
        if (auto ok = actuator->start(); !ok) return ok;
        actuator_ = std::move(actuator);
        return {};
#else
        return makeError("dataplane.enabled is true, but this ringgated was built without DPDK; "
                         "set dataplane: { enabled: false } to run the control plane alone");
#endif
    }
    auto actuator = std::make_unique<vip::KernelActuator>(io_, config_, self_);
    if (auto ok = actuator->start(); !ok) return ok;
    actuator_ = std::move(actuator);
    return {};
}

Expected<void> Daemon::start() {
    auto listening = management_.listen(config_.management.socketPathFor(self_), config_.management.socketGroup);
    if (!listening) return listening;
    if (!config_.management.readOnlySocketPath.empty()) {
        listening = readOnlyManagement_.listen(config_.management.readOnlySocketPathFor(self_),
                                               config_.management.readOnlySocketGroup, management::Access::Read);
        if (!listening) return listening;
    }
    if (auto remote = remote_.start(config_.management); !remote) return remote;
    auto actuating = startVipActuator();
    if (!actuating) return actuating;
    if (http_)
        if (auto proxying = http_->start(); !proxying) return proxying;
    // The VIP manager rides the token: it must be on the train before the first one.
    vips_ = std::make_unique<vip::VipService>(config_, self_, *actuator_);
    vips_->setFence([this](cluster::NodeId owner, cluster::Time now) { return cluster_.fenceFor(owner, now); });
    vips_->setGranted([this](cluster::NodeId owner, cluster::Time now) { return cluster_.grantedBy(owner, now); });
    vips_->setTie([this](const std::vector<cluster::NodeId>& members) { return cluster_.tie(members); });
    // The configuration first: a VIP that a newer version adds is known before the VIP
    // table is read in the same visit.
    riders_.add(&configRider_);
    riders_.add(vips_.get());
#ifdef RINGGATE_HAVE_DATAPLANE
    if (flows_) riders_.add(flows_.get());
#endif
    // Monitors before the ring: a node whose NIC is down at start gives its VIPs up at
    // once rather than after its first claims (an unknown verdict withdraws nothing).
    monitors_ = std::make_unique<monitors::MonitorService>(
            io_, config_, [this](const std::set<std::string>& subnets) { vips_->setWithdrawnSubnets(subnets); });
    if (auto monitoring = monitors_->start(); !monitoring) return monitoring;
    sampleCpu();
    cluster_.setHooks(&riders_);
    auto clustering = cluster_.start();
    if (!clustering) return clustering;
    if (pool_) pool_->start();
    waitForSignal();
    RG_INFO(Main, "node %u of cluster '%s' (config version %llu, %s) started; dataplane %s", self_,
            config_.cluster.name.c_str(),
            static_cast<unsigned long long>(config_.cluster.configVersion),
            cluster::shortHex(configSync_.local().digest).c_str(), config_.dataplane.enabled ? "enabled" : "off");
    return {};
}

void Daemon::sampleCpu() {
    vips_->setCpuPermille(cpu_.update(std::chrono::steady_clock::now(), monitors::processCpuTime()));
    cpuTimer_.expires_after(std::chrono::seconds(1));
    cpuTimer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) sampleCpu();
    });
}

int Daemon::run() {
    // Ready once the loop turns: the management socket, the cluster port and the fast
    // path are open, and from here on they are answered.
    boost::asio::post(io_, [this] { service::ready(serviceStatus()); });
    io_.run();
    return 0;
}

std::string Daemon::serviceStatus() const {
    return "node " + std::to_string(self_) + " of cluster '" + config_.cluster.name + "', config version " +
           std::to_string(config_.cluster.configVersion);
}

void Daemon::waitForSignal() {
    signals_.async_wait([this](boost::system::error_code ec, int signal) {
        if (!ec) onSignal(signal);
    });
}

void Daemon::onSignal(int signal) {
    if (signal == SIGHUP) {
        service::reloading("reloading " + configPath_);
        reload(configPath_, "SIGHUP", false);  // logs what it did; never stops the daemon
        service::ready(serviceStatus());
        waitForSignal();
        return;
    }
    RG_INFO(Main, "signal %d: leaving the ring and shutting down", signal);
    service::stopping("leaving the ring");
    if (pool_) pool_->stop();
    if (monitors_) monitors_->stop();
    cpuTimer_.cancel();
    cluster_.leave([this] {
        management_.close();
        readOnlyManagement_.close();
        remote_.stop();
        io_.stop();
    });
}

}  // namespace ringgate::daemon
