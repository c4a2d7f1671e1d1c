#include "control/management/remote_api.h"

#include <openssl/evp.h>
#include <sys/random.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "control/management/password.h"
#include "control/management/json_text.h"

namespace ringgate::management {

namespace {

constexpr const char* kCookie = "rg_session";

std::string pathOf(const std::string& target) { return target.substr(0, target.find('?')); }

std::optional<std::string> decodeBase64(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0 || text.size() > 1024) return std::nullopt;
    std::string out(text.size() / 4 * 3, '\0');
    int n = ::EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                              reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0) return std::nullopt;
    size_t padding = (text.back() == '=') + (text.size() > 1 && text[text.size() - 2] == '=');
    out.resize(static_cast<size_t>(n) - padding);
    return out;
}

std::optional<std::string> randomToken() {
    unsigned char bytes[32];
    if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) return std::nullopt;
    std::string token;
    for (unsigned char b : bytes) token += fmt::format("{:02x}", b);
    return token;
}

Request requestFor(Format format, std::string command) {
    Request request;
    request.format = format;
    request.command = std::move(command);
    return request;
}

bool isJson(const std::string& contentType) { return contentType.rfind("application/json", 0) == 0; }

std::string describe(const std::string& user, config::Role role, const std::string& peer) {
    return fmt::format("user {} ({}) from {}", user, config::toString(role), peer);
}

}  // namespace

HttpResponse httpError(int status, const std::string& message) {
    return HttpResponse{status, "application/json", jsonLine(nlohmann::json{{"error", message}}), {}};
}

RemoteApi::RemoteApi(std::vector<config::ManagementUser> users, AccessOf accessOf, std::vector<Asset> assets)
    : users_(std::move(users)), accessOf_(std::move(accessOf)), assets_(std::move(assets)) {}

std::optional<RemoteApi::Who> RemoteApi::checkCredentials(const std::string& user, const std::string& password) const {
    for (const auto& candidate : users_)
        if (candidate.name == user) {
            if (checkPassword(password, candidate.passwordHash)) return Who{candidate.name, candidate.role};
            return std::nullopt;
        }
    checkNobody(password);
    return std::nullopt;
}

std::string RemoteApi::sessionOf(const HttpRequest& request) const {
    // Cookie: a=b; rg_session=TOKEN; c=d
    std::string_view cookies(request.cookie);
    while (!cookies.empty()) {
        size_t end = cookies.find(';');
        std::string_view pair = cookies.substr(0, end);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        if (pair.rfind(std::string(kCookie) + "=", 0) == 0) return std::string(pair.substr(std::strlen(kCookie) + 1));
        if (end == std::string_view::npos) break;
        cookies.remove_prefix(end + 1);
    }
    return {};
}

void RemoteApi::expire(Clock::time_point now) {
    for (auto it = sessions_.begin(); it != sessions_.end();)
        it = now - it->second.lastUse > kSessionIdle ? sessions_.erase(it) : std::next(it);
}

std::optional<RemoteApi::Who> RemoteApi::authenticate(const HttpRequest& request, Clock::time_point now) {
    if (std::string token = sessionOf(request); !token.empty()) {
        auto it = sessions_.find(token);
        if (it != sessions_.end() && now - it->second.lastUse <= kSessionIdle) {
            it->second.lastUse = now;
            return Who{it->second.user, it->second.role};
        }
    }
    if (request.authorization.rfind("Basic ", 0) == 0) {
        auto decoded = decodeBase64(std::string_view(request.authorization).substr(6));
        size_t colon = decoded ? decoded->find(':') : std::string::npos;
        if (colon == std::string::npos) return std::nullopt;
        auto who = checkCredentials(decoded->substr(0, colon), decoded->substr(colon + 1));
        if (!who)
            RG_WARN(Management, "remote: wrong password for user '%s' from %s", decoded->substr(0, colon).c_str(),
                    request.peer.c_str());
        return who;
    }
    return std::nullopt;
}

HttpResponse RemoteApi::login(const HttpRequest& request, Clock::time_point now) {
    if (!isJson(request.contentType)) return httpError(415, "login expects application/json");
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    if (!body.is_object() || !body.contains("user") || !body.contains("password") || !body["user"].is_string() ||
        !body["password"].is_string())
        return httpError(400, "login expects {\"user\": NAME, \"password\": PASSWORD}");
    std::string user = body["user"], password = body["password"];
    auto who = checkCredentials(user, password);
    if (!who) {
        RG_WARN(Management, "remote: failed login for user '%s' from %s", user.c_str(), request.peer.c_str());
        return httpError(401, "wrong user name or password");
    }
    auto token = randomToken();
    if (!token) return httpError(500, "no randomness for a session");
    expire(now);
    if (sessions_.size() >= kMaxSessions) {  // the least recently used goes
        auto oldest = sessions_.begin();
        for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
            if (it->second.lastUse < oldest->second.lastUse) oldest = it;
        sessions_.erase(oldest);
    }
    sessions_[*token] = Session{who->user, who->role, now};
    RG_INFO(Management, "remote: %s logged in", describe(who->user, who->role, request.peer).c_str());
    HttpResponse response{200, "application/json",
                          jsonLine(nlohmann::json{{"user", who->user}, {"role", config::toString(who->role)}}), {}};
    response.headers.emplace_back("Set-Cookie", fmt::format("{}={}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
                                                            kCookie, *token,
                                                            std::chrono::seconds(kSessionIdle).count()));
    return response;
}

