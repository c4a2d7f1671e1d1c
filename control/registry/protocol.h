// Wire formats of the registry's network API and of the buddy agents' listener, as pure
// functions over text lines (sans-I/O). One request per line, one reply line per request,
// "OK ..." or "ERR reason". Lines are bounded (kMaxRequestLine); anything longer or
// malformed is refused with ERR and counted by the shell.
//
// Registry API (TCP, service address, default port 7300):
//   ANNOUNCE <addr>            -> OK <version> new|present <buddyA> <buddyB> <term>
//   DELETE <addr>              -> OK <version> found|absent <buddyA> <buddyB> <term>
//                                 (a departure, or an operator's removal)
//   DEAD <addr> <reporter> <version>
//                              -> like DELETE, or ERR why the report was not believed
//                                 (death_judge.h): a buddy agent's death report
//   REPLACE <old> <new>        -> OK <version> new <buddyA> <buddyB> <term>
//   ENTRY <addr>               -> OK <version> found|absent <buddyA> <buddyB> <term>
//                                 (<term>: the answering registry's term, role_core.h; an
//                                 agent refuses answers with a term below one it has seen)
//   LIST                       -> OK <version> <addr>...          (the live list)
//   TABLE                      -> OK <version> <addr>/<buddyA>/<buddyB>...
//   SUBSCRIBE                  -> TERM <term> and LIVE <version> <addr>...  now and on
//                                 every change, HEARTBEAT every second in between
//   ROLE                       -> OK primary|monitor|probing|standalone <term>
//   REPLICATE                  -> (monitors) SNAPSHOT, TERM <term>, RANK <place in line>, then APPLY,
//                                 RANK and HEARTBEAT (every 100 ms) lines; each APPLY is
//                                 acknowledged by the monitor with ACK <version>
// Buddy listener (TCP, buddyPort on each back end):
//   REPLACE <version> <toReplace> <replacement>   seed 000 Fig. 5 (ServerReplace)
//   STATUS                     -> OK <self> <buddyA> <buddyB> <version> <refused>
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "control/registry/server_store.h"

namespace ringgate::registry::protocol {

constexpr size_t kMaxRequestLine = 256;
constexpr size_t kMaxReplyLine = 64 * 1024 * 1024;  // a TABLE of many thousand servers

enum class Verb { Announce, Delete, Dead, Replace, Entry, List, Table, Subscribe, Role, Replicate, Status };

struct Request {
    Verb verb = Verb::List;
    Ipv4Address first;   // ANNOUNCE/DELETE/DEAD/ENTRY: the server; REPLACE: old / toReplace
    Ipv4Address second;  // REPLACE: the replacement; DEAD: the reporter
    uint64_t version = 0;  // buddy REPLACE: table version that caused it; DEAD: the
                           // version the reporter's buddy list reflects
};

// Registry requests (the verbs above REPLICATE) and buddy-listener requests (REPLACE
// with a version, STATUS) share the parser; `buddyListener` picks the REPLACE form.
Expected<Request> parseRequest(std::string_view line, bool buddyListener);
std::string formatRequest(const Request& request, bool buddyListener);

// Replies: "OK <version> <flag> <a> <b> <term>" for announce/delete/replace/entry.
struct BuddyReply {
    uint64_t version = 0;
    bool flag = false;  // announce: already present; delete/entry: found
    Ipv4Address buddyA;
    Ipv4Address buddyB;
    uint64_t term = 0;  // the answering registry's term (0: standalone)
};
std::string formatAnnounce(const AnnounceResult& result, uint64_t term);
std::string formatDelete(const DeleteResult& result, uint64_t term);
std::string formatEntry(const EntryResult& result, uint64_t term);
Expected<BuddyReply> parseBuddyReply(std::string_view line);

std::string formatLive(const char* head, uint64_t version, const std::vector<Ipv4Address>& live);
std::string formatTable(const TableSnapshot& snapshot);  // "OK <version> s/a/b ..."
struct LiveList {
    uint64_t version = 0;
    std::vector<Ipv4Address> servers;
};
// Accepts "OK ..." (LIST) and "LIVE ..." (SUBSCRIBE pushes).
Expected<LiveList> parseLive(std::string_view line);
Expected<TableSnapshot> parseTable(std::string_view line);  // also "SNAPSHOT ..."

std::string formatError(std::string_view reason);

// Replication stream, primary -> monitor. The monitor replays each operation on its own
// store with the same pick; equal resulting versions prove the copies agree.
struct Apply {
    uint64_t version = 0;  // the primary's table version after the operation
    Verb verb = Verb::Announce;
    Ipv4Address first;
    Ipv4Address second;
    uint64_t pick = 0;
};
std::string formatApply(const Apply& apply);
Expected<Apply> parseApply(std::string_view line);

std::vector<std::string_view> words(std::string_view line);

}  // namespace ringgate::registry::protocol
