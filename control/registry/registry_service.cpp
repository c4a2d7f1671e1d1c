#include "control/registry/registry_service.h"

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

Expected<protocol::LiveList> RegistryService::live() {
    auto snapshot = store_.snapshot();
    if (!snapshot) return snapshot.error();
    return protocol::LiveList{snapshot->version, liveList(snapshot->entries)};
}

RegistryService::Outcome RegistryService::handle(const protocol::Request& request, bool serving, Role role) {
    Outcome out;
    auto fail = [&](const Error& error) {
        out.reply = protocol::formatError(error.message);
        return out;
    };
    bool change = request.verb == Verb::Announce || request.verb == Verb::Delete || request.verb == Verb::Replace;
    if (change && !serving) return fail(makeError(std::string("not the primary (this registry is ") +
                                                  roleName(role) + "); ask the service address"));
    switch (request.verb) {
    case Verb::Announce: {
        uint64_t pick = pick_();
        auto result = store_.announce(request.first, pick);
        if (!result) return fail(result.error());
        out.reply = protocol::formatAnnounce(*result);
        if (!result->alreadyPresent) {
            out.liveChanged = true;
            out.replicate = protocol::Apply{result->version, Verb::Announce, request.first, {}, pick};
        }
        return out;
    }
    case Verb::Delete: {
        auto result = store_.remove(request.first);
        if (!result) return fail(result.error());
        out.reply = protocol::formatDelete(*result);
        if (result->found) {
            out.liveChanged = true;
            out.replicate = protocol::Apply{result->version, Verb::Delete, request.first, {}, 0};
        }
        return out;
    }
    case Verb::Replace: {
        auto result = store_.replace(request.first, request.second);
        if (!result) return fail(result.error());
        out.reply = protocol::formatAnnounce(*result);
        out.liveChanged = true;
        out.replicate = protocol::Apply{result->version, Verb::Replace, request.first, request.second, 0};
        return out;
    }
    case Verb::Entry: {
        auto result = store_.entry(request.first);
        if (!result) return fail(result.error());
        out.reply = protocol::formatEntry(*result);
        return out;
    }
    case Verb::List: {
        auto list = live();
        if (!list) return fail(list.error());
        out.reply = protocol::formatLive("OK", list->version, list->servers);
        return out;
    }
    case Verb::Table: {
        auto snapshot = store_.snapshot();
        if (!snapshot) return fail(snapshot.error());
        out.reply = protocol::formatTable(*snapshot);
        return out;
    }
    case Verb::Role:
        out.reply = std::string("OK ") + roleName(role);
        return out;
    case Verb::Subscribe:
    case Verb::Replicate:
    case Verb::Status:
        break;  // connection-level verbs, handled by the shell
    }
    return fail(makeError("request not served here"));
}

Expected<uint64_t> RegistryService::replay(const protocol::Apply& apply) {
    switch (apply.verb) {
    case Verb::Announce: {
        auto r = store_.announce(apply.first, apply.pick);
        if (!r) return r.error();
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
        return r->version;
    }
    default:
        return makeError("cannot replay this operation");
    }
}

}  // namespace ringgate::registry
