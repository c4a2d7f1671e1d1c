#include "dataplane/flow.h"

#include "dataplane/packet.h"

namespace ringgate::dataplane {

const char* toString(FlowState state) {
    switch (state) {
        case FlowState::SynSent: return "syn_sent";
        case FlowState::SynReceived: return "syn_received";
        case FlowState::Established: return "established";
        case FlowState::FinFromClient: return "fin_from_client";
        case FlowState::FinFromServer: return "fin_from_server";
        case FlowState::TimeWait: return "time_wait";
        case FlowState::Closed: return "closed";
        case FlowState::Udp: return "udp";
    }
    return "?";
}

uint32_t timeoutMs(FlowState state, const FlowTimeouts& timeouts) {
    switch (state) {
        case FlowState::SynSent:
        case FlowState::SynReceived: return timeouts.synMs;
        case FlowState::Established: return timeouts.establishedMs;
        case FlowState::FinFromClient:
        case FlowState::FinFromServer: return timeouts.finMs;
        case FlowState::TimeWait:
        case FlowState::Closed: return timeouts.closedMs;
        case FlowState::Udp: return timeouts.udpMs;
    }
    return timeouts.closedMs;
}

FlowState initialState(uint8_t proto, uint8_t tcpFlags) {
    if (proto != kProtoTcp) return FlowState::Udp;
    if (tcpFlags & kTcpRst) return FlowState::Closed;
    if ((tcpFlags & (kTcpSyn | kTcpAck)) == kTcpSyn) return FlowState::SynSent;
    return FlowState::Established;
}

FlowState nextState(FlowState state, bool fromClient, uint8_t tcpFlags) {
    if (state == FlowState::Udp) return state;
    if (tcpFlags & kTcpRst) return FlowState::Closed;
    bool syn = tcpFlags & kTcpSyn;
    bool ack = tcpFlags & kTcpAck;
    bool fin = tcpFlags & kTcpFin;
    // The client reuses the 4-tuple of a finished connection: a new handshake begins.
    if (fromClient && syn && !ack && (state == FlowState::TimeWait || state == FlowState::Closed))
        return FlowState::SynSent;
    switch (state) {
        case FlowState::SynSent:
            if (!fromClient && syn && ack) return FlowState::SynReceived;
            if (fin) return fromClient ? FlowState::FinFromClient : FlowState::FinFromServer;
            return state;
        case FlowState::SynReceived:
            if (fin) return fromClient ? FlowState::FinFromClient : FlowState::FinFromServer;
            if (fromClient && ack && !syn) return FlowState::Established;
            return state;
        case FlowState::Established:
            if (fin) return fromClient ? FlowState::FinFromClient : FlowState::FinFromServer;
            return state;
        case FlowState::FinFromClient:
            return fin && !fromClient ? FlowState::TimeWait : state;
        case FlowState::FinFromServer:
            return fin && fromClient ? FlowState::TimeWait : state;
        case FlowState::TimeWait:
        case FlowState::Closed:
        case FlowState::Udp:
            return state;
    }
    return state;
}

}  // namespace ringgate::dataplane