ApiResult RemoteApi::command(const HttpRequest& request, const Who& who, Request call) {
    call.who = describe(who.user, who.role, request.peer);
    if (who.role != config::Role::Admin && accessOf_(call.command) == Access::Change) {
        RG_WARN(Management, "remote: %s may not run '%s' (read-only)", call.who.c_str(), call.command.c_str());
        return httpError(403, "user " + who.user + " is read-only: '" + call.command + "' changes state");
    }
    return CommandCall{std::move(call), false};
}

ApiResult RemoteApi::handle(const HttpRequest& request, Clock::time_point now) {
    const std::string path = pathOf(request.target);
    if (request.method == "GET") {
        std::string file = path == "/" ? "/index.html" : path;
        for (const Asset& asset : assets_)
            if (file == asset.path) return HttpResponse{200, asset.contentType, std::string(asset.body), {}};
    }
    if (path == "/api/login") {
        if (request.method != "POST") return httpError(405, "use POST");
        return login(request, now);
    }
    auto who = authenticate(request, now);
    if (!who) {
        HttpResponse refused = httpError(401, "log in first (POST /api/login) or send HTTP Basic credentials");
        // No WWW-Authenticate: a browser's own password dialog would bypass the console's.
        return refused;
    }
    // A change made by a page from another site cannot set this content type without a
    // CORS preflight (never answered), and the cookie is SameSite=Strict besides.
    if (request.method == "POST" && !isJson(request.contentType))
        return httpError(415, "POST bodies are application/json");
    if (path == "/api/session" && request.method == "GET")
        return HttpResponse{200, "application/json",
                            jsonLine(nlohmann::json{{"user", who->user}, {"role", config::toString(who->role)}}), {}};
    if (path == "/api/logout" && request.method == "POST") {
        sessions_.erase(sessionOf(request));
        HttpResponse response{200, "application/json", "{\"logged_out\":true}\n", {}};
        response.headers.emplace_back("Set-Cookie", std::string(kCookie) + "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
        return response;
    }
    if (path == "/metrics" && request.method == "GET") {
        Request call = requestFor(Format::Text, "metrics");
        auto result = command(request, *who, std::move(call));
        if (auto* c = std::get_if<CommandCall>(&result)) c->prometheus = true;
        return result;
    }
    if (path == "/api/command" && request.method == "POST") {
        auto body = nlohmann::json::parse(request.body, nullptr, false);
        if (!body.is_object() || !body.contains("command") || !body["command"].is_string())
            return httpError(400, "expected {\"command\": NAME, \"args\": [..], \"format\": \"json\"|\"text\"}");
        Request call;
        call.command = body["command"];
        call.format = Format::Json;
        if (body.contains("format")) {
            if (body["format"] == "text") call.format = Format::Text;
            else if (body["format"] != "json") return httpError(400, "format is \"json\" or \"text\"");
        }
        if (body.contains("args")) {
            if (!body["args"].is_array() || body["args"].size() > 64) return httpError(400, "args is a list of strings");
            for (const auto& arg : body["args"]) {
                if (!arg.is_string()) return httpError(400, "args is a list of strings");
                call.args.push_back(arg);
            }
        }
        return command(request, *who, std::move(call));
    }
    if (path.rfind("/api/", 0) == 0 && request.method == "GET") {
        std::string name = path.substr(5);
        if (accessOf_(name) == Access::Change)
            return httpError(405, "'" + name + "' changes state: POST /api/command");
        return command(request, *who, requestFor(Format::Json, name));
    }
    return httpError(404, "no such resource: " + request.method + " " + path);
}

HttpResponse RemoteApi::respond(const CommandCall& call, const Reply& reply) {
    HttpResponse response;
    response.status = reply.ok ? 200 : 400;
    response.body = reply.body;
    if (call.prometheus) response.contentType = "text/plain; version=0.0.4; charset=utf-8";
    else if (call.request.format == Format::Text || call.request.command == "metrics")
        response.contentType = "text/plain; charset=utf-8";
    return response;
}

}  // namespace ringgate::management
