// The VIP table and load table: what the token's VIP and load carriages carry
// (seed 004 Figure 7, Group Composition and load/byte-count fields; Table 1).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "common/ipv4.h"
#include "config/config.h"

namespace ringgate::vip {

using config::NodeId;
using config::Persistence;

constexpr NodeId kNoNode = 0;

struct VipEntry {
    Ipv4Address address;
    NodeId current = kNoNode;     // the node answering for it (kNoNode: nobody yet)
    NodeId preferred = kNoNode;   // preferred host (kNoNode: none)
    Persistence persistence = Persistence::Movable;
    NodeId movingTo = kNoNode;    // a live move in progress: current releases, then hands over
    bool closed = false;          // closed by the operator: nobody answers
    // Taken from a dropped owner: the new owner answers only this long after it first sees
    // the entry, when the old owner's lease has surely run out. Without `fenced` (no node
    // decided a fence: a table of another ring, say), a takeover waits a whole lease.
    bool fenced = false;
    uint16_t fenceMs = 0;

    bool operator==(const VipEntry&) const = default;
};

// The whole cluster's VIP assignment. Only the token holder changes it; every change
// raises `version`, so a node can tell a newer table from an older one after a merge.
struct VipTable {
    uint64_t version = 0;
    std::vector<VipEntry> entries;   // in configuration order
    std::vector<NodeId> drained;     // nodes that must hold no VIPs (operator "drain")

    VipEntry* find(Ipv4Address address);
    const VipEntry* find(Ipv4Address address) const;
    bool isDrained(NodeId node) const;

    bool operator==(const VipTable&) const = default;
};

// One node's row of the load carriage (WO 00/62502 Figure 7, load and byte-count data,
// and Figure 5's local load and fault monitors). Each node rewrites its own row when it
// holds the token.
struct NodeLoad {
    // Byte rate per VIP answered here (bytes/s, both directions): the fast path's
    // counters, or with it off the subnet's interface counters shared among its VIPs.
    std::map<Ipv4Address, uint64_t> vipRates;
    uint32_t cpuPermille = 0;  // of one CPU, used by ringgated over the last window
    // VIPs this node must not hold: a local monitor of their subnet failed here.
    std::set<Ipv4Address> withdrawn;
    uint64_t total() const;
    bool operator==(const NodeLoad&) const = default;
};

struct LoadTable {
    std::map<NodeId, NodeLoad> nodes;
    uint64_t loadOf(NodeId node) const;
    uint64_t rateOf(NodeId node, Ipv4Address vip) const;
    uint32_t cpuOf(NodeId node) const;
    bool isWithdrawn(NodeId node, Ipv4Address vip) const;
    bool operator==(const LoadTable&) const = default;
};

// The table a cluster starts from: every configured VIP, nobody owning it yet.
VipTable initialTable(const config::Config& config);

// What a configuration change does to the VIP table: VIPs added (owned by nobody yet),
// removed (their owner releases them at its next visit), or given another preferred host
// or persistence. Applied by each node that takes the change at its next token visit;
// applying it twice changes nothing, so every node may.
struct VipTableEdit {
    std::vector<VipEntry> added;
    std::vector<Ipv4Address> removed;
    std::vector<VipEntry> changed;  // address, preferred, persistence
    bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};
VipTableEdit tableEdit(const config::Config& before, const config::Config& after);
// True when the table changed (its version then grows by one).
bool applyEdit(const VipTableEdit& edit, VipTable& table);

}  // namespace ringgate::vip
