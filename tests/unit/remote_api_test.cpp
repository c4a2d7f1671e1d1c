// RemoteApi, the sans-I/O core of remote management: users, roles, sessions, routes.
#include "control/management/remote_api.h"

#include <gtest/gtest.h>

#include "control/management/password.h"

namespace ringgate::management {
namespace {

using namespace std::chrono_literals;

class RemoteApiTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // Real yescrypt hashes (slow on purpose): made once for the suite.
        adminHash_ = *hashPassword("admin-secret");
        viewerHash_ = *hashPassword("viewer-secret");
    }

    RemoteApi api_{{{"alice", adminHash_, config::Role::Admin}, {"victor", viewerHash_, config::Role::ReadOnly}},
                   [](const std::string& name) {
                       auto* spec = findCommand(name);
                       return spec ? spec->access : Access::Read;
                   },
                   {{"/index.html", "text/html", "<html>console</html>"}}};
    RemoteApi::Clock::time_point now_{};

    static HttpRequest get(std::string target, std::string authorization = "", std::string cookie = "") {
        return HttpRequest{"GET", std::move(target), std::move(authorization), std::move(cookie), "", "", "192.0.2.7"};
    }
    static HttpRequest post(std::string target, std::string body, std::string cookie = "",
                            std::string contentType = "application/json") {
        return HttpRequest{"POST", std::move(target), "", std::move(cookie), std::move(contentType), std::move(body),
                           "192.0.2.7"};
    }
    static int status(const ApiResult& result) {
        auto* response = std::get_if<HttpResponse>(&result);
        return response ? response->status : 0;  // 0: a command to run
    }
    std::string login(const std::string& user, const std::string& password) {
        auto result = api_.handle(post("/api/login", R"({"user":")" + user + R"(","password":")" + password + "\"}"), now_);
        auto& response = std::get<HttpResponse>(result);
        if (response.status != 200) return "";
        for (auto& [name, value] : response.headers)
            if (name == "Set-Cookie") return value.substr(0, value.find(';'));
        return "";
    }

    static std::string adminHash_, viewerHash_;
};
std::string RemoteApiTest::adminHash_, RemoteApiTest::viewerHash_;

TEST_F(RemoteApiTest, PasswordHashesAreSaltedYescrypt) {
    EXPECT_EQ(adminHash_.rfind("$y$", 0), 0u);
    EXPECT_NE(*hashPassword("admin-secret"), adminHash_);  // a fresh salt each time
    EXPECT_TRUE(checkPassword("admin-secret", adminHash_));
    EXPECT_FALSE(checkPassword("admin-secreT", adminHash_));
    EXPECT_FALSE(checkPassword("admin-secret", "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"));
}

TEST_F(RemoteApiTest, ConsoleFilesNeedNoLogin) {
    auto result = api_.handle(get("/"), now_);
    ASSERT_EQ(status(result), 200);
    EXPECT_EQ(std::get<HttpResponse>(result).body, "<html>console</html>");
    EXPECT_EQ(status(api_.handle(get("/secret.txt"), now_)), 401);  // not a console file: the API's rules
}

TEST_F(RemoteApiTest, EverythingElseNeedsCredentials) {
    EXPECT_EQ(status(api_.handle(get("/api/members"), now_)), 401);
    EXPECT_EQ(status(api_.handle(get("/metrics"), now_)), 401);
    EXPECT_EQ(status(api_.handle(post("/api/command", R"({"command":"vips"})"), now_)), 401);
}

TEST_F(RemoteApiTest, WrongPasswordsAndUnknownUsersAreRefused) {
    EXPECT_EQ(login("alice", "nope"), "");
    EXPECT_EQ(login("mallory", "admin-secret"), "");
    EXPECT_EQ(status(api_.handle(get("/api/members", "Basic YWxpY2U6bm9wZQ=="), now_)), 401);  // alice:nope
    EXPECT_EQ(status(api_.handle(get("/api/members", "Basic !!!!"), now_)), 401);
    EXPECT_EQ(status(api_.handle(get("/api/members", "Basic YWxpY2U="), now_)), 401);  // "alice", no colon
    EXPECT_EQ(api_.sessions(), 0u);
}

TEST_F(RemoteApiTest, BasicCredentialsRunCommandsAsTheUser) {
    // alice:admin-secret
    auto result = api_.handle(get("/api/members", "Basic YWxpY2U6YWRtaW4tc2VjcmV0"), now_);
    auto* call = std::get_if<CommandCall>(&result);
    ASSERT_NE(call, nullptr);
    EXPECT_EQ(call->request.command, "members");
    EXPECT_EQ(call->request.format, Format::Json);
    EXPECT_EQ(call->request.who, "user alice (admin) from 192.0.2.7");
}

