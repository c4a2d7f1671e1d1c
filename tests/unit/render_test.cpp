// The one rendering layer: every management view's text and JSON, from report structs
// built here (the components' own tests check that they fill the structs).
#include "control/management/render.h"

#include <gtest/gtest.h>

#include <thread>

#include "control/management/metrics.h"
#include "control/management/rates.h"

namespace ringgate::management {
namespace {

bool has(const std::string& body, const std::string& needle) { return body.find(needle) != std::string::npos; }

cluster::MembershipReport membership() {
    cluster::MembershipReport r;
    r.node = 1;
    r.phase = "member";
    r.ringId = 0xabc;
    r.members = {{1, "holding-token", std::nullopt}, {2, "member", 12.5}};
    r.outside = {{3, "outside", std::nullopt}};
    r.holding = true;
    r.sequence = 42;
    r.generation = 2;
    r.rotationMs = 3.25;
    r.counters = {{"tokens_received", 10}, {"tokens_passed", 9}, {"refused", 4}, {"send_errors", 7}};
    r.refusedByReason = {{"malformed_trains", 1}, {"malformed", 3}};
    r.warnings = {"cluster.shared_key is not set"};
    return r;
}

TEST(Render, MembersTextAndJson) {
    std::string text = render(membership(), Format::Text).body;
    EXPECT_TRUE(has(text, "node 1: member, ring 0000000000000abc, 2 members\n")) << text;
    EXPECT_TRUE(has(text, "token: held here; sequence 42 (generation 2); rotation 3.2 ms")) << text;
    EXPECT_TRUE(has(text, "   2  member         12.5 ms ago\n")) << text;
    EXPECT_TRUE(has(text, "   3  outside        never\n")) << text;
    EXPECT_TRUE(has(text, "tokens received 10, passed 9, stale 0")) << text;
    EXPECT_TRUE(has(text, "resends 0; refused 4: malformed_trains 1, malformed 3\n")) << text;
    EXPECT_TRUE(has(text, "warning: cluster.shared_key is not set\n")) << text;
    // A counter the text view does not name is still shown.
    EXPECT_TRUE(has(text, "send_errors 7")) << text;

    Json json = Json::parse(render(membership(), Format::Json).body);
    EXPECT_EQ(json["ring_id"], "0000000000000abc");
    EXPECT_EQ(json["members"][0]["last_seen_ms"], nullptr);
    EXPECT_EQ(json["members"][1]["last_seen_ms"], 12.5);
    EXPECT_EQ(json["outside"][0]["state"], "outside");
    EXPECT_EQ(json["token_holder"], 1);
    EXPECT_EQ(json["token_passed_to"], nullptr);
    EXPECT_EQ(json["counters"]["send_errors"], 7);
    EXPECT_EQ(json["counters"]["malformed"], 3);
    EXPECT_EQ(json["counters"].size(), 6u);
    EXPECT_EQ(json["warnings"][0], "cluster.shared_key is not set");
}

TEST(Render, StatsTextAndJsonShowEveryCounter) {
    dataplane::DataplaneStats s;
    s.ports = {{"ext", "02:00:00:00:00:01",
                {{"rx_packets", 5}, {"rx_bytes", 500}, {"tx_packets", 4}, {"tx_bytes", 400}, {"handed_to_peer", 2},
                 {"replicated_flows", 9}},
                {{"truncated", 0}, {"no_backend", 3}}}};
    s.vips = {{"198.18.0.100", true, {{"packets", 5}, {"bytes", 500}, {"new_flows", 1}}}};
    s.services = {{"web", "198.18.0.100", 80, "tcp", "fullnat", {{"packets", 5}, {"bytes", 500}, {"new_flows", 1}}, 2, 0.5}};
    s.backends = {{"farm", "198.18.1.50", 8080, true, {{"packets", 4}, {"bytes", 400}, {"new_flows", 1}}}};
    s.connections = {{"active", 1, true}, {"capacity", 4096, true}, {"expired", 6}, {"memory_bytes", 3 << 20, true}};
    s.neighbours = 2;

    std::string text = render(s, Format::Text).body;
    EXPECT_TRUE(has(text, "  ext      rx 5 pkts 500 B  tx 4 pkts 400 B\n")) << text;
    EXPECT_TRUE(has(text, "handed_to_peer 2, replicated_flows 9")) << text;
    EXPECT_TRUE(has(text, "drops no_backend=3\n")) << text;
    EXPECT_FALSE(has(text, "truncated")) << text;
    EXPECT_TRUE(has(text, "web        198.18.0.100:80/tcp fullnat 5 pkts 500 B 1 new flows (0/s) 2 live back ends")) << text;
    EXPECT_TRUE(has(text, "farm       198.18.1.50:8080 4 pkts 400 B 1 new flows\n")) << text;
    EXPECT_TRUE(has(text, "connections 1 / 4096 (0.0%), table ~3 MiB\n  expired 6\nneighbours 2\n")) << text;

    Json json = Json::parse(render(s, Format::Json).body);
    EXPECT_EQ(json["ports"][0]["replicated_flows"], 9);
    EXPECT_EQ(json["ports"][0]["drops"]["no_backend"], 3);
    EXPECT_EQ(json["vips"][0]["owned"], true);
    EXPECT_EQ(json["services"][0]["new_flows_per_second"], 0.5);
    EXPECT_EQ(json["services"][0]["live_backends"], 2);
    EXPECT_EQ(json["backends"][0]["live"], true);
    EXPECT_EQ(json["connections"]["expired"], 6);
    EXPECT_EQ(json["neighbours"], 2);
    // Keys in the order written, as the text reads.
    EXPECT_TRUE(has(render(s, Format::Json).body, R"({"name":"ext","mac":"02:00:00:00:00:01","rx_packets":5,)"));
}

TEST(Render, ConnectionsTextAndJson) {
    dataplane::ConnectionsReport r{7, {{"198.18.0.10:40001", "198.18.0.100:80", "tcp", "web", "198.18.1.50:8080",
                                        "198.18.1.1:10000", "established", 12, 3, "replica", 2, 3}}};
    std::string text = render(r, Format::Text).body;
    EXPECT_TRUE(has(text, "198.18.0.10:40001     -> 198.18.0.100:80       web          via 198.18.1.1:10000      -> "
                          "198.18.1.50:8080      established   idle 12 ms  handler 3 (replica), authority 2\n"))
        << text;
    EXPECT_TRUE(has(text, "1 shown of 7 connections\n")) << text;
    EXPECT_EQ(render(r, Format::Json).body,
              R"({"total":7,"shown":1,"connections":[{"client":"198.18.0.10:40001","vip":"198.18.0.100:80",)"
              R"("protocol":"tcp","service":"web","backend":"198.18.1.50:8080","nat_source":"198.18.1.1:10000",)"
              R"("state":"established","idle_ms":12,"handler":3,"role":"replica","authority":2,"replica":3}]})" "\n");
}

TEST(Render, FlowsGroups) {
    flows::FlowsReport r{{{"records_sent", 5}, {"adopted", 2}}, {{"to_handler", 7}}, {{"datagrams_in", 1}}};
    EXPECT_EQ(render(r, Format::Json).body,
              R"({"replication":{"records_sent":5,"adopted":2},"fast_path":{"to_handler":7},)"
              R"("transport":{"datagrams_in":1}})" "\n");
    std::string text = render(r, Format::Text).body;
    EXPECT_TRUE(has(text, "replication\n  records_sent               5\n")) << text;
    EXPECT_TRUE(has(text, "fast path\n  to_handler                 7\n")) << text;
}

TEST(Render, StatusPoolAndAcknowledgements) {
    daemon::NodeStatus status;
    status.node = 2;
    status.cluster = "demo";
    status.configVersion = 4;
    status.configHash = "00112233aabbccdd";
    status.configFile = "/etc/ringgate/demo.yaml";
    status.configSync = {{"adopted", 1}};
    status.uptimeMs = 12345;
    status.pid = 99;
    status.version = "0.1.0";
    status.authenticated = true;
    EXPECT_EQ(render(status, Format::Text).body,
              "node 2 of cluster 'demo'\nconfig version 4 (00112233aabbccdd, /etc/ringgate/demo.yaml)\nuptime 12.3 s\n"
              "dataplane off\nringgated 0.1.0\n");
    EXPECT_EQ(render(status, Format::Json).body,
              R"({"node":2,"cluster":"demo","config_version":4,"config_hash":"00112233aabbccdd",)"
              R"("config_file":"/etc/ringgate/demo.yaml","config_restart_pending":null,"config_sync":{"adopted":1},)"
              R"("uptime_ms":12345,"dataplane":false,"pid":99,)"
              R"("version":"0.1.0","authenticated":true,"warnings":[]})" "\n");
    status.warnings = {"no key"};
    EXPECT_TRUE(has(render(status, Format::Text).body, "warning: no key\n"));
    status.restartVersion = 5;
    status.restartNeeded = {"cluster.port changed (needs a restart of every node)"};
    EXPECT_TRUE(has(render(status, Format::Text).body,
                    "config version 5 waits for a restart: cluster.port changed (needs a restart of every node)\n"));
    EXPECT_EQ(Json::parse(render(status, Format::Json).body)["config_restart_pending"]["config_version"], 5);

    daemon::ConfigChangeReport change{"/tmp/new.yaml", true, false, 3, "aabb", {"VIP 198.18.0.103 added"}, {}};
    EXPECT_EQ(render(change, Format::Text).body,
              "configuration version 3 (aabb) applied and shared with the cluster\n  VIP 198.18.0.103 added\n");
    daemon::ConfigChangeReport refused{"/tmp/bad.yaml", false, false, 2, "ccdd", {}, {"cluster.port changed"}};
    Json refusedJson = Json::parse(render(refused, Format::Json).body);
    EXPECT_EQ(refusedJson["result"], "refused");
    EXPECT_EQ(refusedJson["errors"][0], "cluster.port changed");
    EXPECT_FALSE(refused.ok());

    daemon::PoolReport pool{{"198.18.2.1:7300"}, true, 5, 3, {"198.18.1.50"},
                            {{"farm", true, {{"198.18.1.50", 8080, 2}}}, {"static", false, {}}}};
    std::string text = render(pool, Format::Text).body;
    EXPECT_TRUE(has(text, "registry 198.18.2.1:7300 (subscribed, live list version 5)\n")) << text;
    EXPECT_TRUE(has(text, "pool farm: 1 live back ends\n  198.18.1.50:8080 weight 2\n")) << text;
    EXPECT_TRUE(has(text, "pool static: 0 configured back ends\n")) << text;
    Json json = Json::parse(render(pool, Format::Json).body);
    EXPECT_EQ(json["pools"][0]["backends"][0]["weight"], 2);
    EXPECT_EQ(json["pools"][1]["from_registry"], false);
    EXPECT_TRUE(has(render(daemon::PoolReport{}, Format::Text).body, "no registry configured"));

    EXPECT_EQ(acknowledge(Format::Json, "sent", true, "sent").body, "{\"sent\":true}\n");
    EXPECT_EQ(acknowledge(Format::Text, "sent", true, "sent").body, "sent\n");
    vip::CommandAccepted accepted{"move 198.18.0.100 to node 2", 8, 4};
    EXPECT_EQ(render(accepted, Format::Text).body,
              "accepted: move 198.18.0.100 to node 2 (travels on the token from table version 8)\n");
    EXPECT_EQ(render(accepted, Format::Json).body,
              R"({"accepted":"move 198.18.0.100 to node 2","table_version":8,"config_version":4})" "\n");
}

TEST(Rates, FromTheReadersOwnReadingsAndNotResetByAnotherRead) {
    using namespace std::chrono;
    RateMeter meter(seconds(1), seconds(5));
    auto t0 = RateMeter::Clock::time_point{} + hours(1);
    EXPECT_EQ(meter.rate("x", 100, t0), 0.0);
    EXPECT_DOUBLE_EQ(meter.rate("x", 200, t0 + milliseconds(500)), 200.0);
    // A second reader right after sees the same window, not a reset one.
    EXPECT_DOUBLE_EQ(meter.rate("x", 200, t0 + milliseconds(500)), 200.0);
    EXPECT_DOUBLE_EQ(meter.rate("x", 400, t0 + seconds(2)), 150.0);
    // Readings older than the span are forgotten.
    EXPECT_DOUBLE_EQ(meter.rate("x", 1400, t0 + seconds(12)), 100.0);
    // A counter that went backwards (restart) starts over.
    EXPECT_EQ(meter.rate("x", 5, t0 + seconds(13)), 0.0);
}

}  // namespace
}  // namespace ringgate::management

