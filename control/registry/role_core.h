// Seed 003 (Fig. 1-2) without I/O: which registry serves the shared service address.
// At start a registry asks whether the address is in use (an ARP probe): free -> it takes
// the address and serves as primary; in use -> it becomes the monitor, follows the
// primary's table and checks the service at the address; after `failures` failed checks
// it probes again and takes the address if it is free. Further registries are monitors
// in line: whoever probes first after a failure takes the address, the others follow.
//
// Exactly one primary (docs/REGISTRY.md, "Exactly one primary"):
//  - The check is of the service itself (the registry's ROLE request answered "primary"
//    at the service address), not an ICMP echo that a host answers without its registry.
//  - Terms fence a stale primary. A registry that takes the address starts a term one
//    above every term it has seen; it tells its term in ROLE answers and on the
//    replication stream. With `peers` (the other registries' own addresses) every
//    registry asks them for ROLE each interval: a primary that hears of a primary with
//    a higher term (equal terms: the lower address wins) steps down — gives up the
//    address and follows again, resynchronising from a snapshot.
//  - A simultaneous start elects one: a registry about to take a free address does not
//    while a reachable peer is primary, or is probing too and has the lower address.
//  - Seed 003 Fig. 2 step 20 (the monitor signals a monitor address, so that only one
//    server acts as monitor) is replaced by the primary's line of monitors (RANK n) and
//    the terms above: every further registry follows too, in line.
#pragma once

#include <cstdint>
#include <algorithm>
#include <map>
#include <vector>

#include "common/ipv4.h"
#include "control/registry/registry_service.h"

namespace ringgate::registry {

enum class RoleAction { ProbeAddress, TakeAddress, FollowPrimary, CheckPrimary, QueryPeers, ReleaseAddress };

class RoleCore {
public:
    explicit RoleCore(uint32_t failures, Ipv4Address self = {}, size_t peers = 0)
        : failures_(failures), self_(self), peers_(peers) {}

    std::vector<RoleAction> start();
    std::vector<RoleAction> probed(bool addressInUse);
    std::vector<RoleAction> tick();  // once per check interval
    void primaryAnswered(uint64_t term);
    // A peer's answer to ROLE in the current interval (unreachable peers do not answer).
    std::vector<RoleAction> peerReported(Ipv4Address peer, Role role, uint64_t term);
    // A term seen anywhere (the replication stream's TERM line).
    void sawTerm(uint64_t term) { highest_ = std::max(highest_, term); }

    Role role() const { return role_; }
    uint64_t term() const { return term_; }
    uint64_t highestTerm() const { return highest_; }
    uint32_t missed() const { return missed_; }

private:
    struct Heard {
        Role role;
        uint64_t term;
        uint64_t tick;
    };
    bool peerOutranks(const Heard& heard, Ipv4Address peer) const;

    uint32_t failures_;
    Ipv4Address self_;
    size_t peers_;
    Role role_ = Role::Probing;
    uint64_t term_ = 0;     // this registry's term while primary (and the last one it had)
    uint64_t highest_ = 0;  // highest term seen
    uint32_t missed_ = 0;
    bool pinged_ = false;
    bool answered_ = false;
    uint64_t ticks_ = 0;
    bool waiting_ = false;  // a free address left to a peer that outranks us
    std::map<Ipv4Address, Heard> heard_;
};

}  // namespace ringgate::registry
