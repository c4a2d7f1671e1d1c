#include "control/management/render.h"
#include "control/management/json_text.h"

#include <fmt/format.h>

namespace ringgate::management {

namespace {

template <typename T>
Json orNull(const std::optional<T>& value) {
    return value ? Json(*value) : Json(nullptr);
}

std::string nodeText(const std::optional<uint32_t>& node) { return node ? std::to_string(*node) : "-"; }

uint64_t count(const report::Counts& counts, std::string_view name) {
    return report::find(counts, name).value_or(0);
}

// "name value, name value" of the counts not named in `skip`, zero ones left out.
std::string otherCounts(const report::Counts& counts, std::initializer_list<std::string_view> skip) {
    std::string out;
    for (const report::Count& c : counts) {
        if (c.value == 0 || std::find(skip.begin(), skip.end(), c.name) != skip.end()) continue;
        out += fmt::format("{}{} {}", out.empty() ? "" : ", ", c.name, c.value);
    }
    return out;
}

Json memberJson(const cluster::MemberRow& row) {
    return Json{{"id", row.id}, {"state", row.state}, {"last_seen_ms", orNull(row.lastSeenMs)}};
}

Json trafficJson(Json object, const report::Counts& traffic) {
    addCounts(object, traffic);
    return object;
}

}  // namespace

void addCounts(Json& into, const report::Counts& counts) {
    for (const report::Count& c : counts) into[c.name] = c.value;
}

Reply acknowledge(Format format, const std::string& key, const Json& value, const std::string& text) {
    if (format == Format::Json) return Reply{true, jsonLine(Json{{key, value}})};
    return Reply{true, text + "\n"};
}

// ---- members

Json toJson(const cluster::MembershipReport& r) {
    Json members = Json::array(), outside = Json::array();
    for (const auto& m : r.members) members.push_back(memberJson(m));
    for (const auto& m : r.outside) outside.push_back(memberJson(m));
    Json counters = Json::object();
    addCounts(counters, r.counters);
    addCounts(counters, r.refusedByReason);
    return Json{{"node", r.node},
                {"phase", r.phase},
                {"ring_id", fmt::format("{:016x}", r.ringId)},
                {"members", members},
                {"outside", outside},
                {"token_holder", r.holding ? Json(r.node) : Json(nullptr)},
                {"token_passed_to", orNull(r.passedTo)},
                {"sequence", orNull(r.sequence)},
                {"generation", orNull(r.generation)},
                {"rotation_ms", orNull(r.rotationMs)},
                {"counters", counters},
                {"warnings", r.warnings}};
}

std::string toText(const cluster::MembershipReport& r) {
    std::string out = fmt::format("node {}: {}, ring {:016x}, {} member{}\n", r.node, r.phase, r.ringId,
                                  r.members.size(), r.members.size() == 1 ? "" : "s");
    out += "token: ";
    if (r.holding) out += "held here";
    else if (r.passedTo) out += fmt::format("last passed to node {}", *r.passedTo);
    else out += "not seen yet";
    if (r.sequence) out += fmt::format("; sequence {} (generation {})", *r.sequence, r.generation.value_or(0));
    if (r.rotationMs) out += fmt::format("; rotation {:.1f} ms", *r.rotationMs);
    out += "\n\n  ID  STATE          LAST SEEN\n";
    auto row = [&](const cluster::MemberRow& m) {
        std::string seen = m.id == r.node ? "-" : m.lastSeenMs ? fmt::format("{:.1f} ms ago", *m.lastSeenMs) : "never";
        out += fmt::format("{:4}  {:<13}  {}\n", m.id, m.state, seen);
    };
    for (const auto& m : r.members) row(m);
    for (const auto& m : r.outside) row(m);
    const report::Counts& c = r.counters;
    out += fmt::format("\ntokens received {}, passed {}, stale {}\n", count(c, "tokens_received"),
                       count(c, "tokens_passed"), count(c, "stale_tokens"));
    out += fmt::format("911s sent {}, forwarded {}; regenerations {}, after a silent successor {}\n",
                       count(c, "emergencies_sent"), count(c, "emergencies_forwarded"), count(c, "regenerations"),
                       count(c, "silent_successors"));
    out += fmt::format("members dropped {}, added {}\n", count(c, "members_dropped"), count(c, "members_added"));
    out += fmt::format("resends {}; refused {}", count(c, "resends"), count(c, "refused"));
    const char* separator = ": ";
    for (const report::Count& reason : r.refusedByReason) {
        out += fmt::format("{}{} {}", separator, reason.name, reason.value);
        separator = ", ";
    }
    out += "\n";
    std::string other = otherCounts(c, {"tokens_received", "tokens_passed", "stale_tokens", "emergencies_sent",
                                        "emergencies_forwarded", "regenerations", "silent_successors",
                                        "members_dropped", "members_added", "resends", "refused"});
    if (!other.empty()) out += other + "\n";
    for (const std::string& warning : r.warnings) out += "warning: " + warning + "\n";
    return out;
}

// ---- vips

Json toJson(const vip::VipTableReport& r) {
    Json vips = Json::array();
    for (const vip::VipRow& v : r.vips)
        vips.push_back(Json{{"vip", v.vip},
                            {"current_host", orNull(v.currentHost)},
                            {"preferred_host", orNull(v.preferredHost)},
                            {"persistence", v.persistence},
                            {"moving_to", orNull(v.movingTo)},
                            {"state", v.state},
                            {"answered_here", v.answeredHere},
                            {"bytes_per_second", v.bytesPerSecond}});
    Json loads = Json::array();
    for (const vip::NodeLoadRow& l : r.loads)
        loads.push_back(Json{{"node", l.node},
                             {"bytes_per_second", l.bytesPerSecond},
                             {"cpu_percent", l.cpuPermille / 10.0},
                             {"withdrawn", l.withdrawn}});
    return Json{{"node", r.node},
                {"table_version", r.tableVersion},
                {"config_version", r.configVersion},
                {"drained", r.drained},
                {"vips", vips},
                {"loads", loads}};
}

std::string toText(const vip::VipTableReport& r) {
    std::string out = fmt::format("{:<16} {:<8} {:<9} {:<11} {:<10} {:>14}\n", "VIP", "current", "preferred",
                                  "persistence", "state", "bytes/s");
    for (const vip::VipRow& v : r.vips) {
        std::string state = v.state;
        if (v.movingTo) state += "->" + std::to_string(*v.movingTo);
        out += fmt::format("{:<16} {:<8} {:<9} {:<11} {:<10} {:>14}\n", v.vip, nodeText(v.currentHost),
                           nodeText(v.preferredHost), v.persistence, state, v.bytesPerSecond);
    }
    out += fmt::format("table version {}, config version {}", r.tableVersion, r.configVersion);
    if (!r.drained.empty()) {
        out += ", drained:";
        for (uint32_t n : r.drained) out += " " + std::to_string(n);
    }
    out += "\n";
    for (const vip::NodeLoadRow& l : r.loads) {
        out += fmt::format("node {}: {} bytes/s, CPU {:.1f} %", l.node, l.bytesPerSecond, l.cpuPermille / 10.0);
        if (!l.withdrawn.empty()) {
            out += ", withdrawn from";
            for (const std::string& vip : l.withdrawn) out += " " + vip;
        }
        out += "\n";
    }
    return out;
}

Json toJson(const vip::CommandAccepted& a) {
    return Json{{"accepted", a.what}, {"table_version", a.tableVersion}, {"config_version", a.configVersion}};
}

std::string toText(const vip::CommandAccepted& a) {
    return fmt::format("accepted: {} (travels on the token from table version {})\n", a.what, a.tableVersion);
}

// ---- stats

Json toJson(const dataplane::DataplaneStats& s) {
    Json ports = Json::array(), vips = Json::array(), services = Json::array(), backends = Json::array();
    for (const auto& p : s.ports) {
        Json port = trafficJson(Json{{"name", p.name}, {"mac", p.mac}}, p.counters);
        Json drops = Json::object();
        addCounts(drops, p.drops);
        port["drops"] = drops;
        ports.push_back(port);
    }
    for (const auto& v : s.vips) vips.push_back(trafficJson(Json{{"address", v.address}, {"owned", v.owned}}, v.traffic));
    for (const auto& v : s.services) {
        Json service = trafficJson(Json{{"name", v.name}, {"vip", v.vip}, {"port", v.port}, {"protocol", v.protocol},
                                        {"nat", v.nat}},
                                   v.traffic);
        service["new_flows_per_second"] = v.newFlowsPerSecond;
        service["live_backends"] = v.liveBackends;
        services.push_back(service);
    }
    for (const auto& b : s.backends)
        backends.push_back(trafficJson(
            Json{{"pool", b.pool}, {"address", b.address}, {"port", b.port}, {"live", b.live}}, b.traffic));
    Json connections = Json::object();
    addCounts(connections, s.connections);
    Json out{{"ports", ports},         {"vips", vips},
             {"services", services},   {"backends", backends},
             {"connections", connections}, {"neighbours", s.neighbours}};
    if (!s.flows.empty()) {
        Json flows = Json::object();
        addCounts(flows, s.flows);
        out["flows"] = flows;
    }
    return out;
}

std::string toText(const dataplane::DataplaneStats& s) {
    std::string out = "ports\n";
    for (const auto& p : s.ports) {
        const report::Counts& c = p.counters;
        out += fmt::format("  {:<8} rx {} pkts {} B  tx {} pkts {} B\n", p.name, count(c, "rx_packets"),
                           count(c, "rx_bytes"), count(c, "tx_packets"), count(c, "tx_bytes"));
        std::string other = otherCounts(c, {"rx_packets", "rx_bytes", "tx_packets", "tx_bytes"});
        if (!other.empty()) out += "           " + other + "\n";
        std::string drops;
        for (const report::Count& d : p.drops)
            if (d.value) drops += fmt::format(" {}={}", d.name, d.value);
        if (!drops.empty()) out += "           drops" + drops + "\n";
    }
    out += "vips\n";
    for (const auto& v : s.vips)
        out += fmt::format("  {:<15} {:<9} {} pkts {} B {} new flows\n", v.address, v.owned ? "owned" : "not owned",
                           count(v.traffic, "packets"), count(v.traffic, "bytes"), count(v.traffic, "new_flows"));
    out += "services\n";
    for (const auto& v : s.services)
        out += fmt::format("  {:<10} {}:{}/{} {:<7} {} pkts {} B {} new flows ({:.0f}/s) {} live back ends\n", v.name,
                           v.vip, v.port, v.protocol, v.nat, count(v.traffic, "packets"), count(v.traffic, "bytes"),
                           count(v.traffic, "new_flows"), v.newFlowsPerSecond, v.liveBackends);
    out += "backends\n";
    for (const auto& b : s.backends)
        out += fmt::format("  {:<10} {}:{} {} pkts {} B {} new flows{}\n", b.pool, b.address, b.port,
                           count(b.traffic, "packets"), count(b.traffic, "bytes"), count(b.traffic, "new_flows"),
                           b.live ? "" : " (not live)");
    uint64_t active = count(s.connections, "active"), capacity = count(s.connections, "capacity");
    out += fmt::format("connections {} / {} ({:.1f}%), table ~{} MiB\n", active, capacity,
                       capacity ? 100.0 * static_cast<double>(active) / static_cast<double>(capacity) : 0.0,
                       count(s.connections, "memory_bytes") >> 20);
    std::string other = otherCounts(s.connections, {"active", "capacity", "memory_bytes"});
    if (!other.empty()) out += "  " + other + "\n";
    out += fmt::format("neighbours {}\n", s.neighbours);
    if (!s.flows.empty()) out += "flows " + otherCounts(s.flows, {}) + "\n";
    return out;
}

// ---- connections

Json toJson(const dataplane::ConnectionsReport& r) {
    Json rows = Json::array();
    for (const auto& c : r.rows)
        rows.push_back(Json{{"client", c.client},
                            {"vip", c.vip},
                            {"protocol", c.protocol},
                            {"service", c.service},
                            {"backend", c.backend},
                            {"nat_source", c.natSource},
                            {"state", c.state},
                            {"idle_ms", c.idleMs},
                            {"handler", c.handler},
                            {"role", c.role},
                            {"authority", c.authority},
                            {"replica", c.replica}});
    return Json{{"total", r.total}, {"shown", r.rows.size()}, {"connections", rows}};
}

std::string toText(const dataplane::ConnectionsReport& r) {
    std::string out;
    for (const auto& c : r.rows)
        out += fmt::format("{:<21} -> {:<21} {:<12} via {:<21} -> {:<21} {:<13} idle {} ms  handler {} ({}), "
                           "authority {}\n",
                           c.client, c.vip, c.service, c.natSource, c.backend, c.state, c.idleMs, c.handler, c.role,
                           c.authority);
    out += fmt::format("{} shown of {} connections\n", r.rows.size(), r.total);
    return out;
}

// ---- flows across the cluster

Json toJson(const flows::FlowsReport& r) {
    Json replication = Json::object(), fastPath = Json::object(), transport = Json::object();
    addCounts(replication, r.replication);
    addCounts(fastPath, r.fastPath);
    addCounts(transport, r.transport);
    return Json{{"replication", replication}, {"fast_path", fastPath}, {"transport", transport}};
}

std::string toText(const flows::FlowsReport& r) {
    auto lines = [](const report::Counts& counts) {
        std::string out;
        for (const report::Count& c : counts) out += fmt::format("  {:<26} {}\n", c.name, c.value);
        return out;
    };
    return "replication\n" + lines(r.replication) + "fast path\n" + lines(r.fastPath) + "transport\n" +
           lines(r.transport);
}

// ---- the HTTP path

Json toJson(const httplink::HttpReport& r) {
    Json services = Json::array();
    for (const httplink::HttpServiceReport& s : r.services) {
        Json service{{"name", s.name}, {"listen", s.listen.toString()}, {"pool", s.pool}, {"resume", s.resume}};
        addCounts(service, s.counts);
        for (auto [key, counts] : {std::pair{"not_resumable", &s.notResumable},
                                   std::pair{"backend_failures", &s.backendFailures},
                                   std::pair{"aborted", &s.aborted}}) {
            Json group = Json::object();
            addCounts(group, *counts);
            service[key] = group;
        }
        Json backends = Json::array();
        for (const httplink::BackendHealth& b : s.backends)
            backends.push_back(Json{{"backend", b.backend.toString()}, {"held", b.held}, {"chosen", b.chosen},
                                    {"failures", b.failures}});
        service["backends"] = backends;
        services.push_back(service);
    }
    return Json{{"services", services}};
}

std::string toText(const httplink::HttpReport& r) {
    if (r.services.empty()) return "no service in mode http\n";
    std::string out;
    for (const httplink::HttpServiceReport& s : r.services) {
        out += fmt::format("service {} {} pool {} resume {}\n", s.name, s.listen.toString(), s.pool,
                           s.resume ? "on" : "off");
        for (const report::Count& c : s.counts) out += fmt::format("  {} {}\n", c.name, c.value);
        // The breakdowns only where something happened.
        for (auto [group, counts] : {std::pair{"not_resumable", &s.notResumable},
                                     std::pair{"backend_failures", &s.backendFailures},
                                     std::pair{"aborted", &s.aborted}})
            for (const report::Count& c : *counts)
                if (c.value) out += fmt::format("  {}.{} {}\n", group, c.name, c.value);
        for (const httplink::BackendHealth& b : s.backends)
            out += fmt::format("  backend {} {} chosen {} failures {}\n", b.backend.toString(), b.held ? "held" : "ok",
                               b.chosen, b.failures);
    }
    return out;
}

// ---- status and pool

Json toJson(const monitors::MonitorsReport& r) {
    Json rows = Json::array();
    for (const monitors::MonitorRow& m : r.monitors)
        rows.push_back(Json{{"name", m.name},
                            {"kind", m.kind},
                            {"subnets", m.subnets},
                            {"state", m.state},
                            {"since_ms", m.sinceMs},
                            {"last_result", m.lastResult},
                            {"failures_in_row", m.failuresInRow},
                            {"successes_in_row", m.successesInRow},
                            {"fall", m.fall},
                            {"rise", m.rise},
                            {"interval_ms", m.intervalMs},
                            {"probes", m.probes},
                            {"failures", m.failures},
                            {"transitions", m.transitions}});
    Json withdrawn = Json::object();
    for (const auto& [subnet, why] : r.withdrawn) withdrawn[subnet] = why;
    return Json{{"monitors", rows}, {"withdrawn_subnets", withdrawn}};
}

std::string toText(const monitors::MonitorsReport& r) {
    if (r.monitors.empty()) return "local monitors: none configured\n";
    std::string out = fmt::format("{:<30} {:<8} {:>10} {:<18} {}\n", "local monitor", "state", "for (s)",
                                  "subnets", "last result");
    for (const monitors::MonitorRow& m : r.monitors) {
        std::string subnets;
        for (const std::string& s : m.subnets) subnets += (subnets.empty() ? "" : ",") + s;
        out += fmt::format("{:<30} {:<8} {:>10.1f} {:<18} {}\n", m.name, m.state, m.sinceMs / 1000.0, subnets,
                           m.lastResult.empty() ? "-" : m.lastResult);
    }
    for (const auto& [subnet, why] : r.withdrawn) {
        std::string names;
        for (const std::string& n : why) names += (names.empty() ? "" : ", ") + n;
        out += fmt::format("withdrawn from the VIPs of subnet {} ({})\n", subnet, names);
    }
    return out;
}

Json toJson(const daemon::NodeStatus& s) {
    Json sync = Json::object();
    addCounts(sync, s.configSync);
    Json restart = nullptr;
    if (s.restartVersion) restart = Json{{"config_version", *s.restartVersion}, {"reasons", s.restartNeeded}};
    return Json{{"node", s.node},
                {"cluster", s.cluster},
                {"config_version", s.configVersion},
                {"config_hash", s.configHash},
                {"config_file", s.configFile},
                {"config_restart_pending", restart},
                {"config_sync", sync},
                {"uptime_ms", s.uptimeMs},
                {"dataplane", s.dataplane},
                {"pid", s.pid},
                {"version", s.version},
                {"authenticated", s.authenticated},
                {"warnings", s.warnings},
                {"load_balancing", s.loadBalancing},
                {"cpu_percent", s.cpuPermille / 10.0},
                {"local_monitors", toJson(s.monitors)}};
}

std::string toText(const daemon::NodeStatus& s) {
    std::string out = fmt::format(
        "node {} of cluster '{}'\nconfig version {} ({}, {})\nuptime {}.{} s\ndataplane {}\nringgated {}\n", s.node,
        s.cluster, s.configVersion, s.configHash, s.configFile, s.uptimeMs / 1000, s.uptimeMs % 1000 / 100,
        s.dataplane ? "enabled" : "off", s.version);
    if (s.restartVersion)
        for (const std::string& reason : s.restartNeeded)
            out += fmt::format("config version {} waits for a restart: {}\n", *s.restartVersion, reason);
    for (const std::string& warning : s.warnings) out += "warning: " + warning + "\n";
    out += fmt::format("load balancing {}, CPU {:.1f} %\n", s.loadBalancing ? "on" : "off", s.cpuPermille / 10.0);
    return out + toText(s.monitors);
}

Json toJson(const daemon::ConfigChangeReport& r) {
    const char* result = r.applied ? "applied" : r.unchanged ? "unchanged" : "refused";
    return Json{{"result", result},   {"source", r.source},   {"config_version", r.version},
                {"config_hash", r.hash}, {"changes", r.changes}, {"errors", r.errors}};
}

std::string toText(const daemon::ConfigChangeReport& r) {
    std::string out;
    if (r.applied)
        out = fmt::format("configuration version {} ({}) applied and shared with the cluster\n", r.version, r.hash);
    else if (r.unchanged)
        out = fmt::format("{} is the running configuration (version {}): nothing to do\n", r.source, r.version);
    else
        out = fmt::format("{} refused; still running version {} ({}):\n", r.source, r.version, r.hash);
    for (const std::string& change : r.changes) out += "  " + change + "\n";
    for (const std::string& error : r.errors) out += "  " + error + "\n";
    return out;
}

Json toJson(const daemon::PoolReport& r) {
    Json pools = Json::array();
    for (const auto& p : r.pools) {
        Json backends = Json::array();
        for (const auto& b : p.backends)
            backends.push_back(Json{{"address", b.address}, {"port", b.port}, {"weight", b.weight}});
        pools.push_back(Json{{"name", p.name}, {"from_registry", p.fromRegistry}, {"backends", backends}});
    }
    return Json{{"registry", r.registry}, {"connected", r.connected}, {"live_list_version", r.liveListVersion},
                {"updates", r.updates},   {"live", r.live},           {"pools", pools}};
}

std::string toText(const daemon::PoolReport& r) {
    std::string out;
    if (r.registry.empty()) {
        out = "no registry configured: every pool uses its configured back ends\n";
    } else {
        out = "registry";
        for (const auto& e : r.registry) out += " " + e;
        out += fmt::format(" ({}, live list version {})\n", r.connected ? "subscribed" : "not connected",
                           r.liveListVersion);
    }
    for (const auto& p : r.pools) {
        out += fmt::format("pool {}: {} {} back ends\n", p.name, p.backends.size(),
                           p.fromRegistry ? "live" : "configured");
        for (const auto& b : p.backends) out += fmt::format("  {}:{} weight {}\n", b.address, b.port, b.weight);
    }
    return out;
}

}  // namespace ringgate::management
