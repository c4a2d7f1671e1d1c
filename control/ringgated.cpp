// ringgated: one gateway node of a ringgate cluster.
#include <cstdio>
#include <string>

#include "common/cli.h"
#include "common/log.h"
#include "config/loader.h"
#include "config/local_node.h"
#include "control/daemon/daemon.h"

namespace {

constexpr const char* kHelp = R"(usage: ringgated [--config FILE] [--check-config | --node ID] [--log SPEC]

Runs one gateway node of a ringgate cluster, as described by FILE.

  --config FILE     the cluster configuration (YAML; see ringgate.yaml(5)); default
                    /etc/ringgate/ringgate.yaml
  --check-config    validate FILE and exit: prints "config OK" (exit 0) or one line
                    per error as FILE:LINE:COLUMN: field.path: reason (exit 2)
  --node ID         start node ID of FILE's node map; default: the one node that has
                    an address of this host
  --log SPEC        log levels: "debug", or per category "cluster=debug,vip=warn"
                    (categories: main config cluster messaging vip dataplane registry
                    buddy management); change at run time with ringgatectl log-level
  --help            this text
  --version         print the version

Signals: SIGTERM or SIGINT leave the ring cleanly and exit 0. SIGHUP re-reads FILE,
validates it as --check-config does, and applies it live (VIPs, L4 services, pools,
timers; config_version must grow) and shares it with every node on the token, or
refuses it with a log line saying why and changes nothing (docs/CONFIGURATION.md).
Under systemd (ringgated@ID.service, Type=notify) it reports READY=1 once it serves,
RELOADING=1 and READY=1 around a SIGHUP reload, and STOPPING=1; when stderr is the
journal every log line carries its priority (journalctl -p warning).
Exit status: 0 success, 1 runtime failure, 2 bad command line or configuration.
)";

int usageError(const std::string& message) { return ringgate::cli::usageError("ringgated", message); }

// --node ID, or the node that has an address of this host.
ringgate::Expected<ringgate::config::NodeId> nodeOf(const std::optional<std::string>& text,
                                                    const ringgate::config::Config& config, const std::string& path) {
    using namespace ringgate;
    if (!text) {
        auto addresses = config::hostIpv4Addresses();
        if (!addresses) return addresses.error();
        auto found = config::localNode(config.cluster, *addresses);
        if (!found) return makeError(found.error().message + " (node map of " + path + ")");
        return found;
    }
    auto number = cli::parseNumber("node", *text, 1, 65535);
    if (!number) return number.error();
    if (!config.cluster.findNode(static_cast<config::NodeId>(*number)))
        return makeError("node " + *text + " is not in the node map of " + path);
    return static_cast<config::NodeId>(*number);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace ringgate;
    auto start = cli::startProgram("ringgated", argc, argv, {{"config", "node"}, {"check-config"}}, kHelp);
    if (!start.args) return start.exitStatus;
    auto& args = start.args;
    std::string configPath = args->option("config").value_or(config::kDefaultConfigPath);

    auto loaded = config::loadFile(configPath);
    if (!loaded.config) {
        std::fputs(loaded.report("ringgated").c_str(), stderr);
        return 2;
    }
    if (args->has("check-config")) {
        if (args->option("node")) return usageError("--check-config and --node are exclusive");
        std::puts("config OK");
        return 0;
    }

    auto node = nodeOf(args->option("node"), *loaded.config, configPath);
    if (!node) return usageError(node.error().message);

    log::setIdentity("node" + std::to_string(*node));
    daemon::Daemon daemon(std::move(*loaded.config), std::move(loaded.text), *node);
    if (auto started = daemon.start(); !started) {
        RG_ERROR(Main, "%s", started.error().message.c_str());
        return 1;
    }
    return daemon.run();
}
