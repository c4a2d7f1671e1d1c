// mode: http services in the configuration: every tunable read, defaults, and refusals
// of what the proxy could not honour.
#include <gtest/gtest.h>

#include "config/loader.h"

namespace ringgate::config {
namespace {

std::string configWith(const std::string& service, const std::string& dataplane = "dataplane: { enabled: false }\n") {
    return R"(cluster:
  name: t
  config_version: 1
  nodes:
    - { id: 1, addresses: { ext: 198.18.0.1, int: 198.19.0.1 } }
subnets:
  - name: ext
    prefix: 198.18.0.0/24
    vips:
      - { address: 198.18.0.100 }
  - name: int
    prefix: 198.19.0.0/24
pools:
  - name: web
    backends:
      - { address: 198.19.0.51, port: 80 }
services:
)" + service + dataplane;
}

std::string firstError(const std::string& text) {
    auto result = loadString(text, "t.yaml");
    return result.errors.empty() ? "" : result.errors.front().toString();
}

TEST(HttpServiceConfig, EveryTunableIsRead) {
    auto result = loadString(configWith(R"(  - name: dl
    vip: 198.18.0.100
    port: 80
    pool: web
    mode: http
    http:
      resume: true
      stall_ms: 700
      max_resumes: 5
      connect_timeout_ms: 300
      header_timeout_ms: 4000
      idle_timeout_ms: 9000
      client_write_timeout_ms: 8000
      buffer_bytes: 32768
      max_header_bytes: 8192
      max_request_body_bytes: 4096
      max_connections: 2000
      backend_hold_ms: 1500
      threads: 2
)"), "t.yaml");
    ASSERT_TRUE(result.config) << result.errors.front().toString();
    const Service& s = result.config->services[0];
    EXPECT_EQ(s.mode, ServiceMode::Http);
    EXPECT_TRUE(s.http.resume);
    EXPECT_EQ(s.http.stallMs, 700u);
    EXPECT_EQ(s.http.maxResumes, 5u);
    EXPECT_EQ(s.http.connectTimeoutMs, 300u);
    EXPECT_EQ(s.http.headerTimeoutMs, 4000u);
    EXPECT_EQ(s.http.idleTimeoutMs, 9000u);
    EXPECT_EQ(s.http.clientWriteTimeoutMs, 8000u);
    EXPECT_EQ(s.http.bufferBytes, 32768u);
    EXPECT_EQ(s.http.maxHeaderBytes, 8192u);
    EXPECT_EQ(s.http.maxRequestBodyBytes, 4096u);
    EXPECT_EQ(s.http.maxConnections, 2000u);
    EXPECT_EQ(s.http.backendHoldMs, 1500u);
    EXPECT_EQ(s.http.threads, 2u);
}

TEST(HttpServiceConfig, DefaultsAreL4AndNoResume) {
    auto result = loadString(configWith("  - { name: l4, vip: 198.18.0.100, port: 80, pool: web }\n"), "t.yaml");
    ASSERT_TRUE(result.config) << result.errors.front().toString();
    EXPECT_EQ(result.config->services[0].mode, ServiceMode::L4);
    EXPECT_FALSE(result.config->services[0].http.resume);
}

TEST(HttpServiceConfig, Refusals) {
    struct Case {
        const char* name;
        std::string text;
        const char* expected;
    } cases[] = {
        {"http settings on an L4 service",
         configWith("  - { name: a, vip: 198.18.0.100, port: 80, pool: web, http: { resume: true } }\n"),
         "services[0].http: http settings need mode: http"},
        {"nat on an http service",
         configWith("  - { name: a, vip: 198.18.0.100, port: 80, pool: web, mode: http, nat: fullnat }\n"),
         "services[0].nat: mode http proxies from the gateway's own address"},
        {"udp",
         configWith("  - { name: a, vip: 198.18.0.100, port: 80, pool: web, mode: http, protocol: udp }\n"),
         "services[0].protocol: mode http needs protocol tcp"},
        {"unknown mode", configWith("  - { name: a, vip: 198.18.0.100, port: 80, pool: web, mode: tls }\n"),
         "'tls' is not one of: l4, http"},
        {"unknown tunable",
         configWith("  - { name: a, vip: 198.18.0.100, port: 80, pool: web, mode: http, http: { retries: 2 } }\n"),
         "services[0].http.retries"},
        {"stall too short",
         configWith("  - { name: a, vip: 198.18.0.100, port: 80, pool: web, mode: http, http: { stall_ms: 1 } }\n"),
         "services[0].http.stall_ms"},
        {"buffer too small",
         configWith("  - { name: a, vip: 198.18.0.100, port: 80, pool: web, mode: http, http: { buffer_bytes: 10 } }\n"),
         "services[0].http.buffer_bytes"},
        {"fast path with a PMD port on the VIP's subnet",
         configWith("  - { name: a, vip: 198.18.0.100, port: 80, pool: web, mode: http }\n",
                    "dataplane:\n  ports:\n    - { name: e, subnet: ext, driver: af_packet, interface: ext0 }\n"),
         "mode http on the fast path needs af_xdp ports on subnet ext (port e is af_packet)"},
    };
    for (const Case& c : cases) EXPECT_NE(firstError(c.text).find(c.expected), std::string::npos)
        << c.name << ": " << firstError(c.text);
}

TEST(HttpServiceConfig, FastPathWithAfXdpPortsIsAccepted) {
    auto result = loadString(
        configWith("  - { name: a, vip: 198.18.0.100, port: 80, pool: web, mode: http, http: { resume: true } }\n",
                   "dataplane:\n  ports:\n    - { name: e, subnet: ext, driver: af_xdp, interface: ext0 }\n"),
        "t.yaml");
    EXPECT_TRUE(result.config) << result.errors.front().toString();
}

}  // namespace
}  // namespace ringgate::config
