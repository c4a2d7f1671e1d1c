#include "control/management/command_table.h"
#include "control/management/json_text.h"

#include <nlohmann/json.hpp>

namespace ringgate::management {

namespace {
// Longest request line accepted; a longer one is a hostile or broken client.
constexpr size_t kMaxRequestBytes = 4096;
}

Reply Reply::error(Format format, std::string_view message) {
    if (format == Format::Json) return Reply{false, jsonLine(nlohmann::json{{"error", message}})};
    return Reply{false, std::string(message) + "\n"};
}

ParsedRequest parseRequest(std::string_view line) {
    ParsedRequest parsed;
    if (line.size() > kMaxRequestBytes) {
        parsed.error = "request longer than " + std::to_string(kMaxRequestBytes) + " bytes";
        return parsed;
    }
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    std::vector<std::string> words;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        size_t start = i;
        while (i < line.size() && line[i] != ' ') {
            unsigned char c = static_cast<unsigned char>(line[i]);
            if (c < 0x20 || c == 0x7f) {
                parsed.error = "request contains control characters";
                return parsed;
            }
            ++i;
        }
        if (i > start) words.emplace_back(line.substr(start, i - start));
    }
    if (words.size() < 2) {
        parsed.error = "expected '<text|json> <command> [args...]'";
        return parsed;
    }
    if (words[0] == "json") {
        parsed.request.format = Format::Json;
    } else if (words[0] == "text") {
        parsed.request.format = Format::Text;
    } else {
        parsed.error = "unknown format '" + words[0] + "' (expected text or json)";
        return parsed;
    }
    parsed.request.command = words[1];
    parsed.request.args.assign(words.begin() + 2, words.end());
    parsed.ok = true;
    return parsed;
}

std::string formatRequest(const Request& request) {
    std::string line = request.format == Format::Json ? "json " : "text ";
    line += request.command;
    for (const auto& arg : request.args) line += " " + arg;
    return line + "\n";
}

std::string encodeReply(const Reply& reply) {
    return (reply.ok ? "ok\n" : "error\n") + reply.body;
}

void CommandTable::add(std::string name, std::string usage, Handler handler, Access access) {
    commands_[std::move(name)] = Entry{std::move(usage), std::move(handler), access};
}

void CommandTable::add(const CommandSpec& spec, Handler handler) {
    add(spec.name, usageLine(spec), std::move(handler), spec.access);
}

Access CommandTable::accessOf(const std::string& name) const {
    auto it = commands_.find(name);
    return it == commands_.end() ? Access::Read : it->second.access;
}

Reply CommandTable::dispatch(const Request& request) const {
    if (request.command == "help") return help(request);
    auto it = commands_.find(request.command);
    if (it == commands_.end())
        return Reply::error(request.format,
                            "unknown command '" + request.command + "' (try 'help')");
    return it->second.handler(request);
}

Reply CommandTable::help(const Request& request) const {
    if (request.format == Format::Json) {
        auto commands = nlohmann::json::array();
        for (const auto& [name, entry] : commands_)
            commands.push_back({{"name", name},
                                {"usage", entry.usage},
                                {"changes", entry.access == Access::Change}});
        return Reply{true, jsonLine(nlohmann::json{{"commands", commands}})};
    }
    std::string body;
    for (const auto& [name, entry] : commands_) body += entry.usage + "\n";
    return Reply{true, body};
}

}  // namespace ringgate::management
