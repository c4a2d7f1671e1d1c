// `ringgatectl connections`: the connection table as an operator reads it, copied from
// the table while the workers run (ConnectionTable::sample).
#include <algorithm>

#include "common/json_writer.h"
#include "common/rendezvous.h"
#include "dataplane/dataplane.h"

namespace ringgate::dataplane {

namespace {
// Enough for any listing an operator reads; bounds the control thread's scan (a few
// milliseconds for a million entries).
constexpr size_t kMaxScan = 1u << 20;

std::string endpoint(uint32_t address, uint16_t port) {
    return Ipv4Address{address}.toString() + ":" + std::to_string(port);
}

// Why this node has the entry (docs/FLOWS.md): it handles the flow, keeps a replica of
// another node's, or sends another node's packets on (after a move, or a cached answer).
const char* roleOf(uint8_t flags) {
    if (!(flags & entry::kRemote)) return "local";
    return (flags & entry::kPinned) ? "replica" : "remote";
}

// The flow's authority and second rank among the live members (0: flows off).
RendezvousPick ranksOf(const Snapshot& snapshot, const ConnectionSample& c) {
    if (!snapshot.flows) return {};
    return rendezvousPick(authorityKey(c.reverse.dst, c.reverse.dstPort, c.reverse.proto), snapshot.members);
}
}  // namespace

const std::string& Dataplane::serviceName(uint16_t index) const {
    static const std::string unknown = "?";  // a sample torn by a concurrent reuse
    return index < config_.services.size() ? config_.services[index].name : unknown;
}

std::vector<ConnectionSample> Dataplane::sampleConnections(std::optional<Ipv4Address> vip, size_t limit) const {
    return table_->sample(vip ? vip->value : 0, limit, kMaxScan);
}

std::string Dataplane::connectionsJson(std::optional<Ipv4Address> vip, size_t limit) const {
    uint32_t now = clockMs(tscEpoch_);
    auto samples = sampleConnections(vip, limit);
    JsonWriter json;
    json.beginObject().field("total", static_cast<uint64_t>(table_->size())).field("shown", static_cast<uint64_t>(samples.size()));
    json.key("connections").beginArray();
    for (const ConnectionSample& c : samples) {
        // The back end's reply tuple names the back end and where it replies to: the
        // client itself (dnat) or this node's NAT source and port (fullnat).
        json.beginObject()
            .field("client", endpoint(c.forward.src, c.forward.srcPort))
            .field("vip", endpoint(c.forward.dst, c.forward.dstPort))
            .field("protocol", c.forward.proto == kProtoTcp ? "tcp" : "udp")
            .field("service", serviceName(c.service))
            .field("backend", endpoint(c.reverse.src, c.reverse.srcPort))
            .field("nat_source", endpoint(c.reverse.dst, c.reverse.dstPort))
            .field("state", toString(c.state))
            .field("idle_ms", static_cast<uint64_t>(now - std::min(now, c.lastSeenMs)))
            .field("handler", static_cast<uint64_t>(c.handler))
            .field("role", roleOf(c.flags));
        RendezvousPick ranks = ranksOf(snapshot(), c);
        json.field("authority", static_cast<uint64_t>(ranks.first)).field("replica", static_cast<uint64_t>(ranks.second));
        json.endObject();
    }
    json.endArray().endObject();
    return json.str() + "\n";
}

std::string Dataplane::connectionsText(std::optional<Ipv4Address> vip, size_t limit) const {
    uint32_t now = clockMs(tscEpoch_);
    auto samples = sampleConnections(vip, limit);
    std::string out;
    char line[256];
    for (const ConnectionSample& c : samples) {
        RendezvousPick ranks = ranksOf(snapshot(), c);
        std::snprintf(line, sizeof line,
                      "%-21s -> %-21s %-12s via %-21s -> %-21s %-13s idle %u ms  handler %u (%s) authority %u\n",
                      endpoint(c.forward.src, c.forward.srcPort).c_str(),
                      endpoint(c.forward.dst, c.forward.dstPort).c_str(), serviceName(c.service).c_str(),
                      endpoint(c.reverse.dst, c.reverse.dstPort).c_str(),
                      endpoint(c.reverse.src, c.reverse.srcPort).c_str(), toString(c.state),
                      now - std::min(now, c.lastSeenMs), c.handler, roleOf(c.flags), ranks.first);
        out += line;
    }
    out += std::to_string(samples.size()) + " shown of " + std::to_string(table_->size()) + " connections\n";
    return out;
}

}  // namespace ringgate::dataplane
