// Counters of the HTTP path: atomics the proxy threads bump; ServiceProxy::report() reads
// them into an HttpServiceReport (http_report.h). Reading never changes them.
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

struct HttpCounters {
    std::atomic<uint64_t> connections{0};        // client connections accepted
    std::atomic<uint64_t> connectionsRefused{0}; // closed at accept: max_connections reached
    std::atomic<uint64_t> connectionsOpen{0};    // now (a gauge)
    std::atomic<uint64_t> requests{0};           // requests read from clients
    std::atomic<uint64_t> badRequests{0};        // malformed, oversized or timed-out request heads
    std::atomic<uint64_t> badGateway{0};         // no back end answered before anything reached the client
    std::atomic<uint64_t> clientTimeouts{0};     // slow or silent clients dropped
    std::atomic<uint64_t> bytesToClients{0};     // body bytes passed to clients
    std::atomic<uint64_t> resumable{0};          // replies with the safety net
    std::atomic<uint64_t> resumesSpliced{0};     // resume replies accepted and continued
    std::atomic<uint64_t> transfersRescued{0};   // transfers completed after at least one resume
    std::array<std::atomic<uint64_t>, kNotResumableKinds> notResumable{};  // by NotResumable (0 unused)
    std::array<std::atomic<uint64_t>, kFailureKinds> backendFailures{};    // by Failure
    std::array<std::atomic<uint64_t>, kAbortKinds> aborted{};              // by AbortReason
};

inline void bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
    counter.fetch_add(by, std::memory_order_relaxed);
}

}  // namespace ringgate::httplink
