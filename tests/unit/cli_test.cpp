#include "common/cli.h"

#include <gtest/gtest.h>

#include <vector>

namespace ringgate::cli {
namespace {

Expected<Parsed> run(std::vector<std::string> words) {
    std::vector<char*> argv{const_cast<char*>("prog")};
    for (auto& w : words) argv.push_back(w.data());
    return parse(static_cast<int>(argv.size()), argv.data(), Spec{{"config", "node"}, {"json"}});
}

TEST(Cli, OptionsSwitchesAndPositionals) {
    auto parsed = run({"--config", "a.yaml", "--node=3", "members", "--json"});
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->option("config"), "a.yaml");
    EXPECT_EQ(parsed->option("node"), "3");
    EXPECT_TRUE(parsed->has("json"));
    EXPECT_EQ(parsed->positional, std::vector<std::string>{"members"});
}

TEST(Cli, ErrorsNameTheOption) {
    auto unknown = run({"--bogus"});
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message.find("--bogus"), std::string::npos);
    auto missing = run({"--config"});
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("needs a value"), std::string::npos);
    auto twice = run({"--node", "1", "--node", "2"});
    ASSERT_FALSE(twice);
    auto valued = run({"--json=yes"});
    ASSERT_FALSE(valued);
}

TEST(Cli, ParseNumberBounds) {
    EXPECT_EQ(*parseNumber("node", "7", 1, 10), 7u);
    EXPECT_FALSE(parseNumber("node", "0", 1, 10));
    EXPECT_FALSE(parseNumber("node", "11", 1, 10));
    EXPECT_FALSE(parseNumber("node", "3x", 1, 10));
    EXPECT_FALSE(parseNumber("node", "", 1, 10));
    EXPECT_FALSE(parseNumber("node", "-1", 1, 10));
}

}  // namespace
}  // namespace ringgate::cli
