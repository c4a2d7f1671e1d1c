// What the HTTP path reports to operators (`ringgatectl http-stats`, /metrics): plain data
// rendered by control/management/render.h, nothing formatted here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/ipv4.h"
#include "common/report.h"

namespace ringgate::httplink {

// One back end as the service's chooser sees it.
struct BackendHealth {
    Ipv4Endpoint backend;
    bool held = false;          // held out after a failed transfer
    uint64_t chosen = 0;        // requests (and resumes) sent to it
    uint64_t failures = 0;      // transfers it failed (reset, early end, stall, connect)
};

struct HttpServiceReport {
    std::string name;
    Ipv4Endpoint listen;
    std::string pool;
    bool resume = false;
    report::Counts counts;           // connections, requests, bytes, resumes (service_proxy.cpp)
    report::Counts notResumable;     // replies passed on without the safety net, by reason
    report::Counts backendFailures;  // by how the back end failed
    report::Counts aborted;          // client transfers ended short, by reason
    std::vector<BackendHealth> backends;
};

struct HttpReport {
    std::vector<HttpServiceReport> services;
};

}  // namespace ringgate::httplink
