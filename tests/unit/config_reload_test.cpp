// What a running node takes from a new configuration (config/reload.h) and how it rewrites
// its file (config/save.h).
#include "config/reload.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/loader.h"
#include "config/save.h"

namespace ringgate::config {
namespace {

const char* kBase = R"(cluster:
  name: prod
  config_version: 1
  nodes:
    - { id: 1, addresses: { ext: 198.18.0.1 } }
    - { id: 2, addresses: { ext: 198.18.0.2 } }
subnets:
  - name: ext
    prefix: 198.18.0.0/24
    vips:
      - { address: 198.18.0.100 }
pools:
  - name: web
    backends: [ { address: 198.18.0.50, port: 80 } ]
services:
  - { name: www, vip: 198.18.0.100, port: 80, pool: web }
dataplane: { enabled: false }
)";

Config load(const std::string& text) {
    auto result = loadString(text, "t.yaml");
    EXPECT_TRUE(result.config) << (result.errors.empty() ? "" : result.errors.front().toString());
    return *result.config;
}

std::string edited(std::initializer_list<std::pair<std::string, std::string>> replacements) {
    std::string text = kBase;
    for (const auto& [from, to] : replacements) {
        auto at = text.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        text.replace(at, from.size(), to);
    }
    return text;
}

TEST(ConfigReload, SameFileIsUnchanged) {
    Config running = load(kBase);
    ReloadPlan plan = planReload(running, running, 1, true);
    EXPECT_TRUE(plan.unchanged);
    EXPECT_TRUE(plan.live());
}

TEST(ConfigReload, VipsServicesPoolsAndTimersApplyLive) {
    Config running = load(kBase);
    Config next = load(edited({{"config_version: 1", "config_version: 2"},
                               {"      - { address: 198.18.0.100 }",
                                "      - { address: 198.18.0.100, preferred_host: 2 }\n      - { address: 198.18.0.101 }"},
                               {"port: 80 } ]", "port: 80 }, { address: 198.18.0.51, port: 80 } ]"},
                               {"pool: web }", "pool: web }\n  - { name: dns, vip: 198.18.0.101, port: 53, protocol: udp, pool: web }"},
                               {"dataplane:", "timers: { token_interval_ms: 150 }\ndataplane:"}}));
    ReloadPlan plan = planReload(running, next, 1, false);
    ASSERT_TRUE(plan.live()) << plan.refusals.front();
    std::vector<std::string> expected = {"config_version 1 -> 2",
                                         "VIP 198.18.0.100 persistence 0 -> 198.18.0.100 preferred 2 persistence 0",
                                         "VIP 198.18.0.101 persistence 0 added",
                                         "pool web changed",
                                         "service dns added",
                                         "timers changed"};
    EXPECT_EQ(plan.changes, expected);
}

TEST(ConfigReload, ChangedFileMustRaiseTheVersion) {
    Config running = load(kBase);
    Config next = load(edited({{"port: 80 } ]", "port: 8080 } ]"}}));
    ReloadPlan plan = planReload(running, next, 1, false);
    ASSERT_EQ(plan.refusals.size(), 1u);
    EXPECT_NE(plan.refusals[0].find("config_version must grow when the file changes (running 1, new 1)"),
              std::string::npos) << plan.refusals[0];
    // Adopting the cluster's version, the version already won on the token.
    EXPECT_TRUE(planReload(running, next, 1, false, VersionRule::Any).live());
}

TEST(ConfigReload, IdentityWireAndNodeFieldsNeedARestart) {
    Config running = load(kBase);
    struct Case {
        std::pair<std::string, std::string> edit;
        std::string field;
    };
    std::vector<Case> cases = {
        {{"name: prod", "name: other"}, "cluster.name"},
        {{"  config_version: 1\n", "  config_version: 1\n  port: 7200\n"}, "cluster.port"},
        {{"  config_version: 1\n", "  config_version: 1\n  shared_key: 0123456789abcdef0123\n"}, "cluster.shared_key"},
        {{"    - { id: 2, addresses: { ext: 198.18.0.2 } }\n",
          "    - { id: 2, addresses: { ext: 198.18.0.2 } }\n    - { id: 3, addresses: { ext: 198.18.0.3 } }\n"},
         "cluster.nodes"},
        {{"prefix: 198.18.0.0/24", "prefix: 198.18.0.0/23"}, "subnets"},
        {{"dataplane: { enabled: false }", "dataplane: { enabled: false, memory_mb: 256 }"}, "dataplane"},
        {{"dataplane:", "flows: { hold_ms: 70 }\ndataplane:"}, "flows"},
        {{"dataplane:", "management: { socket: \"/run/x-{node}.sock\" }\ndataplane:"}, "management"},
        {{"dataplane:", "local_monitors: { applications: [ { kind: tcp, target: 127.0.0.1, port: 22 } ] }\ndataplane:"},
         "local_monitors"},
        {{"dataplane:", "load_balancing: { cpu_weight: 0 }\ndataplane:"}, "load_balancing"},
    };
    for (const Case& c : cases) {
        Config next = load(edited({c.edit, {"config_version: 1", "config_version: 2"}}));
        ReloadPlan plan = planReload(running, next, 1, false);
        ASSERT_EQ(plan.refusals.size(), 1u) << c.field;
        EXPECT_EQ(plan.refusals[0].rfind(c.field, 0), 0u) << plan.refusals[0];
        EXPECT_TRUE(plan.changes.empty());
    }
}

TEST(ConfigReload, NodeMustStayInTheNodeMap) {
    Config running = load(kBase);
    Config next = load(edited({{"config_version: 1", "config_version: 2"}}));
    ReloadPlan plan = planReload(running, next, 3, false);
    ASSERT_FALSE(plan.live());
    EXPECT_EQ(plan.refusals[0], "node 3 is not in the new node map");
}

class TempDir : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("rg-save-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string read(const std::filesystem::path& path) {
        std::ifstream in(path);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    std::filesystem::path dir_;
};

TEST_F(TempDir, WriteReplacesTheFileKeepingItsModeAndLeavesNoTemporary) {
    auto path = dir_ / "cluster.yaml";
    { std::ofstream(path) << "old\n"; }
    ::chmod(path.c_str(), 0640);
    ASSERT_TRUE(writeFileAtomically(path.string(), "new contents\n"));
    EXPECT_EQ(read(path), "new contents\n");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) files += entry.is_regular_file();
    EXPECT_EQ(files, 1u);
}

TEST_F(TempDir, FailedWriteLeavesTheOldFile) {
    auto path = dir_ / "missing-dir" / "cluster.yaml";
    auto written = writeFileAtomically(path.string(), "x");
    ASSERT_FALSE(written);
    EXPECT_NE(written.error().message.find("cannot write"), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace ringgate::config
