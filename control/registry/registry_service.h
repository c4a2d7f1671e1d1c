// The registry's request handling without I/O: a parsed request and the store in, the
// reply line, whether the live list changed, and what to replicate out. The same replay
// function applies the primary's operations on the monitor's copy.
#pragma once

#include <optional>
#include <string>

#include "control/registry/protocol.h"
#include "control/registry/server_store.h"

namespace ringgate::registry {

enum class Role { Probing, Primary, Monitor, Standalone };
const char* roleName(Role role);

class RegistryService {
public:
    RegistryService(ServerStore& store, PickSource pick) : store_(store), pick_(std::move(pick)) {}

    struct Outcome {
        std::string reply;
        bool liveChanged = false;
        std::optional<protocol::Apply> replicate;  // a change the monitor must apply first
    };
    // `serving` is false on a monitor: it answers reads from its copy, refuses changes.
    Outcome handle(const protocol::Request& request, bool serving, Role role);

    // Monitor side: apply the primary's operation; returns the resulting version, which
    // must equal apply.version for the copies to agree.
    Expected<uint64_t> replay(const protocol::Apply& apply);

    Expected<protocol::LiveList> live();
    ServerStore& store() { return store_; }

private:
    ServerStore& store_;
    PickSource pick_;
};

}  // namespace ringgate::registry
