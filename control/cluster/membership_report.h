// What `ringgatectl members` and /metrics show of the ring: plain data from
// ClusterService::report(), rendered by control/management/render.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/report.h"

namespace ringgate::cluster {

struct MemberRow {
    uint32_t id = 0;
    std::string state;                  // holding-token, member, outside, or this node's phase
    std::optional<double> lastSeenMs;   // how long ago it was last heard; none for this node or never heard
};

struct MembershipReport {
    uint32_t node = 0;
    std::string phase;
    uint64_t ringId = 0;
    std::vector<MemberRow> members;   // in ring order
    std::vector<MemberRow> outside;   // configured nodes not in the ring
    bool holding = false;             // this node holds the token
    std::optional<uint32_t> passedTo;
    std::optional<uint64_t> sequence;
    std::optional<uint64_t> generation;
    std::optional<double> rotationMs;
    report::Counts counters;         // membership and messaging counters, one name each
    report::Counts refusedByReason;  // datagrams and trains refused, by reason
    std::vector<std::string> warnings;  // e.g. no cluster.shared_key
};

}  // namespace ringgate::cluster
