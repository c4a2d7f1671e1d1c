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

// Flows across the cluster (docs/FLOWS.md).
struct FlowCounters {
    Counter recordsOut;          // created/ended messages handed to the cluster plane
    Counter recordsOutDropped;   // ring to the cluster plane full (a resync repairs it)
    Counter installed;           // entries kept for flows other nodes handle
    Counter installFailed;       // table full, or the reply tuple belongs to another flow
    Counter adopted;             // flows of a dead node taken over with their translation
    Counter adoptFailed;
    Counter removed;             // entries the cluster plane told us to forget
    Counter toHandler;           // packets sent on to the node that handles their flow
    Counter toAuthority;         // packets of unknown flows sent to their authority
    Counter asks;                // questions to the authority: where does this flow live?
    Counter held;                // packets of flows whose record had not arrived, held
    Counter released;            // held packets sent on once their record arrived
    // TCP flows that became new here on a segment without SYN: a flow whose record no node
    // could give (no copy survived, or it came after its VIP settled): the flows the
    // cluster did not save, seen where their next packet lands.
    Counter unsaved;
    // Held too long or with the buffer full: drops (hold_expired, hold_full).
};

inline constexpr CounterField<FlowCounters> kFlowCounterFields[] = {
    {"records_out", &FlowCounters::recordsOut},
    {"records_out_dropped", &FlowCounters::recordsOutDropped},
    {"installed", &FlowCounters::installed},
    {"install_failed", &FlowCounters::installFailed},
    {"adopted", &FlowCounters::adopted},
    {"adopt_failed", &FlowCounters::adoptFailed},
    {"removed", &FlowCounters::removed},
    {"to_handler", &FlowCounters::toHandler},
    {"to_authority", &FlowCounters::toAuthority},
    {"asks", &FlowCounters::asks},
    {"held", &FlowCounters::held},
    {"released", &FlowCounters::released},
    {"unsaved", &FlowCounters::unsaved},
};

struct alignas(64) WorkerCounters {
    FlowCounters flows;
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