namespace ringgate::management {
namespace {

TEST(Metrics, CountersTotalGaugesPlainLabelsEscaped) {
    MetricsInput in;
    in.status.node = 3;
    in.status.cluster = "demo";
    in.status.configVersion = 1;
    in.status.uptimeMs = 2500;
    in.status.dataplane = true;
    in.status.pid = 1;
    in.status.version = "0.1.0";
    in.status.authenticated = true;
    in.status.configHash = "00112233aabbccdd";
    in.status.configSync = {{"adopted", 2}};
    in.membership.node = 3;
    in.membership.members = {{3, "member", std::nullopt}};
    in.membership.counters = {{"tokens_received", 5}};
    in.dataplane = dataplane::DataplaneStats{};
    in.dataplane->services = {{"we\"b", "198.18.0.100", 80, "tcp", "dnat", {{"new_flows", 4}}, 1, 0}};
    in.dataplane->connections = {{"active", 2, true}};
    std::string text = toPrometheus(in);
    EXPECT_TRUE(has(text, "# TYPE ringgate_cluster_tokens_received_total counter\n"
                          "ringgate_cluster_tokens_received_total{node=\"3\"} 5\n")) << text;
    EXPECT_TRUE(has(text, "# TYPE ringgate_flows_active gauge\nringgate_flows_active{node=\"3\"} 2\n")) << text;
    EXPECT_TRUE(has(text, "ringgate_service_new_flows_total{node=\"3\",service=\"we\\\"b\",vip=\"198.18.0.100\","
                          "port=\"80\",protocol=\"tcp\"} 4\n")) << text;
    EXPECT_TRUE(has(text, "ringgate_uptime_seconds{node=\"3\"} 2.5\n")) << text;
    EXPECT_TRUE(has(text, "ringgate_config_info{node=\"3\",hash=\"00112233aabbccdd\"} 1\n")) << text;
    EXPECT_TRUE(has(text, "ringgate_config_sync_adopted_total{node=\"3\"} 2\n")) << text;
    EXPECT_TRUE(has(text, "ringgate_config_restart_pending{node=\"3\"} 0\n")) << text;
    // One HELP and TYPE per family, before all its samples.
    EXPECT_EQ(text.find("# TYPE ringgate_cluster_member_up gauge"), text.rfind("# TYPE ringgate_cluster_member_up"));
}

}  // namespace
}  // namespace ringgate::management

