// Changing the configuration of a running node: SIGHUP, `ringgatectl config push FILE`,
// and a newer version adopted from the token. All three validate the same way
// (config::loadString, as --check-config, then config::planReload) and apply through
// applyLive(); docs/CONFIGURATION.md, "Changing the configuration of a running cluster".
#include "common/log.h"
#include "config/loader.h"
#include "config/reload.h"
#include "config/save.h"
#include "control/daemon/daemon.h"
#ifdef RINGGATE_HAVE_DATAPLANE
#include "dataplane/dataplane.h"
#endif

namespace ringgate::daemon {

namespace {

std::string joined(const std::vector<std::string>& lines, const char* separator = "; ") {
    std::string out;
    for (const std::string& line : lines) out += (out.empty() ? "" : separator) + line;
    return out;
}

}  // namespace

ConfigChangeReport Daemon::reload(const std::string& source, const std::string& who, bool writeOwnFile) {
    ConfigChangeReport report;
    report.source = source;
    auto refuse = [&](const char* what) {
        report.version = config_.cluster.configVersion;
        report.hash = cluster::shortHex(cluster::digestOf(configText_));
        RG_WARN(Config, "%s: %s %s refused, nothing changed: %s", who.c_str(), what, source.c_str(),
                joined(report.errors).c_str());
        return report;
    };
    config::LoadResult loaded = config::loadFile(source);
    if (!loaded.config) {
        for (const config::ConfigError& error : loaded.errors) report.errors.push_back(error.toString());
        return refuse("invalid configuration");
    }
    config::ReloadPlan plan = config::planReload(config_, *loaded.config, self_, loaded.text == configText_);
    if (!plan.live()) {
        report.errors = plan.refusals;
        return refuse("configuration");
    }
    if (plan.unchanged) {
        report.unchanged = true;
        report.version = config_.cluster.configVersion;
        report.hash = cluster::shortHex(cluster::digestOf(configText_));
        RG_INFO(Config, "%s: %s is the running configuration (version %llu): nothing to do", who.c_str(),
                source.c_str(), static_cast<unsigned long long>(report.version));
        return report;
    }
    if (writeOwnFile && source != configPath_) {
        if (auto written = config::writeFileAtomically(configPath_, loaded.text); !written) {
            report.errors.push_back(written.error().message);
            return refuse("configuration");
        }
    }
    report.applied = true;
    report.changes = plan.changes;
    RG_INFO(Config, "%s: configuration version %llu from %s applied: %s", who.c_str(),
            static_cast<unsigned long long>(loaded.config->cluster.configVersion), source.c_str(),
            joined(plan.changes).c_str());
    applyLive(std::move(*loaded.config), std::move(loaded.text));
    restartVersion_.reset();
    restartNeeded_.clear();
    configSync_.setLocal(cluster::SharedConfig::of(config_.cluster.configVersion, configText_));
    report.version = config_.cluster.configVersion;
    report.hash = cluster::shortHex(configSync_.local().digest);
    return report;
}

bool Daemon::adoptFromCluster(const cluster::SharedConfig& offered) {
    std::string hash = cluster::shortHex(offered.digest);
    unsigned long long version = offered.version;
    config::LoadResult loaded = config::loadString(offered.text, configPath_);
    std::vector<std::string> why;
    if (!loaded.config) {
        for (const config::ConfigError& error : loaded.errors) why.push_back(error.toString());
    } else if (loaded.config->cluster.configVersion != offered.version) {
        why.push_back("the carriage says version " + std::to_string(offered.version) + ", the file " +
                      std::to_string(loaded.config->cluster.configVersion));
    } else if (!loaded.config->cluster.findNode(self_)) {
        why.push_back("node " + std::to_string(self_) + " is not in its node map");
    } else if (loaded.config->cluster.name != config_.cluster.name) {
        why.push_back("it is for cluster '" + loaded.config->cluster.name + "'");
    }
    if (!why.empty()) {
        RG_WARN(Config, "configuration version %llu (%s) from the cluster refused, nothing changed: %s", version,
                hash.c_str(), joined(why).c_str());
        return false;
    }
    // The cluster's version won on the token: this node's file follows it, so a restart
    // starts from it (and hands no older version back).
    if (auto written = config::writeFileAtomically(configPath_, loaded.text); !written)
        RG_WARN(Config, "configuration version %llu: %s (applied all the same)", version,
                written.error().message.c_str());
    config::ReloadPlan plan = config::planReload(config_, *loaded.config, self_, loaded.text == configText_,
                                                 config::VersionRule::Any);
    if (plan.unchanged) return true;
    if (!plan.live()) {
        restartVersion_ = offered.version;
        restartNeeded_ = plan.refusals;
        RG_WARN(Config, "configuration version %llu (%s) adopted from the cluster and written to %s; a restart "
                "applies it: %s", version, hash.c_str(), configPath_.c_str(), joined(plan.refusals).c_str());
        return true;
    }
    RG_INFO(Config, "configuration version %llu (%s) adopted from the cluster, written to %s: %s", version,
            hash.c_str(), configPath_.c_str(), joined(plan.changes).c_str());
    applyLive(std::move(*loaded.config), std::move(loaded.text));
    restartVersion_.reset();
    restartNeeded_.clear();
    return true;
}

void Daemon::applyLive(config::Config next, std::string text) {
    config::Config before = config_;
    next.sourcePath = configPath_;
    config_ = std::move(next);  // in place: components keep their reference to config_
    configText_ = std::move(text);
    cluster_.applyTimers();
#ifdef RINGGATE_HAVE_DATAPLANE
    // The fast path first: its XDP programs learn new VIPs before the actuator puts them
    // on the host side.
    if (dataplane_)
        if (auto ok = dataplane_->reconfigure(config_); !ok)
            RG_ERROR(Config, "fast path: %s", ok.error().message.c_str());
#endif
    if (actuator_)
        if (auto ok = actuator_->reconfigure(); !ok) RG_ERROR(Config, "VIP actuator: %s", ok.error().message.c_str());
    if (vips_) vips_->reconfigure(before);
    if (http_)
        for (const config::BackendPool& pool : config_.pools)
            if (!pool.fromRegistry) http_->setLiveBackends(pool.name, pool.backends);
    if (pool_) pool_->reconfigure();
}

}  // namespace ringgate::daemon
