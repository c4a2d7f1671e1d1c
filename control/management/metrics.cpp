#include "control/management/metrics.h"

#include <fmt/format.h>

#include <map>
#include <tuple>
#include <utility>
#include <vector>

namespace ringgate::management {

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Label values may hold anything; the format escapes backslash, quote and newline.
std::string escape(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

// Families in the order first written; every sample of a family together, as the format
// requires.
class Exposition {
public:
    explicit Exposition(std::string node) : node_(std::move(node)) {}

    void counter(const std::string& name, const std::string& help, Labels labels, double value) {
        add(name + "_total", "counter", help, std::move(labels), value);
    }
    void gauge(const std::string& name, const std::string& help, Labels labels, double value) {
        add(name, "gauge", help, std::move(labels), value);
    }
    // A group of counts: counters as NAME_PREFIX_<count>_total, gauges as NAME_PREFIX_<count>.
    void counts(const std::string& prefix, const std::string& help, const Labels& labels, const report::Counts& counts) {
        for (const report::Count& c : counts) {
            if (c.gauge) gauge(prefix + "_" + c.name, help + " (" + c.name + ")", labels, static_cast<double>(c.value));
            else counter(prefix + "_" + c.name, help + " (" + c.name + ")", labels, static_cast<double>(c.value));
        }
    }

    std::string str() const {
        std::string out;
        for (const std::string& name : order_) {
            const Family& f = families_.at(name);
            out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.metricName, f.help, f.metricName, f.type);
            out += f.samples;
        }
        return out;
    }

private:
    struct Family {
        std::string metricName;
        std::string type;
        std::string help;
        std::string samples;
    };

    void add(const std::string& sampleName, const char* type, const std::string& help, Labels labels, double value) {
        // The text format names a family as its samples (a counter's with _total).
        auto [it, fresh] = families_.try_emplace(sampleName);
        if (fresh) {
            it->second = Family{sampleName, type, help, {}};
            order_.push_back(sampleName);
        }
        labels.insert(labels.begin(), {"node", node_});
        std::string text;
        for (const auto& [key, v] : labels) text += fmt::format("{}{}=\"{}\"", text.empty() ? "" : ",", key, escape(v));
        it->second.samples += fmt::format("{}{{{}}} {}\n", sampleName, text, value);
    }

    std::string node_;
    std::map<std::string, Family> families_;
    std::vector<std::string> order_;
};

}  // namespace

