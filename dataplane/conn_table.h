// The connection table: every flow the gateway translates, found from either direction.
//
// Two parts, each built for this job (issue 14; rte_hash measured 742 bytes a flow and
// took its writer lock on every insert once there were two workers):
// - Entries: one 64-byte `Connection` per flow in one array, split into per-worker
//   slices. The worker that creates a flow owns its entry, is the only one that frees it
//   (expiry), and takes free entries from its own slice, so entry allocation is never
//   shared. A removed entry is reused only after an RCU (rte_rcu_qsbr) grace period, so
//   a reader on another worker that still holds it never sees it recycled under it.
//   Removals are batched: one grace-period token per batch (one worker pass), not one per
//   entry, and each slice keeps its free and waiting entries in one ring of 4-byte
//   indices, so the bookkeeping costs 4 bytes a flow.
// - The index (flow_index.h): cache-line buckets of (signature, entry index + direction)
//   slots, one per key, two keys per flow: the client's key (as the client sends) and
//   the back end's (as it replies). Readers take no lock and never see half a slot;
//   inserts from any worker claim a slot with one CAS; a lookup reads one bucket line and
//   then the entry, which holds the keys to confirm the match; the work per key is
//   bounded (4 buckets) and a full neighbourhood refuses the insert (counted).
// Both live in huge-page memory outside DPDK's heap (huge_memory.h), faulted in at
// start: 64 bytes of entry + ~37 of index (half-full buckets) + 4 of free ring = ~105
// bytes a flow, 16 M flows in ~1.7 GB.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/expected.h"
#include "dataplane/flow.h"
#include "dataplane/flow_index.h"
#include "dataplane/huge_memory.h"
#include "dataplane/packet.h"

struct rte_rcu_qsbr;

namespace ringgate::dataplane {

// What kind of entry a Connection is (Connection::flags).
namespace entry {
// Another node handles the flow (docs/FLOWS.md): packets that hit the entry go on, L2, to
// `handler`; nothing is translated here. Kept as a replica, for a VIP this node owns after
// a move, or as the cache of an answer from the flow's authority.
constexpr uint8_t kRemote = 1;
// A remote entry the control plane ends (a replica): never idle-expired by the fast path.
constexpr uint8_t kPinned = 2;
constexpr uint8_t kFullNat = 4;
}  // namespace entry

struct alignas(64) Connection {
    FlowKey forward;  // client -> VIP, as the client sends
    FlowKey reverse;  // back end -> client (dnat) or NAT source (fullnat), as it replies
    MacAddress clientMac;   // the L2 neighbour the client's packets came from
    MacAddress backendMac;
    uint16_t clientPort = 0;   // indices into the snapshot's ports
    uint16_t backendPort = 0;
    uint16_t service = 0;      // counter indices
    uint16_t backend = 0;
    uint16_t vip = 0;
    std::atomic<uint16_t> handler{0};  // node id of the node that translates the flow
    std::atomic<uint32_t> lastSeenMs{0};
    std::atomic<uint8_t> state{0};   // FlowState
    std::atomic<uint8_t> inUse{0};   // written by the owner only
    std::atomic<uint8_t> flags{0};   // entry::k*
};
static_assert(sizeof(Connection) == 64);

// Everything a new connection starts with; written before its keys become visible so that
// no reader on another worker ever sees a half-filled entry.
struct ConnectionInit {
    FlowKey forward;
    FlowKey reverse;
    MacAddress clientMac;
    MacAddress backendMac;
    uint16_t clientPort = 0;
    uint16_t backendPort = 0;
    uint16_t service = 0;
    uint16_t backend = 0;
    uint16_t vip = 0;
    uint16_t handler = 0;
    uint8_t flags = 0;
    FlowState state = FlowState::SynSent;
    uint32_t nowMs = 0;
};

// Told about every entry expiry removes, before its keys go (the flow records' "ended").
class ExpirySink {
public:
    virtual ~ExpirySink() = default;
    virtual void expired(const Connection& conn) = 0;
};

enum class InsertResult : uint8_t { Inserted, Full, ReverseTaken };

// A copy of one connection for the control thread (`ringgatectl connections`).
struct ConnectionSample {
    FlowKey forward;
    FlowKey reverse;
    FlowState state = FlowState::Closed;
    uint32_t lastSeenMs = 0;
    uint16_t service = 0;
    uint16_t backend = 0;
    uint16_t handler = 0;
    uint8_t flags = 0;
};

struct ConnectionTableConfig {
    std::string name = "rg_conn";  // names the table in error messages
    uint32_t capacity = 1u << 20;  // connections (each has two keys in the index)
    unsigned owners = 1;           // workers
    uint64_t seed = 0;             // the index's hash seed; 0: a random one (tests fix it)
};

class ConnectionTable {
public:
    // `rcu` must have a thread slot per owner (thread id = owner index).
    static Expected<std::unique_ptr<ConnectionTable>> create(const ConnectionTableConfig& config,
                                                             rte_rcu_qsbr* rcu);
    ~ConnectionTable();
    ConnectionTable(const ConnectionTable&) = delete;
    ConnectionTable& operator=(const ConnectionTable&) = delete;

