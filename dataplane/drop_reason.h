// Why the fast path dropped a packet: every drop is counted under exactly one reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringgate::dataplane {

enum class DropReason : uint8_t {
    None,
    Truncated,      // shorter than a header it claims to carry
    BadHeader,      // IPv4 version/IHL/total length, TCP data offset, ARP sizes
    Fragment,       // IPv4 fragments are not reassembled
    TtlExceeded,    // would leave with TTL 0
    NotOurs,        // not for an owned VIP, a flow, or an address of this node
    NoService,      // owned VIP, but no service on that port/protocol
    NoBackend,      // the service has no live back end
    NoNeighbour,    // next hop's MAC not known yet (an ARP request was sent)
    NoNatPort,      // fullnat: no free source port in this node's block
    TableFull,      // connection table or its entry pool exhausted
    TxFull,         // the port's transmit queue did not take the packet
    UnsupportedIcmp,  // ICMP other than echo or an error about a known flow
    HoldExpired,    // held for its flow's record longer than flows.hold_ms (the sender resends)
    HoldFull,       // a packet to hold, with the worker's hold buffer full
    NoPeerAddress,  // the gateway to send a flow's packet to has no address on the segment
    Count_,
};

constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::Count_);

constexpr std::string_view toString(DropReason reason) {
    switch (reason) {
        case DropReason::None: return "none";
        case DropReason::Truncated: return "truncated";
        case DropReason::BadHeader: return "bad_header";
        case DropReason::Fragment: return "fragment";
        case DropReason::TtlExceeded: return "ttl_exceeded";
        case DropReason::NotOurs: return "not_ours";
        case DropReason::NoService: return "no_service";
        case DropReason::NoBackend: return "no_backend";
        case DropReason::NoNeighbour: return "no_neighbour";
        case DropReason::NoNatPort: return "no_nat_port";
        case DropReason::TableFull: return "table_full";
        case DropReason::TxFull: return "tx_full";
        case DropReason::UnsupportedIcmp: return "unsupported_icmp";
        case DropReason::HoldExpired: return "hold_expired";
        case DropReason::HoldFull: return "hold_full";
        case DropReason::NoPeerAddress: return "no_peer_address";
        case DropReason::Count_: break;
    }
    return "?";
}

}  // namespace ringgate::dataplane
