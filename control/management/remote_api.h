// Remote management over HTTPS, sans-I/O: an HTTP request (already parsed and bounded by
// the shell, https_server.*) in, either a response or a command to run on the control
// thread out. Knows the users and their roles, the login sessions of the web console,
// the routes of the JSON API and the console's files. No sockets, no threads, no clock
// of its own: the shell passes `now`, so tests drive it directly.
//
// Routes (docs/OPERATIONS.md):
//   GET  /, /console.js, /console.css   the web console (no login needed to fetch it)
//   POST /api/login   {"user","password"}  -> session cookie (HttpOnly, Secure, SameSite=Strict)
//   POST /api/logout, GET /api/session
//   POST /api/command {"command","args":[...],"format":"json"|"text"}  any catalogue command
//   GET  /api/NAME    a read-only command without arguments, as JSON
//   GET  /metrics     the Prometheus text exposition
// Every API route but login needs the cookie or HTTP Basic credentials (ringgatectl).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "config/config.h"
#include "control/management/command_table.h"

namespace ringgate::management {

struct HttpRequest {
    std::string method;  // "GET", "POST", ...
    std::string target;  // "/api/command?x" (the query is ignored)
    std::string authorization;
    std::string cookie;
    std::string contentType;
    std::string body;
    std::string peer;  // the client's address, for logs
};

struct HttpResponse {
    int status = 200;
    std::string contentType = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra, e.g. Set-Cookie
};

// A command the shell must run on the control thread (CommandTable::dispatch); the
// reply becomes the response through `respond`.
struct CommandCall {
    Request request;
    bool prometheus = false;  // GET /metrics: text/plain exposition
};

using ApiResult = std::variant<HttpResponse, CommandCall>;

// One file of the web console.
struct Asset {
    const char* path;  // "/console.js"
    const char* contentType;
    std::string_view body;
};

class RemoteApi {
public:
    using Clock = std::chrono::steady_clock;
    using AccessOf = std::function<Access(const std::string& command)>;

    static constexpr auto kSessionIdle = std::chrono::minutes(30);
    static constexpr size_t kMaxSessions = 256;

    RemoteApi(std::vector<config::ManagementUser> users, AccessOf accessOf, std::vector<Asset> assets = {});

    ApiResult handle(const HttpRequest& request, Clock::time_point now);
    // The HTTP response for a command's reply.
    static HttpResponse respond(const CommandCall& call, const Reply& reply);

    size_t sessions() const { return sessions_.size(); }

private:
    struct Session {
        std::string user;
        config::Role role;
        Clock::time_point lastUse;
    };
    struct Who {
        std::string user;
        config::Role role;
    };

    std::optional<Who> authenticate(const HttpRequest& request, Clock::time_point now);
    std::optional<Who> checkCredentials(const std::string& user, const std::string& password) const;
    HttpResponse login(const HttpRequest& request, Clock::time_point now);
    ApiResult command(const HttpRequest& request, const Who& who, Request call);
    std::string sessionOf(const HttpRequest& request) const;
    void expire(Clock::time_point now);

    std::vector<config::ManagementUser> users_;
    AccessOf accessOf_;
    std::vector<Asset> assets_;
    std::map<std::string, Session> sessions_;  // by random token
};

// {"error": message} with `status`.
HttpResponse httpError(int status, const std::string& message);

}  // namespace ringgate::management