    struct Hit {
        Connection* conn = nullptr;
        bool fromBackend = false;  // matched the reverse key
    };

    // Looks up to 64 keys at once (bulk lookups with prefetching are what make the table
    // fast); returns a bit mask of hits and fills `hits` for them.
    uint64_t lookupBulk(const FlowKey* const* keys, unsigned count, Hit* hits) const;
    Hit lookup(const FlowKey& key) const;
    bool contains(const FlowKey& key) const;

    // Owner-only: adds a connection under both keys. The caller checked that the forward
    // key is new; a reverse key already in use (another flow's reply tuple) is refused so
    // that fullnat can try another source port. Full: no free entry in the owner's slice,
    // or a key's neighbourhood in the index is full (counted: neighbourhoodFull()).
    // Two workers never insert the same key at once: a flow's packets reach one worker,
    // and fullnat reply tuples are sliced per worker.
    InsertResult insert(unsigned owner, const ConnectionInit& init, Connection** inserted = nullptr);
    // Owner-only: removes both keys; the entry is reused after a grace period.
    void remove(unsigned owner, Connection* conn);
    // Owner-only: examines up to `budget` entries of the owner's slice from where the last
    // call stopped and removes the expired ones (pinned entries never expire), telling
    // `sink` of each first; returns how many it removed.
    unsigned expire(unsigned owner, uint32_t nowMs, const FlowTimeouts& timeouts, unsigned budget,
                    ExpirySink* sink = nullptr);
    // Owner-only: returns entries whose grace period is over to the free stack.
    void reclaim(unsigned owner);

    // Control thread, while the workers run: up to `limit` connections in use whose client
    // tuple goes to `vip` (0: any), examining at most `maxScan` entries. An entry freed and
    // reused during the copy may show mixed fields: a view for operators, never a basis
    // for forwarding.
    std::vector<ConnectionSample> sample(uint32_t vip, size_t limit, size_t maxScan) const;

    // The worker whose slice holds `conn` (the only one that may remove it).
    unsigned ownerOf(const Connection* conn) const;

    size_t size() const;  // connections in use (all owners)
    size_t sliceSize(unsigned owner) const;
    size_t capacity() const { return capacity_; }
    // Everything the table allocated: entries, index, free rings.
    size_t memoryBytes() const { return memoryBytes_; }
    // Inserts refused because a key's index neighbourhood was full (all owners).
    uint64_t neighbourhoodFull() const;

private:
    struct Owner;
    ConnectionTable() = default;
    uint32_t indexOf(const Connection* conn) const { return static_cast<uint32_t>(conn - entries_); }
    // The key an index value stands for: entry index << 1 | (1 for the reverse key).
    const FlowKey& keyOf(uint32_t value) const {
        const Connection& conn = entries_[value >> 1];
        return value & 1 ? conn.reverse : conn.forward;
    }
    uint32_t findValue(const FlowKey& key) const;
    // Removes both keys (their positions computed already) and retires the entry.
    void removeAt(Owner& owner, Connection* conn, FlowIndex::Position forward, FlowIndex::Position reverse);
    // Puts a removed entry on the owner's waiting list (freed after a grace period).
    void retire(Owner& owner, uint32_t index);
    // Starts a grace period for the entries retired since the last call.
    void closeBatch(Owner& owner);

    FlowIndex index_;
    HugeMemory entryMemory_;
    Connection* entries_ = nullptr;
    rte_rcu_qsbr* rcu_ = nullptr;
    size_t capacity_ = 0;
    size_t memoryBytes_ = 0;
    std::vector<std::unique_ptr<Owner>> owners_;
};

}  // namespace ringgate::dataplane
