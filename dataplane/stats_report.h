// What the fast path reports to operators (`ringgatectl stats`, `connections`, /metrics):
// plain data copied from the workers' counters and the connection table, rendered by
// control/management/render.h. No DPDK types here, so every view can include it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/report.h"

namespace ringgate::dataplane {

struct PortStats {
    std::string name;
    std::string mac;
    report::Counts counters;  // kPortCounterFields (counters.h)
    report::Counts drops;     // one per DropReason but None
};

struct VipStats {
    std::string address;
    bool owned = false;
    report::Counts traffic;  // kTrafficCounterFields
};

struct ServiceStats {
    std::string name;
    std::string vip;
    uint16_t port = 0;
    std::string protocol;
    std::string nat;
    report::Counts traffic;
    uint64_t liveBackends = 0;
    double newFlowsPerSecond = 0;  // filled by the reader from its own readings (management/rates.h)
};

struct BackendStats {
    std::string pool;
    std::string address;
    uint16_t port = 0;
    bool live = false;
    report::Counts traffic;
};

struct DataplaneStats {
    std::vector<PortStats> ports;
    std::vector<VipStats> vips;
    std::vector<ServiceStats> services;
    std::vector<BackendStats> backends;
    report::Counts connections;  // active, capacity, expired, memory_bytes, ...
    uint64_t neighbours = 0;
};

struct ConnectionRow {
    std::string client;     // address:port
    std::string vip;        // address:port
    std::string protocol;   // tcp | udp
    std::string service;
    std::string backend;    // address:port
    std::string natSource;  // where the back end replies to: the client (dnat) or this node (fullnat)
    std::string state;
    uint64_t idleMs = 0;
};

struct ConnectionsReport {
    uint64_t total = 0;  // in the table, of which `rows` is a sample
    std::vector<ConnectionRow> rows;
};

}  // namespace ringgate::dataplane
