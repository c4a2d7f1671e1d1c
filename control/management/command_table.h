// Management commands, sans-I/O: a request line in, a reply out. Components register the
// commands they answer (members, vips, stats, pool, ...); the socket shell only moves bytes.
//
// Wire protocol on the management socket (one request per connection):
//   request:  "<format> <command> [args...]\n"   format is "text" or "json"
//   reply:    "ok\n" or "error\n", then the body, then the server closes the connection.
// Errors in JSON format are {"error": "..."} so scripts never parse prose.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/management/catalogue.h"

namespace ringgate::management {

enum class Format { Text, Json };

struct Request {
    Format format = Format::Text;
    std::string command;
    std::vector<std::string> args;
    // Who asks, for the log of changes: "uid 1000" on the socket, "user alice" remotely.
    std::string who = "local";
    // The asking process's uid on the local socket (none remotely): commands that read a
    // file named by the operator (config push) read only what that user could.
    std::optional<uint32_t> uid = std::nullopt;
};

struct Reply {
    bool ok = true;
    std::string body;

    static Reply error(Format format, std::string_view message);
};

// Parses "json members" or "text vip move 198.18.0.100 2"; a malformed line yields an error.
struct ParsedRequest {
    bool ok = false;
    Request request;
    std::string error;
};
ParsedRequest parseRequest(std::string_view line);
std::string formatRequest(const Request& request);
std::string encodeReply(const Reply& reply);

class CommandTable {
public:
    using Handler = std::function<Reply(const Request&)>;

    // `usage` is one line for `help`, e.g. "members            ring members and counters".
    void add(std::string name, std::string usage, Handler handler, Access access = Access::Change);
    // A command declared in the catalogue (catalogue.h): usage and access from there.
    void add(const CommandSpec& spec, Handler handler);
    Reply dispatch(const Request& request) const;
    // Whether `name` only reads (help and unknown commands do: they change nothing).
    Access accessOf(const std::string& name) const;

private:
    Reply help(const Request& request) const;

    struct Entry {
        std::string usage;
        Handler handler;
        Access access;
    };
    std::map<std::string, Entry> commands_;
};

}  // namespace ringgate::management
