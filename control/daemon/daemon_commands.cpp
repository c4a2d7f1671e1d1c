// ringgated's management commands: each asks a component for its report (or hands it an
// operator's change) and lets the management layer render the answer. The commands and
// their help come from the catalogue (control/management/catalogue.h).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/cli.h"
#include "common/log.h"
#include "control/daemon/daemon.h"
#include "control/management/metrics.h"
#include "control/management/render.h"
#include "control/vip/vip_commands.h"
#ifdef RINGGATE_HAVE_DATAPLANE
#include "control/flows/flow_service.h"
#include "dataplane/dataplane.h"
#endif

namespace ringgate::daemon {

using management::findCommand;
using management::Format;
using management::Reply;
using management::Request;

namespace {
const management::CommandSpec& spec(std::string_view name) { return *findCommand(name); }

// A regular file that `uid` could read by its owner or world bits (root: any regular file).
// Group bits are not trusted: the daemon cannot cheaply know the asker's groups.
Expected<void> readableBy(const std::string& path, std::optional<uint32_t> uid) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return makeError(path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return makeError(path + " is not a regular file");
    if (!uid) return makeError("the asking user is unknown");
    if (*uid == 0 || (st.st_uid == *uid && (st.st_mode & S_IRUSR)) || (st.st_mode & S_IROTH)) return {};
    return makeError(path + " is not readable by uid " + std::to_string(*uid) + " (owner or world read needed)");
}
}  // namespace

NodeStatus Daemon::status() const {
    auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - startedAt_);
    NodeStatus status;
    status.node = self_;
    status.cluster = config_.cluster.name;
    status.configVersion = config_.cluster.configVersion;
    status.configHash = cluster::shortHex(cluster::digestOf(configText_));
    status.configFile = configPath_;
    status.restartVersion = restartVersion_;
    status.restartNeeded = restartNeeded_;
    const cluster::ConfigSyncCounters& c = configSync_.counters();
    status.configSync = {
        {"handed_on", c.handedOn},
        {"chunks_received", c.chunksReceived},
        {"offered", c.offered},
        {"adopted", c.adopted},
        {"conflicts", c.conflicts},
        {"refused_invalid", c.refusedInvalid},
        {"refused_garbled", c.refusedGarbled},
        {"refused_oversized", c.refusedOversized},
        {"refused_future_format", c.refusedFutureFormat},
        {"refused_foreign_cluster", c.refusedForeignCluster},
        {"orphaned", c.orphaned},
    };
    status.uptimeMs = static_cast<uint64_t>(uptime.count());
    status.dataplane = config_.dataplane.enabled;
    status.pid = static_cast<int64_t>(::getpid());
    status.version = RINGGATE_VERSION;
    status.authenticated = config_.cluster.sharedKey.has_value();
    if (!config_.cluster.sharedKey) status.warnings.push_back(std::string(cluster::kNoKeyWarning));
    if (restartVersion_)
        status.warnings.push_back("configuration version " + std::to_string(*restartVersion_) +
                                  " is in the file but needs a restart to apply");
    return status;
}

#ifdef RINGGATE_HAVE_DATAPLANE
std::optional<dataplane::DataplaneStats> Daemon::dataplaneStats() {
    if (!dataplane_) return std::nullopt;
    dataplane::DataplaneStats stats = dataplane_->stats();
    auto now = management::RateMeter::Clock::now();
    for (auto& service : stats.services)
        service.newFlowsPerSecond =
            rates_.rate("service/" + service.name + "/new_flows", report::find(service.traffic, "new_flows").value_or(0), now);
    return stats;
}
#endif

std::string Daemon::metrics() {
    management::MetricsInput input{status(), cluster_.report(), std::nullopt, std::nullopt, pool_->report(),
                                   std::nullopt, std::nullopt};
    if (vips_) input.vips = vips_->report();
    if (http_) input.http = http_->report();
#ifdef RINGGATE_HAVE_DATAPLANE
    input.dataplane = dataplaneStats();
    if (flows_) input.flows = flows_->report();
#endif
    return management::toPrometheus(input);
}

