#include "control/registry/protocol.h"

#include <charconv>

namespace ringgate::registry::protocol {
namespace {

struct VerbName {
    Verb verb;
    std::string_view name;
    size_t addresses;  // address arguments of the registry form
    bool versioned;    // a version follows the addresses (registry form)
};
constexpr VerbName kVerbs[] = {
    {Verb::Announce, "ANNOUNCE", 1, false},    {Verb::Delete, "DELETE", 1, false},
    {Verb::Dead, "DEAD", 2, true},             {Verb::Replace, "REPLACE", 2, false},
    {Verb::Entry, "ENTRY", 1, false},          {Verb::List, "LIST", 0, false},
    {Verb::Table, "TABLE", 0, false},          {Verb::Subscribe, "SUBSCRIBE", 0, false},
    {Verb::Role, "ROLE", 0, false},            {Verb::Replicate, "REPLICATE", 0, false},
    {Verb::Status, "STATUS", 0, false},
};

std::string_view nameOf(Verb verb) {
    for (const auto& v : kVerbs)
        if (v.verb == verb) return v.name;
    return "?";
}

Expected<uint64_t> number(std::string_view text, const char* what) {
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        return makeError(std::string("bad ") + what + " '" + std::string(text) + "'");
    return value;
}

Expected<Ipv4Address> address(std::string_view text) {
    auto parsed = Ipv4Address::parse(text);
    if (!parsed) return makeError("bad address '" + std::string(text) + "'");
    return *parsed;
}

std::string buddyReply(uint64_t version, const char* flag, Ipv4Address a, Ipv4Address b, uint64_t term) {
    return "OK " + std::to_string(version) + " " + flag + " " + a.toString() + " " + b.toString() + " " +
           std::to_string(term);
}

}  // namespace

std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        size_t start = i;
        while (i < line.size() && line[i] != ' ') ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

Expected<Request> parseRequest(std::string_view line, bool buddyListener) {
    if (line.size() > kMaxRequestLine) return makeError("request longer than " + std::to_string(kMaxRequestLine));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    for (char c : line)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
            return makeError("request contains a control or non-ASCII byte");
    auto w = words(line);
    if (w.empty()) return makeError("empty request");
    const VerbName* verb = nullptr;
    for (const auto& v : kVerbs)
        if (w[0] == v.name) verb = &v;
    if (!verb) return makeError("unknown request '" + std::string(w[0].substr(0, 32)) + "'");
    bool listenerVerb = verb->verb == Verb::Replace || verb->verb == Verb::Status;
    if (buddyListener != listenerVerb && verb->verb != Verb::Replace)
        return makeError(std::string(verb->name) + " is not served here");
    Request request;
    request.verb = verb->verb;
    size_t expected = buddyListener && verb->verb == Verb::Replace ? 3 : verb->addresses + (verb->versioned ? 1 : 0);
    if (w.size() != expected + 1)
        return makeError(std::string(verb->name) + " takes " + std::to_string(expected) + " argument" +
                         (expected == 1 ? "" : "s"));
    size_t next = 1;
    if (buddyListener && verb->verb == Verb::Replace) {
        auto version = number(w[next++], "version");
        if (!version) return version.error();
        request.version = *version;
    }
    if (next < w.size()) {
        auto first = address(w[next++]);
        if (!first) return first.error();
        request.first = *first;
    }
    if (next < w.size() && (verb->addresses >= 2 || buddyListener)) {
        auto second = address(w[next++]);
        if (!second) return second.error();
        request.second = *second;
    }
    if (next < w.size() && verb->versioned) {
        auto version = number(w[next++], "version");
        if (!version) return version.error();
        request.version = *version;
    }
    return request;
}

std::string formatRequest(const Request& request, bool buddyListener) {
    std::string line(nameOf(request.verb));
    if (buddyListener && request.verb == Verb::Replace) line += " " + std::to_string(request.version);
    size_t addresses = 0;
    bool versioned = false;
    for (const auto& v : kVerbs)
        if (v.verb == request.verb) addresses = v.addresses, versioned = v.versioned;
    if (addresses >= 1) line += " " + request.first.toString();
    if (addresses >= 2) line += " " + request.second.toString();
    if (versioned && !buddyListener) line += " " + std::to_string(request.version);
    return line;
}

std::string formatAnnounce(const AnnounceResult& r, uint64_t term) {
    return buddyReply(r.version, r.alreadyPresent ? "present" : "new", r.buddyA, r.buddyB, term);
}
std::string formatDelete(const DeleteResult& r, uint64_t term) {
    return buddyReply(r.version, r.found ? "found" : "absent", r.buddyA, r.buddyB, term);
}
std::string formatEntry(const EntryResult& r, uint64_t term) {
    return buddyReply(r.version, r.found ? "found" : "absent", r.entry.buddyA, r.entry.buddyB, term);
}

Expected<BuddyReply> parseBuddyReply(std::string_view line) {
    auto w = words(line);
    if (!w.empty() && w[0] == "ERR") return makeError(std::string(line.substr(std::min<size_t>(4, line.size()))));
    if (w.size() != 6 || w[0] != "OK") return makeError("malformed reply '" + std::string(line.substr(0, 80)) + "'");
    BuddyReply reply;
    auto version = number(w[1], "version");
    if (!version) return version.error();
    reply.version = *version;
    if (w[2] == "present" || w[2] == "found") reply.flag = true;
    else if (w[2] != "new" && w[2] != "absent") return makeError("malformed reply flag '" + std::string(w[2]) + "'");
    auto a = address(w[3]);
    auto b = address(w[4]);
    if (!a) return a.error();
    if (!b) return b.error();
    reply.buddyA = *a;
    reply.buddyB = *b;
    auto term = number(w[5], "term");
    if (!term) return term.error();
    reply.term = *term;
    return reply;
}

std::string formatLive(const char* head, uint64_t version, const std::vector<Ipv4Address>& live) {
    std::string line = std::string(head) + " " + std::to_string(version);
    for (auto a : live) line += " " + a.toString();
    return line;
}

std::string formatTable(const TableSnapshot& snapshot) {
    std::string line = "OK " + std::to_string(snapshot.version);
    for (const auto& e : snapshot.entries)
        line += " " + e.server.toString() + "/" + e.buddyA.toString() + "/" + e.buddyB.toString();
    return line;
}

Expected<LiveList> parseLive(std::string_view line) {
    auto w = words(line);
    if (!w.empty() && w[0] == "ERR") return makeError(std::string(line.substr(std::min<size_t>(4, line.size()))));
    if (w.size() < 2 || (w[0] != "OK" && w[0] != "LIVE"))
        return makeError("malformed live list '" + std::string(line.substr(0, 80)) + "'");
    LiveList list;
    auto version = number(w[1], "version");
    if (!version) return version.error();
    list.version = *version;
    for (size_t i = 2; i < w.size(); ++i) {
        auto a = address(w[i]);
        if (!a) return a.error();
        list.servers.push_back(*a);
    }
    return list;
}

Expected<TableSnapshot> parseTable(std::string_view line) {
    auto w = words(line);
    if (!w.empty() && w[0] == "ERR") return makeError(std::string(line.substr(std::min<size_t>(4, line.size()))));
    if (w.size() < 2 || (w[0] != "OK" && w[0] != "SNAPSHOT"))
        return makeError("malformed table '" + std::string(line.substr(0, 80)) + "'");
    TableSnapshot snapshot;
    auto version = number(w[1], "version");
    if (!version) return version.error();
    snapshot.version = *version;
    for (size_t i = 2; i < w.size(); ++i) {
        std::string_view item = w[i];
        size_t slash1 = item.find('/'), slash2 = item.rfind('/');
        if (slash1 == std::string_view::npos || slash1 == slash2) return makeError("malformed table entry");
        auto s = address(item.substr(0, slash1));
        auto a = address(item.substr(slash1 + 1, slash2 - slash1 - 1));
        auto b = address(item.substr(slash2 + 1));
        if (!s || !a || !b) return makeError("malformed table entry '" + std::string(item) + "'");
        snapshot.entries.push_back({*s, *a, *b});
    }
    return snapshot;
}

std::string formatError(std::string_view reason) { return "ERR " + std::string(reason); }

std::string formatApply(const Apply& a) {
    std::string line = "APPLY " + std::to_string(a.version) + " " + std::string(nameOf(a.verb)) + " " +
                       a.first.toString();
    if (a.verb == Verb::Replace) line += " " + a.second.toString();
    if (a.verb == Verb::Announce) line += " " + std::to_string(a.pick);
    return line;
}

Expected<Apply> parseApply(std::string_view line) {
    auto w = words(line);
    if (w.size() < 4 || w[0] != "APPLY") return makeError("malformed APPLY");
    Apply apply;
    auto version = number(w[1], "version");
    if (!version) return version.error();
    apply.version = *version;
    auto first = address(w[3]);
    if (!first) return first.error();
    apply.first = *first;
    if (w[2] == "ANNOUNCE" && w.size() == 5) {
        apply.verb = Verb::Announce;
        auto pick = number(w[4], "pick");
        if (!pick) return pick.error();
        apply.pick = *pick;
    } else if (w[2] == "DELETE" && w.size() == 4) {
        apply.verb = Verb::Delete;
    } else if (w[2] == "REPLACE" && w.size() == 5) {
        apply.verb = Verb::Replace;
        auto second = address(w[4]);
        if (!second) return second.error();
        apply.second = *second;
    } else {
        return makeError("malformed APPLY operation");
    }
    return apply;
}

}  // namespace ringgate::registry::protocol
