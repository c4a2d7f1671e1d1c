// The server table of seed 000 (server, buddy A, buddy B) behind one interface with two
// implementations: SQLite (embedded, the default) and PostgreSQL (stored procedures).
// Every operation is one transaction and safe under concurrent callers. The random
// insertion point of claim 8 is drawn by the caller and passed in as `pick`, so the same
// pick gives the same table on either store (golden tests, and the monitor's replay).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/expected.h"
#include "common/ipv4.h"

namespace ringgate::registry {

struct ServerEntry {
    Ipv4Address server;
    Ipv4Address buddyA;
    Ipv4Address buddyB;
    auto operator<=>(const ServerEntry&) const = default;
};

// Seed 000 Fig. 4 step 320: the new server's buddies (RandomServer, RandomBuddy).
// A server alone in the table is its own buddy (the fixed point of Fig. 4 and Fig. 6).
struct AnnounceResult {
    bool alreadyPresent = false;  // announced twice: its current entry, table unchanged
    Ipv4Address buddyA;
    Ipv4Address buddyB;
    uint64_t version = 0;
};

// Seed 000 Fig. 6 step 625: the dead server's two buddies.
struct DeleteResult {
    bool found = false;  // false: someone else already deleted it (idempotent)
    Ipv4Address buddyA;
    Ipv4Address buddyB;
    uint64_t version = 0;
};

struct EntryResult {
    bool found = false;
    ServerEntry entry;
    uint64_t version = 0;
};

struct TableSnapshot {
    uint64_t version = 0;              // bumped by every change; replicated as is
    std::vector<ServerEntry> entries;  // ordered by server address
};

class ServerStore {
public:
    virtual ~ServerStore() = default;

    // Fig. 3/4: insert `server` next to the pick-th other server (ordered by address,
    // pick taken modulo their count) and that server's buddy A.
    virtual Expected<AnnounceResult> announce(Ipv4Address server, uint64_t pick) = 0;
    // Fig. 6: remove `server`, make its two buddies each other's.
    virtual Expected<DeleteResult> remove(Ipv4Address server) = 0;
    // `replacement` takes over the ring position of `old` (a back end that moves to a new
    // address keeps its place); fails if `old` is absent or `replacement` present.
    virtual Expected<AnnounceResult> replace(Ipv4Address old, Ipv4Address replacement) = 0;
    virtual Expected<EntryResult> entry(Ipv4Address server) = 0;
    virtual Expected<TableSnapshot> snapshot() = 0;
    // Replaces the whole table (a monitor taking the primary's snapshot; test fixtures).
    virtual Expected<void> load(const TableSnapshot& snapshot) = 0;
    virtual const char* kind() const = 0;
};

// Opens the SQLite database at `path` (":memory:" for a private one), creating the schema.
Expected<std::unique_ptr<ServerStore>> openSqliteStore(const std::string& path);
// Connects with a libpq `conninfo` and installs the schema and stored procedures.
Expected<std::unique_ptr<ServerStore>> openPostgresStore(const std::string& conninfo);
bool postgresStoreAvailable();

// Claim 8's random choice, injectable so that tests are deterministic.
using PickSource = std::function<uint64_t()>;
PickSource randomPickSource();

}  // namespace ringgate::registry
