#include "dataplane/conn_table.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include <cstring>

namespace ringgate::dataplane {

namespace {
// The hash stores an entry index shifted left by one; bit 0 says "reverse key".
void* tag(uint32_t index, bool reverse) {
    return reinterpret_cast<void*>(static_cast<uintptr_t>(index) << 1 | (reverse ? 1 : 0));
}
}  // namespace

struct ConnectionTable::Owner {
    ConnectionTable* table = nullptr;
    unsigned id = 0;
    uint32_t begin = 0;
    uint32_t end = 0;
    uint32_t cursor = 0;
    std::vector<uint32_t> freeStack;  // reserved to the slice size: push/pop never allocate
    rte_rcu_qsbr_dq* deferred = nullptr;
    alignas(64) std::atomic<uint64_t> inUse{0};
};

void ConnectionTable::freeEntry(void* self, void* element, unsigned count) {
    auto* owner = static_cast<Owner*>(self);
    auto* indices = static_cast<uint32_t*>(element);
    for (unsigned i = 0; i < count; ++i) {
        owner->table->entries_[indices[i]].inUse.store(0, std::memory_order_relaxed);
        owner->freeStack.push_back(indices[i]);
    }
}

Expected<std::unique_ptr<ConnectionTable>> ConnectionTable::create(const ConnectionTableConfig& config,
                                                                   rte_rcu_qsbr* rcu) {
    std::unique_ptr<ConnectionTable> table(new ConnectionTable());
    unsigned owners = std::max(config.owners, 1u);
    table->capacity_ = config.capacity;

    rte_hash_parameters params{};
    params.name = config.name.c_str();
    // Two keys per connection, at most half full: cuckoo inserts stay short and most
    // lookups end in the primary bucket.
    params.entries = std::max<uint32_t>(4 * config.capacity, 64);
    params.key_len = sizeof(FlowKey);
    params.hash_func = rte_hash_crc;
    params.socket_id = SOCKET_ID_ANY;
    params.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    if (owners > 1) params.extra_flag |= RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD;
    table->hash_ = rte_hash_create(&params);
    if (!table->hash_)
        return makeError("create connection table '" + config.name + "' (" +
                         std::to_string(params.entries) + " keys): " + rte_strerror(rte_errno));

    rte_hash_rcu_config rcuConfig{};
    rcuConfig.v = rcu;
    rcuConfig.mode = RTE_HASH_QSBR_MODE_DQ;
    if (rte_hash_rcu_qsbr_add(table->hash_, &rcuConfig) != 0)
        return makeError("attach RCU to connection table: " + std::string(rte_strerror(rte_errno)));

    size_t entryBytes = sizeof(Connection) * std::max<size_t>(config.capacity, 1);
    table->entries_ = static_cast<Connection*>(rte_zmalloc("rg_conn_entries", entryBytes, 64));
    if (!table->entries_)
        return makeError("allocate " + std::to_string(entryBytes >> 20) +
                         " MiB of connection entries: out of DPDK memory (raise memory_mb)");
    // Hash: key + data per slot (rounded to 16 bytes) for two keys per connection, buckets
    // of 8 slots with 4-byte signatures and indices, the free-slot ring.
    table->memoryBytes_ = entryBytes + size_t{params.entries} * (32 + 8 + 4);

    uint32_t slice = config.capacity / owners;
    for (unsigned o = 0; o < owners; ++o) {
        auto owner = std::make_unique<Owner>();
        owner->table = table.get();
        owner->id = o;
        owner->begin = o * slice;
        owner->end = o + 1 == owners ? config.capacity : (o + 1) * slice;
        owner->cursor = owner->begin;
        owner->freeStack.reserve(owner->end - owner->begin);
        for (uint32_t i = owner->end; i > owner->begin; --i) owner->freeStack.push_back(i - 1);
        std::string dqName = config.name + "_dq" + std::to_string(o);
        rte_rcu_qsbr_dq_parameters dq{};
        dq.name = dqName.c_str();
        dq.flags = RTE_RCU_QSBR_DQ_MT_UNSAFE;
        dq.size = std::max<uint32_t>(owner->end - owner->begin, 8);
        dq.esize = sizeof(uint32_t);
        dq.trigger_reclaim_limit = 256;
        dq.max_reclaim_size = 64;
        dq.free_fn = &ConnectionTable::freeEntry;
        dq.p = owner.get();
        dq.v = rcu;
        owner->deferred = rte_rcu_qsbr_dq_create(&dq);
        if (!owner->deferred)
            return makeError("create RCU defer queue " + dqName + ": " + rte_strerror(rte_errno));
        table->owners_.push_back(std::move(owner));
    }
    return table;
}

ConnectionTable::~ConnectionTable() {
    for (auto& owner : owners_)
        if (owner->deferred) rte_rcu_qsbr_dq_delete(owner->deferred);
    if (hash_) rte_hash_free(hash_);
    rte_free(entries_);
}

uint64_t ConnectionTable::lookupBulk(const FlowKey* const* keys, unsigned count, Hit* hits) const {
    void* data[RTE_HASH_LOOKUP_BULK_MAX];
    uint64_t mask = 0;
    int found = rte_hash_lookup_bulk_data(hash_, reinterpret_cast<const void**>(const_cast<const FlowKey**>(keys)),
                                          count, &mask, data);
    if (found <= 0) return 0;
    for (uint64_t m = mask; m; m &= m - 1) {
        unsigned i = static_cast<unsigned>(__builtin_ctzll(m));
        auto value = reinterpret_cast<uintptr_t>(data[i]);
        hits[i].conn = &entries_[value >> 1];
        hits[i].fromBackend = value & 1;
        rte_prefetch0(hits[i].conn);
    }
    return mask;
}

ConnectionTable::Hit ConnectionTable::lookup(const FlowKey& key) const {
    void* data = nullptr;
    if (rte_hash_lookup_data(hash_, &key, &data) < 0) return {};
    auto value = reinterpret_cast<uintptr_t>(data);
    return {&entries_[value >> 1], static_cast<bool>(value & 1)};
}

bool ConnectionTable::contains(const FlowKey& key) const { return rte_hash_lookup(hash_, &key) >= 0; }

InsertResult ConnectionTable::insert(unsigned owner, const ConnectionInit& init, Connection** inserted) {
    Owner& o = *owners_[owner];
    if (rte_hash_lookup(hash_, &init.reverse) >= 0) return InsertResult::ReverseTaken;
    if (o.freeStack.empty()) {
        rte_rcu_qsbr_dq_reclaim(o.deferred, 64, nullptr, nullptr, nullptr);
        if (o.freeStack.empty()) return InsertResult::Full;
    }
    uint32_t index = o.freeStack.back();
    Connection* conn = &entries_[index];
    conn->forward = init.forward;
    conn->reverse = init.reverse;
    conn->clientMac = init.clientMac;
    conn->backendMac = init.backendMac;
    conn->clientPort = init.clientPort;
    conn->backendPort = init.backendPort;
    conn->service = init.service;
    conn->backend = init.backend;
    conn->vip = init.vip;
    conn->handler.store(init.handler, std::memory_order_relaxed);
    conn->flags.store(init.flags, std::memory_order_relaxed);
    conn->lastSeenMs.store(init.nowMs, std::memory_order_relaxed);
    conn->state.store(static_cast<uint8_t>(init.state), std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    if (rte_hash_add_key_data(hash_, &init.forward, tag(index, false)) != 0) return InsertResult::Full;
    if (rte_hash_add_key_data(hash_, &init.reverse, tag(index, true)) != 0) {
        rte_hash_del_key(hash_, &init.forward);
        return InsertResult::Full;
    }
    o.freeStack.pop_back();
    // The next new flow fills the entry now on top: start bringing it in.
    if (!o.freeStack.empty()) rte_prefetch0(&entries_[o.freeStack.back()]);
    conn->inUse.store(1, std::memory_order_relaxed);
    o.inUse.fetch_add(1, std::memory_order_relaxed);
    if (inserted) *inserted = conn;
    return InsertResult::Inserted;
}

void ConnectionTable::remove(unsigned owner, Connection* conn) {
    Owner& o = *owners_[owner];
    rte_hash_del_key(hash_, &conn->forward);
    rte_hash_del_key(hash_, &conn->reverse);
    uint32_t index = indexOf(conn);
    conn->inUse.store(2, std::memory_order_relaxed);  // removed, waiting for its grace period
    o.inUse.fetch_sub(1, std::memory_order_relaxed);
    if (rte_rcu_qsbr_dq_enqueue(o.deferred, &index) != 0) {
        // The queue is sized to the slice, so this cannot happen; keep the entry out of use.
    }
}

unsigned ConnectionTable::expire(unsigned owner, uint32_t nowMs, const FlowTimeouts& timeouts,
                                 unsigned budget, ExpirySink* sink) {
    Owner& o = *owners_[owner];
    if (o.end == o.begin) return 0;
    unsigned removed = 0;
    for (unsigned i = 0; i < budget; ++i) {
        Connection* conn = &entries_[o.cursor];
        if (++o.cursor == o.end) o.cursor = o.begin;
        if (conn->inUse.load(std::memory_order_relaxed) != 1) continue;
        if (conn->flags.load(std::memory_order_relaxed) & entry::kPinned) continue;
        uint32_t idle = nowMs - conn->lastSeenMs.load(std::memory_order_relaxed);
        auto state = static_cast<FlowState>(conn->state.load(std::memory_order_relaxed));
        // Idle times above 2^31 ms mean lastSeen is ahead of `nowMs` (another worker's
        // clock read a moment later): the flow is fresh.
        if (idle < (1u << 31) && idle > timeoutMs(state, timeouts)) {
            if (sink) sink->expired(*conn);
            remove(owner, conn);
            ++removed;
        }
    }
    return removed;
}

void ConnectionTable::reclaim(unsigned owner) {
    rte_rcu_qsbr_dq_reclaim(owners_[owner]->deferred, 64, nullptr, nullptr, nullptr);
}

std::vector<ConnectionSample> ConnectionTable::sample(uint32_t vip, size_t limit, size_t maxScan) const {
    std::vector<ConnectionSample> out;
    size_t end = std::min(capacity_, maxScan);
    for (size_t i = 0; i < end && out.size() < limit; ++i) {
        const Connection& conn = entries_[i];
        if (conn.inUse.load(std::memory_order_acquire) != 1) continue;
        if (vip != 0 && conn.forward.dst != vip) continue;
        out.push_back({conn.forward, conn.reverse, static_cast<FlowState>(conn.state.load(std::memory_order_relaxed)),
                       conn.lastSeenMs.load(std::memory_order_relaxed), conn.service, conn.backend,
                       conn.handler.load(std::memory_order_relaxed), conn.flags.load(std::memory_order_relaxed)});
    }
    return out;
}

unsigned ConnectionTable::ownerOf(const Connection* conn) const {
    uint32_t index = indexOf(conn);
    for (const auto& owner : owners_)
        if (index >= owner->begin && index < owner->end) return owner->id;
    return 0;
}

size_t ConnectionTable::sliceSize(unsigned owner) const {
    return owners_[owner]->end - owners_[owner]->begin;
}

size_t ConnectionTable::size() const {
    size_t total = 0;
    for (const auto& owner : owners_) total += owner->inUse.load(std::memory_order_relaxed);
    return total;
}

}  // namespace ringgate::dataplane
