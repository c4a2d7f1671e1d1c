#include "control/management/command_table.h"

#include <gtest/gtest.h>

namespace ringgate::management {
namespace {

TEST(CommandTable, ParsesRequestLines) {
    auto parsed = parseRequest("json vip move 198.18.0.100 2\n");
    ASSERT_TRUE(parsed.ok) << parsed.error;
    EXPECT_EQ(parsed.request.format, Format::Json);
    EXPECT_EQ(parsed.request.command, "vip");
    EXPECT_EQ(parsed.request.args, (std::vector<std::string>{"move", "198.18.0.100", "2"}));
    EXPECT_EQ(formatRequest(parsed.request), "json vip move 198.18.0.100 2\n");
}

TEST(CommandTable, RefusesMalformedRequests) {
    EXPECT_FALSE(parseRequest("").ok);
    EXPECT_FALSE(parseRequest("json").ok);
    EXPECT_FALSE(parseRequest("xml status").ok);
    EXPECT_FALSE(parseRequest("text sta\x01tus").ok);
    EXPECT_FALSE(parseRequest(std::string(5000, 'a')).ok);
}

TEST(CommandTable, DispatchesAndReportsUnknown) {
    CommandTable table;
    table.add("echo", "echo ARGS", [](const Request& r) {
        std::string body;
        for (const auto& a : r.args) body += a;
        return Reply{true, body};
    });
    EXPECT_EQ(table.dispatch({Format::Text, "echo", {"a", "b"}}).body, "ab");
    Reply unknown = table.dispatch({Format::Json, "nope", {}});
    EXPECT_FALSE(unknown.ok);
    EXPECT_EQ(unknown.body, "{\"error\":\"unknown command 'nope' (try 'help')\"}\n");
    Reply help = table.dispatch({Format::Text, "help", {}});
    EXPECT_TRUE(help.ok);
    EXPECT_EQ(help.body, "echo ARGS\n");
    EXPECT_EQ(encodeReply(unknown).rfind("error\n", 0), 0u);
    // A name that is not UTF-8 is answered, not thrown (tests/fuzz/fuzz_management_request.cpp).
    Reply garbled;
    ASSERT_NO_THROW(garbled = table.dispatch({Format::Json, "\xff", {}}));
    EXPECT_EQ(garbled.body, "{\"error\":\"unknown command '\xef\xbf\xbd' (try 'help')\"}\n");
}

}  // namespace
}  // namespace ringgate::management