void Daemon::registerCommands() {
    commands_.add(spec("metrics"), [this](const Request& r) {
        if (!r.args.empty()) return Reply::error(r.format, "usage: metrics");
        // One format only: the Prometheus text exposition, whatever the request asked.
        return Reply{true, metrics()};
    });
    commands_.add(spec("status"), [this](const Request& r) {
        if (!r.args.empty()) return Reply::error(r.format, "usage: status");
        return management::render(status(), r.format);
    });
    commands_.add(spec("members"), [this](const Request& r) {
        if (!r.args.empty()) return Reply::error(r.format, "usage: members");
        return management::render(cluster_.report(), r.format);
    });
    commands_.add(spec("vips"), [this](const Request& r) {
        if (!r.args.empty()) return Reply::error(r.format, "usage: vips");
        if (!vips_) return Reply::error(r.format, "the VIP manager is not running yet");
        return management::render(vips_->report(), r.format);
    });
    auto vipChange = [this](const Request& r) {
        auto command = vip::parseCommand(r.command, r.args);
        if (!command) return Reply::error(r.format, command.error().message);
        if (!vips_) return Reply::error(r.format, "the VIP manager is not running yet");
        auto accepted = vips_->submit(*command, r.who);
        if (!accepted) return Reply::error(r.format, accepted.error().message);
        return management::render(*accepted, r.format);
    };
    commands_.add(spec("vip"), vipChange);
    commands_.add(spec("drain"), vipChange);
    commands_.add(spec("undrain"), vipChange);
    commands_.add(spec("pool"), [this](const Request& r) {
        if (!r.args.empty()) return Reply::error(r.format, "usage: pool");
        return management::render(pool_->report(), r.format);
    });
    commands_.add(spec("config"), [this](const Request& r) {
        if (r.args.size() != 2 || r.args[0] != "push") return Reply::error(r.format, "usage: config push FILE");
        if (r.args[1].empty() || r.args[1][0] != '/')
            return Reply::error(r.format, "config push: FILE must be an absolute path (ringgatectl makes it one)");
        // ringgated reads FILE with its own rights: only what the asking user could read.
        if (auto readable = readableBy(r.args[1], r.uid); !readable)
            return Reply::error(r.format, "config push: " + readable.error().message);
        ConfigChangeReport report = reload(r.args[1], "operator " + r.who + ": config push", true);
        Reply reply = management::render(report, r.format);
        reply.ok = report.ok();
        return reply;
    });
    commands_.add(spec("log-level"), [](const Request& r) {
        if (r.args.size() != 1) return Reply::error(r.format, "usage: log-level SPEC");
        if (!log::applySpec(r.args[0]))
            return Reply::error(r.format, "bad log spec '" + r.args[0] + "' (levels: error warn info debug)");
        RG_INFO(Management, "operator %s: log levels set to %s", r.who.c_str(), r.args[0].c_str());
        return management::acknowledge(r.format, "log_level", r.args[0], "log levels set to " + r.args[0]);
    });
#ifdef RINGGATE_HAVE_DATAPLANE
    commands_.add(spec("stats"), [this](const Request& r) {
        if (!r.args.empty()) return Reply::error(r.format, "usage: stats");
        auto stats = dataplaneStats();
        if (!stats) return Reply::error(r.format, "the fast path is off");
        return management::render(*stats, r.format);
    });
    commands_.add(spec("connections"), [this](const Request& r) {
        std::optional<Ipv4Address> vip;
        size_t limit = 100;
        for (const std::string& arg : r.args) {
            if (auto address = Ipv4Address::parse(arg)) {
                vip = address;
            } else if (auto number = cli::parseNumber("MAX", arg, 1, 100000)) {
                limit = static_cast<size_t>(*number);
            } else {
                return Reply::error(r.format, "usage: connections [VIP] [MAX]: '" + arg +
                                                  "' is neither a VIP nor a count (1-100000)");
            }
        }
        if (!dataplane_) return Reply::error(r.format, "the fast path is off");
        return management::render(dataplane_->connectionsReport(vip, limit), r.format);
    });
    commands_.add(spec("flows"), [this](const Request& r) {
        if (!r.args.empty()) return Reply::error(r.format, "usage: flows");
        if (!flows_)
            return Reply::error(r.format, "flows across the cluster are off (flows.enabled, the fast path and "
                                          "two or more nodes)");
        return management::render(flows_->report(), r.format);
    });
    commands_.add(spec("garp"), [this](const Request& r) {
        auto vip = r.args.size() == 1 ? Ipv4Address::parse(r.args[0]) : std::nullopt;
        if (!vip) return Reply::error(r.format, "usage: garp VIP");
        if (!dataplane_) return Reply::error(r.format, "the fast path is off");
        auto sent = dataplane_->sendGratuitousArp(*vip);
        if (!sent) return Reply::error(r.format, sent.error().message);
        RG_INFO(Management, "operator %s: gratuitous ARP for %s", r.who.c_str(), vip->toString().c_str());
        return management::acknowledge(r.format, "sent", true, "sent");
    });
    commands_.add(spec("live-backends"), [this](const Request& r) {
        if (r.args.empty()) return Reply::error(r.format, "usage: live-backends POOL [ADDR:PORT...]");
        if (!dataplane_) return Reply::error(r.format, "the fast path is off");
        std::vector<config::Backend> live;
        for (size_t i = 1; i < r.args.size(); ++i) {
            auto endpoint = Ipv4Endpoint::parse(r.args[i]);
            if (!endpoint) return Reply::error(r.format, "bad back end '" + r.args[i] + "'");
            live.push_back({endpoint->address, endpoint->port, 1});
        }
        auto set = dataplane_->setLiveBackends(r.args[0], std::move(live));
        if (!set) return Reply::error(r.format, set.error().message);
        RG_INFO(Management, "operator %s: live back ends of pool %s set (%zu)", r.who.c_str(), r.args[0].c_str(),
                r.args.size() - 1);
        return management::acknowledge(r.format, "set", true, "set");
    });
#endif
    commands_.add(spec("http-stats"), [this](const Request& r) {
        if (!r.args.empty()) return Reply::error(r.format, "usage: http-stats");
        return management::render(http_ ? http_->report() : httplink::HttpReport{}, r.format);
    });
#ifndef RINGGATE_HAVE_DATAPLANE
    for (const char* name : {"stats", "connections", "flows", "garp", "live-backends"})
        commands_.add(spec(name), [](const Request& r) {
            return Reply::error(r.format, "this ringgated was built without the fast path (DPDK)");
        });
#endif
}

}  // namespace ringgate::daemon
