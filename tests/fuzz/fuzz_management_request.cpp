// libFuzzer target: the management requests a gateway reads from outside.
//   - A request line on the management socket (command_table.*): whatever parses, written
//     back by formatRequest, parses to the same request.
//   - An HTTP request to remote management (remote_api.*), with fuzzed method, target,
//     headers and body, and credentials that are missing, forged, a wrong password, or
//     right for an admin or a read-only user. Nothing runs a command without the right
//     password, a read-only user runs only commands that change nothing, and every answer
//     is a well-formed HTTP status.
// The users' hashes are bcrypt at its lowest cost, so that a check costs microseconds
// here (the daemon's are slow on purpose).
#include <crypt.h>
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

#include "common/log.h"
#include "control/management/catalogue.h"
#include "control/management/command_table.h"
#include "control/management/remote_api.h"

using namespace ringgate;
using namespace ringgate::management;

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

constexpr const char* kPassword = "right horse battery";

std::string cheapHash(const char* password) {
    static const char kSalt[] = "$2b$04$abcdefghijklmnopqrstuu";
    struct crypt_data data {};
    const char* hashed = crypt_r(password, kSalt, &data);
    require(hashed != nullptr && hashed[0] == '$');
    return hashed;
}

std::string base64(const std::string& text) {
    static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (size_t i = 0; i < text.size(); i += 3) {
        uint32_t n = uint32_t(uint8_t(text[i])) << 16;
        if (i + 1 < text.size()) n |= uint32_t(uint8_t(text[i + 1])) << 8;
        if (i + 2 < text.size()) n |= uint8_t(text[i + 2]);
        out += kAlphabet[n >> 18 & 63];
        out += kAlphabet[n >> 12 & 63];
        out += i + 1 < text.size() ? kAlphabet[n >> 6 & 63] : '=';
        out += i + 2 < text.size() ? kAlphabet[n & 63] : '=';
    }
    return out;
}

Access accessOf(const std::string& command) {
    const CommandSpec* spec = findCommand(command);
    return spec ? spec->access : Access::Change;
}

void socketRequest(const std::string& line) {
    ParsedRequest parsed = parseRequest(line);
    if (!parsed.ok) return;
    ParsedRequest again = parseRequest(formatRequest(parsed.request));
    require(again.ok);
    require(again.request.format == parsed.request.format);
    require(again.request.command == parsed.request.command);
    require(again.request.args == parsed.request.args);
}

enum class Credentials { None, Forged, WrongPassword, Admin, ReadOnly, kMaxValue = ReadOnly };

void httpRequest(FuzzedDataProvider& in) {
    static const std::string hash = cheapHash(kPassword);
    RemoteApi api({{"admin", hash, config::Role::Admin}, {"viewer", hash, config::Role::ReadOnly}}, accessOf);
    static const char* const kMethods[] = {"GET", "POST", "HEAD", "PUT", "DELETE"};
    HttpRequest request;
    request.method = in.ConsumeBool() ? kMethods[in.ConsumeIntegralInRange<size_t>(0, 4)]
                                      : in.ConsumeRandomLengthString(16);
    request.target = in.ConsumeRandomLengthString(64);
    auto credentials = in.ConsumeEnum<Credentials>();
    switch (credentials) {
    case Credentials::None: break;
    case Credentials::Forged: request.authorization = in.ConsumeRandomLengthString(96); break;
    case Credentials::WrongPassword: request.authorization = "Basic " + base64("admin:" + in.ConsumeRandomLengthString(24)); break;
    case Credentials::Admin: request.authorization = "Basic " + base64(std::string("admin:") + kPassword); break;
    case Credentials::ReadOnly: request.authorization = "Basic " + base64(std::string("viewer:") + kPassword); break;
    }
    request.cookie = in.ConsumeRandomLengthString(64);
    request.contentType = in.ConsumeBool() ? "application/json" : in.ConsumeRandomLengthString(32);
    request.body = in.ConsumeRemainingBytesAsString();
    request.peer = "198.18.0.1";

    ApiResult result = api.handle(request, RemoteApi::Clock::time_point{});
    if (auto* response = std::get_if<HttpResponse>(&result)) {
        require(response->status >= 200 && response->status <= 599);
        return;
    }
    const auto& call = std::get<CommandCall>(result);
    // The password is checked by comparing hashes, so the fuzzer cannot learn it from the
    // comparisons it traces: only the two right credentials may run a command.
    require(credentials == Credentials::Admin || credentials == Credentials::ReadOnly);
    if (credentials == Credentials::ReadOnly) require(accessOf(call.request.command) == Access::Read);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static bool quiet = [] {
        log::setAllLevels(log::Level::Error);
        return true;
    }();
    (void)quiet;
    FuzzedDataProvider in(data, size);
    socketRequest(in.ConsumeRandomLengthString(256));
    httpRequest(in);
    return 0;
}
