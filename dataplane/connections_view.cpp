// `ringgatectl connections`: the connection table as an operator reads it, copied from
// the table while the workers run (ConnectionTable::sample); rendered by the management layer.
#include <algorithm>

#include "dataplane/dataplane.h"

namespace ringgate::dataplane {

namespace {
// Enough for any listing an operator reads; bounds the control thread's scan (a few
// milliseconds for a million entries).
constexpr size_t kMaxScan = 1u << 20;

std::string endpoint(uint32_t address, uint16_t port) {
    return Ipv4Address{address}.toString() + ":" + std::to_string(port);
}
}  // namespace

const std::string& Dataplane::serviceName(uint16_t index) const {
    static const std::string unknown = "?";  // a sample torn by a concurrent reuse
    return index < config_.services.size() ? config_.services[index].name : unknown;
}

std::vector<ConnectionSample> Dataplane::sampleConnections(std::optional<Ipv4Address> vip, size_t limit) const {
    return table_->sample(vip ? vip->value : 0, limit, kMaxScan);
}

ConnectionsReport Dataplane::connectionsReport(std::optional<Ipv4Address> vip, size_t limit) const {
    uint32_t now = clockMs(tscEpoch_);
    ConnectionsReport report;
    report.total = table_->size();
    for (const ConnectionSample& c : sampleConnections(vip, limit)) {
        // The back end's reply tuple names the back end and where it replies to: the
        // client itself (dnat) or this node's NAT source and port (fullnat).
        report.rows.push_back({endpoint(c.forward.src, c.forward.srcPort), endpoint(c.forward.dst, c.forward.dstPort),
                               c.forward.proto == kProtoTcp ? "tcp" : "udp", serviceName(c.service),
                               endpoint(c.reverse.src, c.reverse.srcPort), endpoint(c.reverse.dst, c.reverse.dstPort),
                               toString(c.state), now - std::min(now, c.lastSeenMs)});
    }
    return report;
}

}  // namespace ringgate::dataplane
