// ringgated: one gateway node of a ringgate cluster.
#include <cstdio>
#include <string>

#include "common/cli.h"
#include "common/log.h"
#include "config/loader.h"
#include "control/daemon/daemon.h"

namespace {

constexpr const char* kHelp = R"(usage: ringgated --config FILE (--check-config | --node ID) [--log SPEC]

Runs one gateway node of a ringgate cluster, as described by FILE.

  --config FILE     the cluster configuration (YAML; see docs/CONFIGURATION.md)
  --check-config    validate FILE and exit: prints "config OK" (exit 0) or one line
                    per error as FILE:LINE:COLUMN: field.path: reason (exit 2)
  --node ID         start node ID of FILE's node map
  --log SPEC        log levels: "debug", or per category "cluster=debug,vip=warn"
                    (categories: main config cluster messaging vip dataplane registry
                    buddy management); change at run time with ringgatectl log-level
  --help            this text
  --version         print the version

Signals: SIGTERM or SIGINT leave the ring cleanly and exit 0. SIGHUP re-reads FILE,
validates it as --check-config does, and applies it live (VIPs, L4 services, pools,
timers; config_version must grow) and shares it with every node on the token, or
refuses it with a log line saying why and changes nothing (docs/CONFIGURATION.md).
Exit status: 0 success, 1 runtime failure, 2 bad command line or configuration.
)";

int usageError(const std::string& message) { return ringgate::cli::usageError("ringgated", message); }

}  // namespace

int main(int argc, char** argv) {
    using namespace ringgate;
    auto start = cli::startProgram("ringgated", argc, argv, {{"config", "node"}, {"check-config"}}, kHelp);
    if (!start.args) return start.exitStatus;
    auto& args = start.args;
    auto configPath = args->option("config");
    if (!configPath) return usageError("--config FILE is required (see --help)");

    auto loaded = config::loadFile(*configPath);
    if (!loaded.config) {
        std::fputs(loaded.report("ringgated").c_str(), stderr);
        return 2;
    }
    if (args->has("check-config")) {
        if (args->option("node")) return usageError("--check-config and --node are exclusive");
        std::puts("config OK");
        return 0;
    }

    auto nodeText = args->option("node");
    if (!nodeText) return usageError("--node ID or --check-config is required (see --help)");
    auto node = cli::parseNumber("node", *nodeText, 1, 65535);
    if (!node) return usageError(node.error().message);
    if (!loaded.config->cluster.findNode(static_cast<config::NodeId>(*node)))
        return usageError("node " + *nodeText + " is not in the node map of " + *configPath);

    log::setIdentity("node" + *nodeText);
    daemon::Daemon daemon(std::move(*loaded.config), std::move(loaded.text), static_cast<config::NodeId>(*node));
    if (auto started = daemon.start(); !started) {
        RG_ERROR(Main, "%s", started.error().message.c_str());
        return 1;
    }
    return daemon.run();
}
