#include "control/httplink/stats_view.h"

#include "common/json_writer.h"

namespace ringgate::httplink {

namespace {

// Each counter once, with its name: both views walk this list.
template <typename Each>
void forEachCounter(const HttpCountersSnapshot& c, Each each) {
    each("connections", c.connections);
    each("connections_refused", c.connectionsRefused);
    each("connections_open", c.connectionsOpen);
    each("requests", c.requests);
    each("bad_requests", c.badRequests);
    each("bad_gateway", c.badGateway);
    each("client_timeouts", c.clientTimeouts);
    each("bytes_to_clients", c.bytesToClients);
    each("resumable", c.resumable);
    each("resumes_spliced", c.resumesSpliced);
    each("transfers_rescued", c.transfersRescued);
}

template <typename Each>
void forEachBreakdown(const HttpCountersSnapshot& c, Each each) {
    for (size_t i = 1; i < kNotResumableKinds; ++i)
        each("not_resumable", toString(static_cast<NotResumable>(i)), c.notResumable[i]);
    for (size_t i = 0; i < kFailureKinds; ++i)
        each("backend_failures", toString(static_cast<Failure>(i)), c.backendFailures[i]);
    for (size_t i = 0; i < kAbortKinds; ++i) each("aborted", toString(static_cast<AbortReason>(i)), c.aborted[i]);
}

}  // namespace

std::string renderStatsText(const std::vector<HttpServiceStats>& services) {
    std::string out;
    if (services.empty()) return "no service in mode http\n";
    for (const HttpServiceStats& s : services) {
        out += "service " + s.name + " " + s.listen.toString() + " pool " + s.pool + " resume " +
               (s.resume ? "on" : "off") + "\n";
        forEachCounter(s.counters, [&](std::string_view name, uint64_t value) {
            out += "  " + std::string(name) + " " + std::to_string(value) + "\n";
        });
        forEachBreakdown(s.counters, [&](std::string_view group, std::string_view name, uint64_t value) {
            if (value) out += "  " + std::string(group) + "." + std::string(name) + " " + std::to_string(value) + "\n";
        });
        for (const BackendHealth& b : s.backends)
            out += "  backend " + b.backend.toString() + (b.held ? " held" : " ok") + " chosen " +
                   std::to_string(b.chosen) + " failures " + std::to_string(b.failures) + "\n";
    }
    return out;
}

std::string renderStatsJson(const std::vector<HttpServiceStats>& services) {
    JsonWriter json;
    json.beginObject().key("services").beginArray();
    for (const HttpServiceStats& s : services) {
        json.beginObject()
            .field("name", s.name)
            .field("listen", s.listen.toString())
            .field("pool", s.pool)
            .field("resume", s.resume);
        forEachCounter(s.counters, [&](std::string_view name, uint64_t value) { json.field(name, value); });
        std::string_view open;
        forEachBreakdown(s.counters, [&](std::string_view group, std::string_view name, uint64_t value) {
            if (group != open) {
                if (!open.empty()) json.endObject();
                json.key(group).beginObject();
                open = group;
            }
            json.field(name, value);
        });
        json.endObject();
        json.key("backends").beginArray();
        for (const BackendHealth& b : s.backends)
            json.beginObject()
                .field("backend", b.backend.toString())
                .field("held", b.held)
                .field("chosen", b.chosen)
                .field("failures", b.failures)
                .endObject();
        json.endArray().endObject();
    }
    json.endArray().endObject();
    return json.str() + "\n";
}

}  // namespace ringgate::httplink