TEST_F(RemoteApiTest, PathsThatAreNotUtf8AreAnsweredNotThrown) {
    // Found by tests/fuzz/fuzz_management_request.cpp: the error echoing such a path threw
    // out of the handler (nlohmann's dump refuses invalid UTF-8), which ends the daemon.
    for (const char* target : {"/nowhere/\xff\xfe", "/\xc3"}) {
        ApiResult result;
        ASSERT_NO_THROW(result = api_.handle(get(target, "Basic YWxpY2U6YWRtaW4tc2VjcmV0"), now_));
        auto& response = std::get<HttpResponse>(result);
        EXPECT_EQ(response.status, 404);
        EXPECT_NE(response.body.find("\xef\xbf\xbd"), std::string::npos) << response.body;  // U+FFFD
    }
}

TEST_F(RemoteApiTest, ReadOnlyUsersReadButCannotChange) {
    std::string cookie = login("victor", "viewer-secret");
    ASSERT_FALSE(cookie.empty());
    EXPECT_EQ(status(api_.handle(get("/api/vips", "", cookie), now_)), 0);
    auto refused = api_.handle(post("/api/command", R"({"command":"vip","args":["move","198.18.0.100","2"]})", cookie), now_);
    ASSERT_EQ(status(refused), 403);
    EXPECT_NE(std::get<HttpResponse>(refused).body.find("read-only"), std::string::npos);
    EXPECT_EQ(status(api_.handle(post("/api/command", R"({"command":"log-level","args":["debug"]})", cookie), now_)), 403);
}

TEST_F(RemoteApiTest, AdminsChangeThroughPostOnly) {
    std::string cookie = login("alice", "admin-secret");
    auto result = api_.handle(post("/api/command", R"({"command":"vip","args":["move","198.18.0.100","2"],"format":"text"})", cookie), now_);
    auto* call = std::get_if<CommandCall>(&result);
    ASSERT_NE(call, nullptr);
    EXPECT_EQ(call->request.args, (std::vector<std::string>{"move", "198.18.0.100", "2"}));
    EXPECT_EQ(call->request.format, Format::Text);
    EXPECT_EQ(status(api_.handle(get("/api/vip", "", cookie), now_)), 405);  // a change is never a GET
    // A form from another site cannot send JSON without a preflight: other types are refused.
    EXPECT_EQ(status(api_.handle(post("/api/command", R"({"command":"drain","args":["1"]})", cookie, "text/plain"), now_)), 415);
}

TEST_F(RemoteApiTest, MalformedBodiesAreRefused) {
    std::string cookie = login("alice", "admin-secret");
    for (const char* body : {"", "[]", "{\"command\":1}", "{\"command\":\"vips\",\"args\":\"x\"}",
                             "{\"command\":\"vips\",\"args\":[1]}", "{\"command\":\"vips\",\"format\":\"xml\"}", "{"})
        EXPECT_EQ(status(api_.handle(post("/api/command", body, cookie), now_)), 400) << body;
    EXPECT_EQ(status(api_.handle(post("/api/login", "{\"user\":\"alice\"}"), now_)), 400);
}

TEST_F(RemoteApiTest, SessionsExpireWhenIdleAndOnLogout) {
    std::string cookie = login("alice", "admin-secret");
    now_ += RemoteApi::kSessionIdle - 1s;
    EXPECT_EQ(status(api_.handle(get("/api/session", "", cookie), now_)), 200);  // use renews it
    now_ += RemoteApi::kSessionIdle - 1s;
    EXPECT_EQ(status(api_.handle(get("/api/session", "", cookie), now_)), 200);
    now_ += RemoteApi::kSessionIdle + 1s;
    EXPECT_EQ(status(api_.handle(get("/api/session", "", cookie), now_)), 401);

    cookie = login("alice", "admin-secret");
    EXPECT_EQ(status(api_.handle(post("/api/logout", "{}", cookie), now_)), 200);
    EXPECT_EQ(status(api_.handle(get("/api/session", "", cookie), now_)), 401);
    EXPECT_EQ(status(api_.handle(get("/api/session", "", "rg_session=forged"), now_)), 401);
}

Request requestFor(Format format, std::string command) {
    Request request;
    request.format = format;
    request.command = std::move(command);
    return request;
}

TEST_F(RemoteApiTest, RepliesBecomeResponses) {
    CommandCall call{requestFor(Format::Json, "vips"), false};
    EXPECT_EQ(RemoteApi::respond(call, Reply{true, "{}"}).status, 200);
    EXPECT_EQ(RemoteApi::respond(call, Reply::error(Format::Json, "no")).status, 400);
    CommandCall metrics{requestFor(Format::Text, "metrics"), true};
    EXPECT_EQ(RemoteApi::respond(metrics, Reply{true, "x 1\n"}).contentType, "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace
}  // namespace ringgate::management
