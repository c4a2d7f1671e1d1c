// Prometheus text exposition (format 0.0.4) of the same reports the other views render:
// counters as ringgate_..._total, gauges without the suffix, labels for node, VIP, port,
// service, back end and reason. Served by `ringgatectl metrics` and GET /metrics.
#pragma once

#include <optional>
#include <string>

#include "control/cluster/membership_report.h"
#include "control/daemon/node_reports.h"
#include "control/flows/flows_report.h"
#include "control/httplink/http_report.h"
#include "control/vip/vip_report.h"
#include "dataplane/stats_report.h"

namespace ringgate::management {

struct MetricsInput {
    daemon::NodeStatus status;
    cluster::MembershipReport membership;
    std::optional<vip::VipTableReport> vips;
    std::optional<dataplane::DataplaneStats> dataplane;
    std::optional<daemon::PoolReport> pool;
    std::optional<flows::FlowsReport> flows;
    std::optional<httplink::HttpReport> http;
};

std::string toPrometheus(const MetricsInput& input);

}  // namespace ringgate::management