namespace ringgate::management {
namespace {

httplink::HttpReport oneHttpService() {
    httplink::HttpServiceReport s;
    s.name = "downloads";
    s.listen = {Ipv4Address::parse("198.18.0.100").value(), 80};
    s.pool = "web";
    s.resume = true;
    s.counts = {{"connections_open", 2, true}, {"resumes_spliced", 5}};
    s.notResumable = {{"method", 0}, {"no_length", 3}};
    s.backendFailures = {{"reset", 1}};
    s.aborted = {{"budget", 0}};
    s.backends = {{{Ipv4Address::parse("198.19.0.51").value(), 80}, true, 7, 1}};
    return {{s}};
}

TEST(HttpReportViews, JsonKeepsTheGroupsAndBackends) {
    Json json = toJson(oneHttpService());
    const Json& s = json["services"][0];
    EXPECT_EQ(s["name"], "downloads");
    EXPECT_EQ(s["listen"], "198.18.0.100:80");
    EXPECT_EQ(s["resumes_spliced"], 5);
    EXPECT_EQ(s["not_resumable"]["no_length"], 3);
    EXPECT_EQ(s["not_resumable"]["method"], 0);
    EXPECT_EQ(s["aborted"]["budget"], 0);
    EXPECT_EQ(s["backends"][0], (Json{{"backend", "198.19.0.51:80"}, {"held", true}, {"chosen", 7}, {"failures", 1}}));
}

TEST(HttpReportViews, TextShowsOnlyBreakdownsThatHappened) {
    std::string text = toText(oneHttpService());
    EXPECT_TRUE(has(text, "service downloads 198.18.0.100:80 pool web resume on\n")) << text;
    EXPECT_TRUE(has(text, "  resumes_spliced 5\n")) << text;
    EXPECT_TRUE(has(text, "  not_resumable.no_length 3\n")) << text;
    EXPECT_FALSE(has(text, "not_resumable.method")) << text;
    EXPECT_TRUE(has(text, "  backend 198.19.0.51:80 held chosen 7 failures 1\n")) << text;
    EXPECT_EQ(toText(httplink::HttpReport{}), "no service in mode http\n");
}

TEST(HttpReportViews, MetricsLabelServiceReasonAndBackend) {
    MetricsInput in;
    in.status.node = 1;
    in.membership.node = 1;
    in.http = oneHttpService();
    std::string text = toPrometheus(in);
    EXPECT_TRUE(has(text, "ringgate_http_resumes_spliced_total{node=\"1\",service=\"downloads\","
                          "listen=\"198.18.0.100:80\"} 5\n")) << text;
    EXPECT_TRUE(has(text, "# TYPE ringgate_http_connections_open gauge\n")) << text;
    EXPECT_TRUE(has(text, "ringgate_http_not_resumable_total{node=\"1\",service=\"downloads\","
                          "listen=\"198.18.0.100:80\",reason=\"no_length\"} 3\n")) << text;
    EXPECT_TRUE(has(text, "ringgate_http_backend_held{node=\"1\",service=\"downloads\",backend=\"198.19.0.51:80\"} 1\n"))
        << text;
}

}  // namespace
}  // namespace ringgate::management
