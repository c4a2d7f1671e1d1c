// The one place where reports become text or JSON (and, from them, Prometheus metrics and
// the web console's API). Components return plain report structs; nothing else formats.
//
// JSON keys keep the order they are written in (nlohmann::ordered_json), so documents read
// like the text views; a group of counters (report::Counts) becomes one key per counter.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "common/report.h"
#include "control/cluster/membership_report.h"
#include "control/daemon/node_reports.h"
#include "control/flows/flows_report.h"
#include "control/httplink/http_report.h"
#include "control/management/command_table.h"
#include "control/management/json_text.h"
#include "control/vip/vip_report.h"
#include "dataplane/stats_report.h"

namespace ringgate::management {

using Json = nlohmann::ordered_json;

// Adds every count of `counts` to the object `into`.
void addCounts(Json& into, const report::Counts& counts);

Json toJson(const cluster::MembershipReport& report);
Json toJson(const vip::VipTableReport& report);
Json toJson(const vip::CommandAccepted& accepted);
Json toJson(const dataplane::DataplaneStats& stats);
Json toJson(const dataplane::ConnectionsReport& report);
Json toJson(const daemon::NodeStatus& status);
Json toJson(const daemon::PoolReport& report);
Json toJson(const daemon::ConfigChangeReport& report);
Json toJson(const flows::FlowsReport& report);
Json toJson(const monitors::MonitorsReport& report);
Json toJson(const httplink::HttpReport& report);

std::string toText(const cluster::MembershipReport& report);
std::string toText(const vip::VipTableReport& report);
std::string toText(const vip::CommandAccepted& accepted);
std::string toText(const dataplane::DataplaneStats& stats);
std::string toText(const dataplane::ConnectionsReport& report);
std::string toText(const daemon::NodeStatus& status);
std::string toText(const daemon::PoolReport& report);
std::string toText(const daemon::ConfigChangeReport& report);
std::string toText(const flows::FlowsReport& report);
std::string toText(const monitors::MonitorsReport& report);
std::string toText(const httplink::HttpReport& report);

// A successful reply in the request's format.
template <typename Report>
Reply render(const Report& report, Format format) {
    if (format == Format::Json) return Reply{true, jsonLine(toJson(report))};
    return Reply{true, toText(report)};
}

// A one-line acknowledgement: {"KEY": VALUE} or "TEXT".
Reply acknowledge(Format format, const std::string& key, const Json& value, const std::string& text);

}  // namespace ringgate::management