std::string toPrometheus(const MetricsInput& in) {
    Exposition e(std::to_string(in.status.node));
    e.gauge("ringgate_build_info", "ringgated's version (always 1)", {{"version", in.status.version}}, 1);
    e.gauge("ringgate_uptime_seconds", "time since ringgated started", {},
            static_cast<double>(in.status.uptimeMs) / 1000.0);
    e.gauge("ringgate_config_version", "cluster.config_version this node runs", {},
            static_cast<double>(in.status.configVersion));
    e.gauge("ringgate_config_info", "the running configuration's hash (always 1): equal on every node once a change "
            "has gone round", {{"hash", in.status.configHash}}, 1);
    e.gauge("ringgate_config_restart_pending", "1 while a newer adopted version waits for a restart", {},
            in.status.restartVersion.has_value());
    e.counts("ringgate_config_sync", "the configuration carriage on the token", {}, in.status.configSync);
    e.gauge("ringgate_cluster_authenticated", "1 when cluster datagrams carry an HMAC", {}, in.status.authenticated);

    const cluster::MembershipReport& m = in.membership;
    e.gauge("ringgate_cluster_members", "members of the ring this node is in", {},
            static_cast<double>(m.members.size()));
    for (const auto& row : m.members)
        e.gauge("ringgate_cluster_member_up", "1 for a ring member, 0 for a configured node outside the ring",
                {{"member", std::to_string(row.id)}}, 1);
    for (const auto& row : m.outside)
        e.gauge("ringgate_cluster_member_up", "1 for a ring member, 0 for a configured node outside the ring",
                {{"member", std::to_string(row.id)}}, 0);
    e.gauge("ringgate_cluster_token_held", "1 while this node holds the token", {}, m.holding);
    if (m.rotationMs)
        e.gauge("ringgate_cluster_token_rotation_seconds", "duration of the last full token rotation", {},
                *m.rotationMs / 1000.0);
    e.counts("ringgate_cluster", "membership and messaging", {}, m.counters);
    for (const report::Count& reason : m.refusedByReason)
        e.counter("ringgate_cluster_refused_by_reason", "cluster datagrams and trains refused, by reason",
                  {{"reason", reason.name}}, static_cast<double>(reason.value));

    if (in.vips) {
        e.gauge("ringgate_vip_table_version", "version of the VIP table this node knows", {},
                static_cast<double>(in.vips->tableVersion));
        for (const auto& v : in.vips->vips) {
            e.gauge("ringgate_vip_owner", "the node that holds the VIP (absent while unowned)",
                    {{"vip", v.vip}, {"owner", v.currentHost ? std::to_string(*v.currentHost) : "none"}},
                    v.currentHost ? 1 : 0);
            e.gauge("ringgate_vip_answered_here", "1 when this node answers for the VIP", {{"vip", v.vip}},
                    v.answeredHere);
            e.gauge("ringgate_vip_state", "the VIP's state (1 for the current one)", {{"vip", v.vip}, {"state", v.state}},
                    1);
            e.gauge("ringgate_vip_load_bytes_per_second", "bytes per second through the VIP, measured by its owner",
                    {{"vip", v.vip}}, static_cast<double>(v.bytesPerSecond));
        }
    }

    if (in.dataplane) {
        const dataplane::DataplaneStats& s = *in.dataplane;
        for (const auto& p : s.ports) {
            e.counts("ringgate_port", "fast-path port", {{"port", p.name}}, p.counters);
            for (const report::Count& d : p.drops)
                e.counter("ringgate_port_drops", "packets the fast path dropped, by reason",
                          {{"port", p.name}, {"reason", d.name}}, static_cast<double>(d.value));
        }
        for (const auto& v : s.vips) e.counts("ringgate_vip", "traffic to the VIP", {{"vip", v.address}}, v.traffic);
        for (const auto& v : s.services) {
            Labels labels{{"service", v.name}, {"vip", v.vip}, {"port", std::to_string(v.port)}, {"protocol", v.protocol}};
            e.counts("ringgate_service", "traffic of the service", labels, v.traffic);
            e.gauge("ringgate_service_live_backends", "back ends new flows of the service may use", labels,
                    static_cast<double>(v.liveBackends));
        }
        for (const auto& b : s.backends) {
            Labels labels{{"pool", b.pool}, {"backend", b.address + ":" + std::to_string(b.port)}};
            e.counts("ringgate_backend", "traffic to the back end", labels, b.traffic);
            e.gauge("ringgate_backend_live", "1 while new flows may use the back end", labels, b.live);
        }
        e.counts("ringgate_flows", "the connection table", {}, s.connections);
        e.gauge("ringgate_neighbours", "next hops whose MAC the fast path knows", {}, static_cast<double>(s.neighbours));
    }

    if (in.flows) {
        e.counts("ringgate_flow_replication", "flow records across the cluster (docs/FLOWS.md)", {},
                 in.flows->replication);
        e.counts("ringgate_flow_fast_path", "the fast path's side of flows across the cluster", {},
                 in.flows->fastPath);
        e.counts("ringgate_flow_transport", "flow-record datagrams", {}, in.flows->transport);
    }

    if (in.http) {
        for (const httplink::HttpServiceReport& s : in.http->services) {
            Labels labels{{"service", s.name}, {"listen", s.listen.toString()}};
            e.counts("ringgate_http", "the HTTP path of the service (docs/HTTP-LINK.md)", labels, s.counts);
            for (auto [name, help, counts] :
                 {std::tuple{"ringgate_http_not_resumable", "replies passed on without the safety net, by reason",
                             &s.notResumable},
                  std::tuple{"ringgate_http_backend_failures", "back ends that failed a transfer, by how",
                             &s.backendFailures},
                  std::tuple{"ringgate_http_aborted", "client transfers ended short, by reason", &s.aborted}})
                for (const report::Count& c : *counts) {
                    Labels reason = labels;
                    reason.emplace_back("reason", c.name);
                    e.counter(name, help, reason, static_cast<double>(c.value));
                }
            for (const httplink::BackendHealth& b : s.backends) {
                Labels backend{{"service", s.name}, {"backend", b.backend.toString()}};
                e.gauge("ringgate_http_backend_held", "1 while the back end is held out after a failed transfer",
                        backend, b.held);
                e.counter("ringgate_http_backend_chosen", "requests and resumes sent to the back end", backend,
                          static_cast<double>(b.chosen));
                e.counter("ringgate_http_backend_failures_by_backend", "transfers the back end failed", backend,
                          static_cast<double>(b.failures));
            }
        }
    }

    if (in.pool) {
        e.gauge("ringgate_registry_connected", "1 while subscribed to ringgate-registry's live list", {},
                in.pool->connected);
        e.counter("ringgate_registry_updates", "live lists received from ringgate-registry", {},
                  static_cast<double>(in.pool->updates));
        for (const auto& p : in.pool->pools)
            e.gauge("ringgate_pool_backends", "back ends the pool uses now", {{"pool", p.name}},
                    static_cast<double>(p.backends.size()));
    }
    return e.str();
}

}  // namespace ringgate::management
