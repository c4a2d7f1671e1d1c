// The registry's request handling without I/O: a parsed request and the store in, the
// reply line, whether the live list changed, and what to replicate out. The same replay
// function applies the primary's operations on the monitor's copy. In the registry the
// service runs on the store thread (table_worker.h); reads are answered on the I/O
// thread from a copy of the table by answerRead().
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "control/registry/death_judge.h"
#include "control/registry/protocol.h"
#include "control/registry/server_store.h"

namespace ringgate::registry {

enum class Role { Probing, Primary, Monitor, Standalone };
const char* roleName(Role role);

class RegistryService {
public:
    using Clock = std::chrono::steady_clock;
    using Time = Clock::time_point;
    RegistryService(ServerStore& store, PickSource pick);

    // Announced and replacement addresses must pass checkBackendAddress with these.
    void setBackendPrefixes(std::vector<Ipv4Prefix> prefixes) { prefixes_ = std::move(prefixes); }
    void setDeathPolicy(DeathPolicy policy) { judge_.setPolicy(policy); }
    const DeathJudge& deaths() const { return judge_; }
    // The term ROLE answers tell (role_core.h); a monitor tells the highest it has seen.
    // (Set on the I/O thread, read on the store thread.)
    void setTerm(uint64_t term) { term_ = term; }
    uint64_t term() const { return term_; }

    struct Outcome {
        std::string reply;
        bool liveChanged = false;
        std::optional<protocol::Apply> replicate;  // a change the monitor must apply first
        std::optional<Ipv4Address> confirm;        // DEAD: probe this server, then confirmed()
    };
    // `serving` is false on a monitor: it answers reads from its copy, refuses changes.
    Outcome handle(const protocol::Request& request, bool serving, Role role, Time now = Clock::now());
    // DEAD after the registry's own probe of the server: `alive` refuses the report.
    Outcome confirmed(const protocol::Request& report, bool alive, Time now = Clock::now());

    // Monitor side: apply the primary's operation; returns the resulting version, which
    // must equal apply.version for the copies to agree.
    Expected<uint64_t> replay(const protocol::Apply& apply);
    // Monitor side: the primary's snapshot replaces the copy.
    Expected<void> load(const TableSnapshot& snapshot);

    Expected<protocol::LiveList> live();
    ServerStore& store() { return store_; }

private:
    Outcome dead(const protocol::Request& report, bool confirmedDead, Time now);
    Outcome remove(Ipv4Address server);

    ServerStore& store_;
    PickSource pick_;
    std::vector<Ipv4Prefix> prefixes_;
    DeathJudge judge_;
    std::atomic<uint64_t> term_ = 0;
};

// The answer to a change sent to a registry that is not the primary.
std::string refuseChange(Role role);
// ENTRY, LIST, TABLE and ROLE answered from a copy of the table (never the store).
std::string answerRead(const protocol::Request& request, const TableSnapshot& table, Role role, uint64_t term);

}  // namespace ringgate::registry
