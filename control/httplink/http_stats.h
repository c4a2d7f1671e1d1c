// Counters of the HTTP path: atomics the proxy threads bump, and the plain snapshot the
// management layer renders (stats_view.*). Reading never changes them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/ipv4.h"
#include "control/httplink/backend_chooser.h"
#include "control/httplink/resume_core.h"

namespace ringgate::httplink {

constexpr size_t kNotResumableKinds = 8;  // NotResumable values
constexpr size_t kAbortKinds = 7;         // AbortReason values
constexpr size_t kFailureKinds = 4;       // Failure values

struct HttpCountersSnapshot {
    uint64_t connections = 0;          // client connections accepted
    uint64_t connectionsRefused = 0;   // closed at accept: max_connections reached
    uint64_t connectionsOpen = 0;      // now
    uint64_t requests = 0;             // requests read from clients
    uint64_t badRequests = 0;          // malformed, oversized or timed-out request heads (answered 4xx or closed)
    uint64_t badGateway = 0;           // no back end answered before anything reached the client (502/504)
    uint64_t bytesToClients = 0;       // body bytes passed to clients
    uint64_t resumable = 0;            // replies with the safety net
    std::array<uint64_t, kNotResumableKinds> notResumable{};  // by NotResumable (index 0 unused)
    std::array<uint64_t, kFailureKinds> backendFailures{};    // by Failure, mid-transfer or at connect
    uint64_t resumesSpliced = 0;       // resume replies accepted and continued
    uint64_t transfersRescued = 0;     // transfers completed after at least one resume
    std::array<uint64_t, kAbortKinds> aborted{};              // client connections ended short, by AbortReason
    uint64_t clientTimeouts = 0;       // slow or silent clients dropped
};

struct HttpCounters {
    std::atomic<uint64_t> connections{0}, connectionsRefused{0}, connectionsOpen{0}, requests{0},
        badRequests{0}, badGateway{0}, bytesToClients{0}, resumable{0}, resumesSpliced{0},
        transfersRescued{0}, clientTimeouts{0};
    std::array<std::atomic<uint64_t>, kNotResumableKinds> notResumable{};
    std::array<std::atomic<uint64_t>, kFailureKinds> backendFailures{};
    std::array<std::atomic<uint64_t>, kAbortKinds> aborted{};

    HttpCountersSnapshot snapshot() const;
};

inline void bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
    counter.fetch_add(by, std::memory_order_relaxed);
}

struct HttpServiceStats {
    std::string name;
    Ipv4Endpoint listen;
    std::string pool;
    bool resume = false;
    HttpCountersSnapshot counters;
    std::vector<BackendHealth> backends;
};

}  // namespace ringgate::httplink
