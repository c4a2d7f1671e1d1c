// The loader on in-memory YAML: what it accepts, and where it points when it refuses.
// tests/config/check_config_files.py runs the same rules through ringgated on files.
#include "config/loader.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace ringgate::config {
namespace {

const char* kMinimal = R"(cluster:
  name: t
  config_version: 1
  nodes:
    - { id: 1, addresses: { ext: 198.18.0.1 } }
    - { id: 2, addresses: { ext: 198.18.0.2 } }
subnets:
  - name: ext
    prefix: 198.18.0.0/24
    vips:
      - { address: 198.18.0.100, preferred_host: 2, persistence: 3 }
dataplane: { enabled: false }
)";

TEST(ConfigLoader, MinimalFileLoadsWithDefaults) {
    auto result = loadString(kMinimal, "t.yaml");
    ASSERT_TRUE(result.config) << result.errors.front().toString();
    const Config& c = *result.config;
    EXPECT_EQ(c.cluster.name, "t");
    ASSERT_EQ(c.cluster.nodes.size(), 2u);
    EXPECT_EQ(c.cluster.nodes[1].addressOn("ext")->toString(), "198.18.0.2");
    EXPECT_EQ(c.subnets[0].vips[0].persistence, Persistence::StickyPreferred);
    EXPECT_EQ(c.subnets[0].vips[0].preferredHost, 2u);
    EXPECT_EQ(c.timers.tokenIntervalMs, 100u);
    EXPECT_EQ(c.cluster.port, 7100);
    EXPECT_FALSE(c.dataplane.enabled);
    EXPECT_EQ(c.management.socketPathFor(2), "/run/ringgate/ringgated-2.sock");
}

std::vector<ConfigError> errorsOf(const std::string& text) {
    return loadString(text, "t.yaml").errors;
}

TEST(ConfigLoader, ErrorPointsAtLineColumnAndPath) {
    std::string text = kMinimal;
    text.replace(text.find("persistence: 3"), 14, "persistence: 2");
    auto errors = errorsOf(text);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].line, 11);
    EXPECT_EQ(errors[0].path, "subnets[0].vips[0].persistence");
    EXPECT_EQ(errors[0].toString().rfind("t.yaml:11:", 0), 0u) << errors[0].toString();
    EXPECT_NE(errors[0].reason.find("'2' is not one of: 0, 1, 3"), std::string::npos);
}

TEST(ConfigLoader, CrossFieldErrorUsesRememberedPosition) {
    std::string text = kMinimal;
    text.replace(text.find("preferred_host: 2"), 17, "preferred_host: 9");
    auto errors = errorsOf(text);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].path, "subnets[0].vips[0].preferred_host");
    EXPECT_EQ(errors[0].line, 11);
    EXPECT_GT(errors[0].column, 1);
}

TEST(ConfigLoader, UnknownFieldIsRefusedWithKnownList) {
    std::string text = kMinimal;
    text += "timers: { token_intervall_ms: 50 }\n";
    auto errors = errorsOf(text);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].path, "timers.token_intervall_ms");
    EXPECT_NE(errors[0].reason.find("token_interval_ms"), std::string::npos);
}

TEST(ConfigLoader, ReportsEveryErrorNotJustTheFirst) {
    std::string text = kMinimal;
    text += "timers: { token_interval_ms: abc, handoff_retries: 99 }\n";
    EXPECT_EQ(errorsOf(text).size(), 2u);
}

TEST(ConfigLoader, ReportListsEachErrorThenTheCount) {
    std::string text = kMinimal;
    text += "timers: { token_interval_ms: abc, handoff_retries: 99 }\n";
    auto loaded = loadString(text, "two.yaml");
    std::string report = loaded.report("prog");
    EXPECT_EQ(report, loaded.errors[0].toString() + "\n" + loaded.errors[1].toString() +
                          "\nprog: 2 errors in two.yaml\n");
    EXPECT_EQ(loadString(kMinimal, "ok.yaml").report("prog"), "");
}

TEST(ConfigLoader, TimersThatCannotWorkTogether) {
    std::string text = kMinimal;
    text += "timers: { token_interval_ms: 200, token_loss_timeout_ms: 250 }\n";
    auto errors = errorsOf(text);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].path, "timers.token_loss_timeout_ms");
}

TEST(ConfigLoader, HostileInputsAreErrorsNotCrashes) {
    EXPECT_EQ(errorsOf("").size(), 1u);
    EXPECT_EQ(errorsOf(std::string("\0\1\2garbage", 10)).size(), 1u);
    EXPECT_EQ(errorsOf(std::string(100000, '[')).size(), 1u);  // deep nesting
    EXPECT_EQ(errorsOf(std::string(kMaxConfigBytes + 1, '#')).size(), 1u);
    EXPECT_EQ(errorsOf("- just\n- a list\n").size(), 1u);
    EXPECT_EQ(errorsOf("cluster: {name: x\n").size(), 1u);
}

TEST(ConfigLoader, MissingFileIsAnError) {
    auto result = loadFile("/nonexistent/ringgate.yaml");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_NE(result.errors[0].reason.find("cannot open"), std::string::npos);
}

TEST(ConfigLoader, EveryExampleLoads) {
    int seen = 0;
    for (const auto& entry :
         std::filesystem::directory_iterator(RINGGATE_SOURCE_ROOT "/config/examples")) {
        if (entry.path().extension() != ".yaml") continue;
        ++seen;
        auto result = loadFile(entry.path());
        EXPECT_TRUE(result.config) << entry.path() << ": "
                                   << (result.errors.empty() ? "" : result.errors[0].toString());
    }
    EXPECT_GE(seen, 3);
}

}  // namespace
}  // namespace ringgate::config
