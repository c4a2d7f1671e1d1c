// libFuzzer target: any bytes as a line of the registry's protocol
// (control/registry/protocol.*), read by every parser a registry, a buddy agent or a
// gateway applies to what arrives on its sockets. Beyond "no crash": whatever a parser
// accepts, its formatter writes back as a line that parses to the same value (so what a
// primary replicates is what the monitor applies), and an over-long request is refused.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "control/registry/protocol.h"

using namespace ringgate::registry;

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

void requestRoundTrip(std::string_view line, bool buddyListener) {
    auto request = protocol::parseRequest(line, buddyListener);
    if (line.size() > protocol::kMaxRequestLine) require(!request);
    if (!request) return;
    std::string written = protocol::formatRequest(*request, buddyListener);
    auto again = protocol::parseRequest(written, buddyListener);
    require(static_cast<bool>(again));
    require(again->verb == request->verb && again->first == request->first);
    // Fields a verb does not carry are not written; compare those that are.
    std::string rewritten = protocol::formatRequest(*again, buddyListener);
    require(rewritten == written);
}

void liveRoundTrip(std::string_view line) {
    auto live = protocol::parseLive(line);
    if (!live) return;
    auto again = protocol::parseLive(protocol::formatLive("OK", live->version, live->servers));
    require(static_cast<bool>(again));
    require(again->version == live->version && again->servers == live->servers);
}

void tableRoundTrip(std::string_view line) {
    auto table = protocol::parseTable(line);
    if (!table) return;
    auto again = protocol::parseTable(protocol::formatTable(*table));
    require(static_cast<bool>(again));
    require(again->version == table->version && again->entries == table->entries);
}

void applyRoundTrip(std::string_view line) {
    auto apply = protocol::parseApply(line);
    if (!apply) return;
    auto again = protocol::parseApply(protocol::formatApply(*apply));
    require(static_cast<bool>(again));
    require(again->version == apply->version && again->verb == apply->verb);
    require(again->first == apply->first && again->second == apply->second && again->pick == apply->pick);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view line(reinterpret_cast<const char*>(data), size);
    requestRoundTrip(line, false);
    requestRoundTrip(line, true);
    liveRoundTrip(line);
    tableRoundTrip(line);
    applyRoundTrip(line);
    (void)protocol::parseBuddyReply(line);
    return 0;
}
