// Per-worker counters: written by one worker only (no atomics' read-modify-write, no
// shared cache lines), read live by the control thread for `ringgatectl stats`.
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/drop_reason.h"
#include "dataplane/snapshot.h"

namespace ringgate::dataplane {

// A single-writer counter: relaxed load + store compiles to a plain add, and the control
// thread's concurrent read is well-defined (never torn).
class Counter {
public:
    void add(uint64_t n = 1) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    uint64_t get() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> value_{0};
};

struct PortCounters {
    Counter rxPackets, rxBytes, txPackets, txBytes;
    Counter arpIn, arpReplies, arpRequestsSent, gratuitousArpsSent, icmpEchoReplies;
    Counter toHost, fromHost;  // exception path
    Counter handedToPeer;      // segments of a peer's flows on a VIP taken over from it
    Counter drops[kDropReasonCount];
};

struct TrafficCounters {
    Counter packets, bytes, newFlows;
};

// How operators see the counters (`stats`, /metrics): a new counter above is one more row
// here and shows up in every view.
template <typename Counters>
struct CounterField {
    const char* name;
    Counter Counters::* member;
};

inline constexpr CounterField<PortCounters> kPortCounterFields[] = {
    {"rx_packets", &PortCounters::rxPackets},
    {"rx_bytes", &PortCounters::rxBytes},
    {"tx_packets", &PortCounters::txPackets},
    {"tx_bytes", &PortCounters::txBytes},
    {"arp_in", &PortCounters::arpIn},
    {"arp_replies", &PortCounters::arpReplies},
    {"arp_requests_sent", &PortCounters::arpRequestsSent},
    {"gratuitous_arps_sent", &PortCounters::gratuitousArpsSent},
    {"icmp_echo_replies", &PortCounters::icmpEchoReplies},
    {"to_host", &PortCounters::toHost},
    {"from_host", &PortCounters::fromHost},
    {"handed_to_peer", &PortCounters::handedToPeer},
};

inline constexpr CounterField<TrafficCounters> kTrafficCounterFields[] = {
    {"packets", &TrafficCounters::packets},
    {"bytes", &TrafficCounters::bytes},
    {"new_flows", &TrafficCounters::newFlows},
};

struct alignas(64) WorkerCounters {
    PortCounters ports[kMaxPorts];
    TrafficCounters vips[kMaxVips];
    TrafficCounters services[kMaxServices];
    TrafficCounters backends[kMaxBackendSlots];
    Counter loops, idleSleeps, expired;
};

// Counters of the whole worker (`stats`' "connections" group: expired flows).
inline constexpr CounterField<WorkerCounters> kWorkerCounterFields[] = {
    {"expired", &WorkerCounters::expired},
};

}  // namespace ringgate::dataplane
