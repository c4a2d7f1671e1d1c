#include "control/registry/registry_service.h"

#include <algorithm>

#include "control/registry/ring_view.h"

namespace ringgate::registry {

using protocol::Verb;

const char* roleName(Role role) {
    switch (role) {
    case Role::Probing: return "probing";
    case Role::Primary: return "primary";
    case Role::Monitor: return "monitor";
    case Role::Standalone: return "standalone";
    }
    return "?";
}

RegistryService::RegistryService(ServerStore& store, PickSource pick) : store_(store), pick_(std::move(pick)) {
    // Rows already in the table count as placed at its present version: older death
    // reports (queued by an agent before this registry started) are stale.
    if (auto snapshot = store_.snapshot()) judge_.loaded(snapshot->version);
}

Expected<protocol::LiveList> RegistryService::live() {
    auto snapshot = store_.snapshot();
    if (!snapshot) return snapshot.error();
    return protocol::LiveList{snapshot->version, liveList(snapshot->entries)};
}

RegistryService::Outcome RegistryService::handle(const protocol::Request& request, bool serving, Role role, Time now) {
    Outcome out;
    auto fail = [&](const Error& error) {
        out.reply = protocol::formatError(error.message);
        return out;
    };
    bool change = request.verb == Verb::Announce || request.verb == Verb::Delete || request.verb == Verb::Dead ||
                  request.verb == Verb::Replace;
    if (change && !serving) {
        out.reply = refuseChange(role);
        return out;
    }
    switch (request.verb) {
    case Verb::Announce: {
        if (auto ok = checkBackendAddress(request.first, prefixes_); !ok) return fail(ok.error());
        uint64_t pick = pick_();
        auto result = store_.announce(request.first, pick);
        if (!result) return fail(result.error());
        out.reply = protocol::formatAnnounce(*result, term_);
        if (!result->alreadyPresent) {
            judge_.placed(request.first, result->version);
            out.liveChanged = true;
            out.replicate = protocol::Apply{result->version, Verb::Announce, request.first, {}, pick};
        }
        return out;
    }
    case Verb::Delete:
        return remove(request.first);
    case Verb::Dead:
        return dead(request, false, now);
    case Verb::Replace: {
        if (auto ok = checkBackendAddress(request.second, prefixes_); !ok) return fail(ok.error());
        auto result = store_.replace(request.first, request.second);
        if (!result) return fail(result.error());
        out.reply = protocol::formatAnnounce(*result, term_);
        judge_.placed(request.second, result->version);
        out.liveChanged = true;
        out.replicate = protocol::Apply{result->version, Verb::Replace, request.first, request.second, 0};
        return out;
    }
    case Verb::Entry:
    case Verb::List:
    case Verb::Table:
    case Verb::Role: {
        auto snapshot = store_.snapshot();
        if (!snapshot) return fail(snapshot.error());
        out.reply = answerRead(request, *snapshot, role, term_);
        return out;
    }
    case Verb::Subscribe:
    case Verb::Replicate:
    case Verb::Status:
        break;  // connection-level verbs, handled by the shell
    }
    return fail(makeError("request not served here"));
}

std::string refuseChange(Role role) {
    return protocol::formatError(std::string("not the primary (this registry is ") + roleName(role) +
                                 "); ask the service address");
}

std::string answerRead(const protocol::Request& request, const TableSnapshot& table, Role role, uint64_t term) {
    switch (request.verb) {
    case Verb::Entry: {
        EntryResult result;
        result.version = table.version;
        auto it = std::lower_bound(table.entries.begin(), table.entries.end(), request.first,
                                   [](const ServerEntry& e, Ipv4Address a) { return e.server < a; });
        if (it != table.entries.end() && it->server == request.first) {
            result.found = true;
            result.entry = *it;
        }
        return protocol::formatEntry(result, term);
    }
    case Verb::List:
        return protocol::formatLive("OK", table.version, liveList(table.entries));
    case Verb::Table:
        return protocol::formatTable(table);
    case Verb::Role:
        return std::string("OK ") + roleName(role) + " " + std::to_string(term);
    default:
        return protocol::formatError("request not served here");
    }
}

RegistryService::Outcome RegistryService::remove(Ipv4Address server) {
    Outcome out;
    auto result = store_.remove(server);
    if (!result) {
        out.reply = protocol::formatError(result.error().message);
        return out;
    }
    out.reply = protocol::formatDelete(*result, term_);
    if (result->found) {
        out.liveChanged = true;
        out.replicate = protocol::Apply{result->version, Verb::Delete, server, {}, 0};
    }
    return out;
}

RegistryService::Outcome RegistryService::dead(const protocol::Request& report, bool confirmedDead, Time now) {
    Outcome out;
    auto entry = store_.entry(report.first);
    auto snapshot = entry ? store_.snapshot() : Expected<TableSnapshot>(entry.error());
    if (!snapshot) {
        out.reply = protocol::formatError(snapshot.error().message);
        return out;
    }
    auto decision = judge_.assess(now, {report.first, report.second, report.version}, *entry,
                                  snapshot->entries.size(), confirmedDead);
    switch (decision.verdict) {
    case DeathJudge::Verdict::Refuse:
        out.reply = protocol::formatError(decision.reason);
        return out;
    case DeathJudge::Verdict::Confirm:
        out.confirm = report.first;
        return out;
    case DeathJudge::Verdict::Remove:
        break;
    }
    out = remove(report.first);
    if (out.replicate) judge_.removed(now, report.first, confirmedDead);
    return out;
}

RegistryService::Outcome RegistryService::confirmed(const protocol::Request& report, bool alive, Time now) {
    if (alive) {
        judge_.countAlive();
        return {protocol::formatError(report.first.toString() + " answers the registry: not removed"), false, {}, {}};
    }
    return dead(report, true, now);
}

Expected<void> RegistryService::load(const TableSnapshot& snapshot) {
    auto loaded = store_.load(snapshot);
    if (loaded) judge_.loaded(snapshot.version);
    return loaded;
}

Expected<uint64_t> RegistryService::replay(const protocol::Apply& apply) {
    switch (apply.verb) {
    case Verb::Announce: {
        auto r = store_.announce(apply.first, apply.pick);
        if (!r) return r.error();
        judge_.placed(apply.first, r->version);
        return r->version;
    }
    case Verb::Delete: {
        auto r = store_.remove(apply.first);
        if (!r) return r.error();
        return r->version;
    }
    case Verb::Replace: {
        auto r = store_.replace(apply.first, apply.second);
        if (!r) return r.error();
        judge_.placed(apply.second, r->version);
        return r->version;
    }
    default:
        return makeError("cannot replay this operation");
    }
}

}  // namespace ringgate::registry
