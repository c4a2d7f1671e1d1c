// The registry and buddy-listener wire formats: round trips, and hostile lines refused.
#include <gtest/gtest.h>

#include "control/registry/protocol.h"

namespace ringgate::registry::protocol {
namespace {

Ipv4Address ip(const char* text) { return *Ipv4Address::parse(text); }

TEST(RegistryProtocol, RequestsRoundTrip) {
    for (const char* line : {"ANNOUNCE 198.19.0.4", "DELETE 198.19.0.3", "REPLACE 198.19.0.4 198.19.0.9",
                             "ENTRY 198.19.0.1", "LIST", "TABLE", "SUBSCRIBE", "ROLE", "REPLICATE"}) {
        auto request = parseRequest(line, false);
        ASSERT_TRUE(request.ok()) << line << ": " << request.error().message;
        EXPECT_EQ(formatRequest(*request, false), line);
    }
    auto replace = parseRequest("REPLACE 7 198.19.0.3 198.19.0.4", true);
    ASSERT_TRUE(replace.ok());
    EXPECT_EQ(replace->version, 7u);
    EXPECT_EQ(replace->first, ip("198.19.0.3"));
    EXPECT_EQ(replace->second, ip("198.19.0.4"));
    EXPECT_EQ(formatRequest(*replace, true), "REPLACE 7 198.19.0.3 198.19.0.4");
}

TEST(RegistryProtocol, HostileRequestsAreRefused) {
    for (std::string line : {std::string(""), std::string("   "), std::string("announce 198.19.0.4"),
                             std::string("ANNOUNCE"), std::string("ANNOUNCE 198.19.0.4 extra"),
                             std::string("ANNOUNCE 198.19.0.256"), std::string("DELETE 1.2.3"),
                             std::string("REPLACE 198.19.0.1"), std::string("DROP TABLE ringgate_servers"),
                             std::string("ANNOUNCE 198.19.0.4'; DELETE FROM x; --"), std::string("LIST\x01"),
                             std::string("STATUS"), std::string(300, 'A'), std::string("ANNOUNCE \xff\xfe")}) {
        EXPECT_FALSE(parseRequest(line, false).ok()) << line;
    }
    for (std::string line : {std::string("REPLACE 198.19.0.3 198.19.0.4"), std::string("REPLACE x 198.19.0.3 198.19.0.4"),
                             std::string("REPLACE -1 198.19.0.3 198.19.0.4"), std::string("ANNOUNCE 198.19.0.4"),
                             std::string("REPLACE 99999999999999999999999 198.19.0.3 198.19.0.4")}) {
        EXPECT_FALSE(parseRequest(line, true).ok()) << line;
    }
    EXPECT_TRUE(parseRequest("STATUS", true).ok());
}

TEST(RegistryProtocol, RepliesRoundTrip) {
    auto announce = parseBuddyReply(formatAnnounce({false, ip("198.19.0.2"), ip("198.19.0.3"), 12}, 7));
    ASSERT_TRUE(announce.ok());
    EXPECT_FALSE(announce->flag);
    EXPECT_EQ(announce->buddyA, ip("198.19.0.2"));
    EXPECT_EQ(announce->version, 12u);
    EXPECT_EQ(announce->term, 7u);  // agents refuse answers below a term they have seen
    auto del = parseBuddyReply(formatDelete({true, ip("198.19.0.1"), ip("198.19.0.4"), 13}, 0));
    ASSERT_TRUE(del.ok());
    EXPECT_TRUE(del->flag);
    EXPECT_EQ(del->buddyB, ip("198.19.0.4"));
    EXPECT_FALSE(parseBuddyReply("ERR not the primary").ok());
    EXPECT_FALSE(parseBuddyReply("OK 1 maybe 198.19.0.1 198.19.0.2 0").ok());
    EXPECT_FALSE(parseBuddyReply("OK 1 new 198.19.0.1 198.19.0.2").ok());     // no term
    EXPECT_FALSE(parseBuddyReply("OK 1 new 198.19.0.1 198.19.0.2 x").ok());

    auto live = parseLive(formatLive("LIVE", 9, {ip("198.19.0.1"), ip("198.19.0.2")}));
    ASSERT_TRUE(live.ok());
    EXPECT_EQ(live->version, 9u);
    EXPECT_EQ(live->servers.size(), 2u);

    TableSnapshot table{4, {{ip("198.19.0.1"), ip("198.19.0.2"), ip("198.19.0.2")},
                            {ip("198.19.0.2"), ip("198.19.0.1"), ip("198.19.0.1")}}};
    auto parsed = parseTable(formatTable(table));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->version, 4u);
    EXPECT_EQ(parsed->entries, table.entries);
}

TEST(RegistryProtocol, ReplicationRoundTrip) {
    for (Apply apply : {Apply{5, Verb::Announce, ip("198.19.0.4"), {}, 123456789},
                        Apply{6, Verb::Delete, ip("198.19.0.3"), {}, 0},
                        Apply{7, Verb::Replace, ip("198.19.0.4"), ip("198.19.0.9"), 0}}) {
        auto parsed = parseApply(formatApply(apply));
        ASSERT_TRUE(parsed.ok()) << formatApply(apply);
        EXPECT_EQ(parsed->version, apply.version);
        EXPECT_EQ(parsed->verb, apply.verb);
        EXPECT_EQ(parsed->first, apply.first);
        EXPECT_EQ(parsed->second, apply.second);
        EXPECT_EQ(parsed->pick, apply.pick);
    }
    EXPECT_FALSE(parseApply("APPLY 5 ANNOUNCE 198.19.0.4").ok());
    EXPECT_FALSE(parseApply("APPLY x DELETE 198.19.0.4").ok());
}

}  // namespace
}  // namespace ringgate::registry::protocol
