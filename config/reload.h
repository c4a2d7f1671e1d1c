// What a running node may take from a new configuration without a restart (SIGHUP,
// `ringgatectl config push`, or a newer version adopted from the token), decided as data
// so that the daemon's three paths and the tests share one rule. docs/CONFIGURATION.md,
// "Changing the configuration of a running cluster", lists the fields.
//
// Live: the VIPs of each subnet (added, removed, preferred host, persistence), L4
// services, pools, timers, and config_version itself. Everything else needs a restart:
// the cluster's identity and wire (name, port, shared key, node map), the subnets
// themselves, the fast path, flows, management, the registry, local monitors and HTTP
// services (their proxies bind at start).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"

namespace ringgate::config {

struct ReloadPlan {
    bool unchanged = false;                 // same file content as running: nothing to do
    std::vector<std::string> refusals;      // why it cannot apply live; empty: it can
    std::vector<std::string> changes;       // what it changes, one short line each (the log)
    bool live() const { return refusals.empty(); }
};

enum class VersionRule : uint8_t {
    MustGrow,  // SIGHUP and push: a changed file must raise cluster.config_version (the
               // highest version wins on the token; two contents under one version would
               // converge only by the digest tie-break, which an operator does not expect)
    Any,       // adopting the cluster's: its version already won on the token
};

// `sameText`: the new file's content equals the running one's (then only an unchanged plan).
ReloadPlan planReload(const Config& running, const Config& next, NodeId self, bool sameText,
                      VersionRule rule = VersionRule::MustGrow);

}  // namespace ringgate::config
