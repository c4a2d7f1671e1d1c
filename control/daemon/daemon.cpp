#include "control/daemon/daemon.h"

#include <csignal>

#include "common/cli.h"
#include "common/json_writer.h"
#include "common/log.h"
#include "control/httplink/stats_view.h"
#ifdef RINGGATE_HAVE_DATAPLANE
#include "control/vip/dataplane_actuator.h"
#include "dataplane/dataplane.h"
#endif

namespace ringgate::daemon {

using management::Format;
using management::Reply;
using management::Request;

Daemon::Daemon(config::Config config, config::NodeId self)
    : config_(std::move(config)),
      self_(self),
      signals_(io_, SIGTERM, SIGINT),
      management_(io_, commands_),
      cluster_(io_, config_, self_),
      startedAt_(std::chrono::steady_clock::now()) {
    registerCommands();
    cluster_.registerCommands(commands_);
    if (httplink::HttpLink::needed(config_)) http_ = std::make_unique<httplink::HttpLink>(config_);
    if (PoolFollower::needed(config_)) {
        // The fast path takes each new live set; without it the gateway still follows
        // and shows the live list.
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
        pool_->registerCommands(commands_);
    }
}

Daemon::~Daemon() = default;

Expected<void> Daemon::startVipActuator() {
    if (config_.dataplane.enabled) {
#ifdef RINGGATE_HAVE_DATAPLANE
        if (auto cleared = vip::DataplaneActuator::clearHostVips(config_, self_); !cleared) return cleared;
        auto started = dataplane::Dataplane::start(config_, self_, dataplane::defaultOptions(config_));
        if (!started) return started.error();
        dataplane_ = std::move(*started);
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
    auto listening = management_.listen(config_.management.socketPathFor(self_));
    if (!listening) return listening;
    auto actuating = startVipActuator();
    if (!actuating) return actuating;
    if (http_)
        if (auto proxying = http_->start(); !proxying) return proxying;
    // The VIP manager rides the token: it must be on the train before the first one.
    vips_ = std::make_unique<vip::VipService>(config_, self_, *actuator_);
    vips_->registerCommands(commands_);
    cluster_.setHooks(vips_.get());
    auto clustering = cluster_.start();
    if (!clustering) return clustering;
    if (pool_) pool_->start();
    signals_.async_wait([this](boost::system::error_code ec, int signal) {
        if (!ec) onSignal(signal);
    });
    RG_INFO(Main, "node %u of cluster '%s' (config version %llu) started; dataplane %s", self_,
            config_.cluster.name.c_str(),
            static_cast<unsigned long long>(config_.cluster.configVersion),
            config_.dataplane.enabled ? "enabled" : "off");
    return {};
}

int Daemon::run() {
    io_.run();
    return 0;
}

void Daemon::onSignal(int signal) {
    RG_INFO(Main, "signal %d: leaving the ring and shutting down", signal);
    if (pool_) pool_->stop();
    cluster_.leave([this] {
        management_.close();
        io_.stop();
    });
}

void Daemon::registerCommands() {
#ifdef RINGGATE_HAVE_DATAPLANE
    commands_.add("stats", "stats              fast-path counters per port, VIP, service and back end",
                  [this](const Request& request) {
                      if (!dataplane_) return Reply::error(request.format, "the fast path is off");
                      return Reply{true, request.format == Format::Json ? dataplane_->statsJson()
                                                                        : dataplane_->statsText()};
                  });
    commands_.add("connections", "connections [VIP] [MAX]  the fast path's connections (of VIP; at most MAX, default 100)",
                  [this](const Request& request) {
                      std::optional<Ipv4Address> vip;
                      size_t limit = 100;
                      for (const std::string& arg : request.args) {
                          if (auto address = Ipv4Address::parse(arg)) {
                              vip = address;
                          } else if (auto number = cli::parseNumber("MAX", arg, 1, 100000)) {
                              limit = static_cast<size_t>(*number);
                          } else {
                              return Reply::error(request.format, "usage: connections [VIP] [MAX]: '" + arg +
                                                                      "' is neither a VIP nor a count (1-100000)");
                          }
                      }
                      if (!dataplane_) return Reply::error(request.format, "the fast path is off");
                      return Reply{true, request.format == Format::Json ? dataplane_->connectionsJson(vip, limit)
                                                                        : dataplane_->connectionsText(vip, limit)};
                  });
    commands_.add("garp", "garp VIP           announce an owned VIP by gratuitous ARP from the fast path",
                  [this](const Request& request) {
                      auto vip = request.args.size() == 1 ? Ipv4Address::parse(request.args[0]) : std::nullopt;
                      if (!vip) return Reply::error(request.format, "usage: garp VIP");
                      if (!dataplane_) return Reply::error(request.format, "the fast path is off");
                      auto sent = dataplane_->sendGratuitousArp(*vip);
                      if (!sent) return Reply::error(request.format, sent.error().message);
                      return Reply{true, request.format == Format::Json ? "{\"sent\":true}\n" : "sent\n"};
                  });
    commands_.add("live-backends", "live-backends POOL [ADDR:PORT...]  set the back ends new flows of POOL may use",
                  [this](const Request& request) {
                      if (request.args.empty()) return Reply::error(request.format, "usage: live-backends POOL [ADDR:PORT...]");
                      if (!dataplane_) return Reply::error(request.format, "the fast path is off");
                      std::vector<config::Backend> live;
                      for (size_t i = 1; i < request.args.size(); ++i) {
                          auto endpoint = Ipv4Endpoint::parse(request.args[i]);
                          if (!endpoint) return Reply::error(request.format, "bad back end '" + request.args[i] + "'");
                          live.push_back({endpoint->address, endpoint->port, 1});
                      }
                      auto set = dataplane_->setLiveBackends(request.args[0], std::move(live));
                      if (!set) return Reply::error(request.format, set.error().message);
                      return Reply{true, request.format == Format::Json ? "{\"set\":true}\n" : "set\n"};
                  });
#endif
    commands_.add("http-stats", "http-stats         the HTTP path: requests, bytes, resumes by outcome, aborted transfers",
                  [this](const Request& request) {
                      auto stats = http_ ? http_->stats() : std::vector<httplink::HttpServiceStats>{};
                      return Reply{true, request.format == Format::Json ? httplink::renderStatsJson(stats)
                                                                        : httplink::renderStatsText(stats)};
                  });
    commands_.add("status", "status             node identity, uptime and configuration version",
                  [this](const Request& request) {
                      auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now() - startedAt_)
                                        .count();
                      if (request.format == Format::Json) {
                          JsonWriter json;
                          json.beginObject()
                              .field("node", self_)
                              .field("cluster", config_.cluster.name)
                              .field("config_version", config_.cluster.configVersion)
                              .field("uptime_ms", static_cast<int64_t>(uptime))
                              .field("dataplane", config_.dataplane.enabled)
                              .field("pid", static_cast<int64_t>(::getpid()))
                              .field("authenticated", config_.cluster.sharedKey.has_value());
                          json.key("warnings").beginArray();
                          if (!config_.cluster.sharedKey) json.value(cluster::kNoKeyWarning);
                          json.endArray().endObject();
                          return Reply{true, json.str() + "\n"};
                      }
                      std::string body = "node " + std::to_string(self_) + " of cluster '" +
                                         config_.cluster.name + "'\n";
                      body += "config version " + std::to_string(config_.cluster.configVersion) + "\n";
                      body += "uptime " + std::to_string(uptime / 1000) + "." +
                              std::to_string(uptime % 1000 / 100) + " s\n";
                      body += std::string("dataplane ") +
                              (config_.dataplane.enabled ? "enabled" : "off") + "\n";
                      if (!config_.cluster.sharedKey)
                          body += "warning: " + std::string(cluster::kNoKeyWarning) + "\n";
                      return Reply{true, body};
                  });
    commands_.add("log-level", "log-level SPEC     set log levels, e.g. 'debug' or 'cluster=debug,vip=info'",
                  [](const Request& request) {
                      if (request.args.size() != 1)
                          return Reply::error(request.format, "usage: log-level SPEC");
                      if (!log::applySpec(request.args[0]))
                          return Reply::error(request.format,
                                              "bad log spec '" + request.args[0] +
                                                  "' (levels: error warn info debug)");
                      if (request.format == Format::Json) {
                          JsonWriter json;
                          json.beginObject().field("log_level", request.args[0]).endObject();
                          return Reply{true, json.str() + "\n"};
                      }
                      return Reply{true, "log levels set to " + request.args[0] + "\n"};
                  });
}

}  // namespace ringgate::daemon
