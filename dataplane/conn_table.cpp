#include "dataplane/conn_table.h"

#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include <array>
#include <new>
#include <random>

namespace ringgate::dataplane {

// One worker's slice of the entries. Every entry of the slice is in exactly one place: in
// use, free, or retired (removed, waiting for a grace period), so one ring of the slice's
// size holds the free ones followed by the retired ones, oldest first:
//   ring[head .. head+freeCount)                   free, taken from the front
//   ring[.. +retiredCount)                         retired, in batches, oldest first
// A batch is the entries retired between two closeBatch() calls (one worker pass) and
// the RCU token taken when it closed; once every reader has passed that token, the
// batch joins the free entries by a change of counts, without touching the entries.
struct ConnectionTable::Owner {
    struct Batch {
        uint32_t count = 0;
        uint64_t token = 0;
    };
    static constexpr unsigned kBatches = 64;  // beyond that, retirements join the open batch

    unsigned id = 0;
    uint32_t begin = 0;
    uint32_t end = 0;
    uint32_t cursor = 0;  // expiry
    std::vector<uint32_t> ring;
    uint32_t head = 0;
    uint32_t freeCount = 0;
    uint32_t retiredCount = 0;
    uint32_t openCount = 0;  // retired since the last closed batch
    std::array<Batch, kBatches> batches;
    unsigned firstBatch = 0;
    unsigned batchCount = 0;
    std::atomic<uint64_t> neighbourhoodFull{0};  // rare: a plain atomic add
    alignas(64) std::atomic<uint64_t> inUse{0};

    uint32_t at(uint32_t offset) const {  // ring position `offset` after head
        uint32_t p = head + offset;
        return p >= ring.size() ? p - static_cast<uint32_t>(ring.size()) : p;
    }
};

Expected<std::unique_ptr<ConnectionTable>> ConnectionTable::create(const ConnectionTableConfig& config,
                                                                   rte_rcu_qsbr* rcu) {
    std::unique_ptr<ConnectionTable> table(new ConnectionTable());
    unsigned owners = std::max(config.owners, 1u);
    uint32_t capacity = std::max<uint32_t>(config.capacity, owners);
    if (capacity >= (1u << 31)) return makeError(config.name + ": at most 2^31 - 1 connections");
    table->capacity_ = capacity;
    table->rcu_ = rcu;

    auto entries = HugeMemory::map(sizeof(Connection) * size_t{capacity}, config.name + " entries");
    if (!entries) return entries.error();
    table->entryMemory_ = std::move(*entries);
    table->entries_ = static_cast<Connection*>(table->entryMemory_.data());
    for (uint32_t i = 0; i < capacity; ++i) new (&table->entries_[i]) Connection();

    uint64_t seed = config.seed;
    if (seed == 0) {
        std::random_device device;
        seed = uint64_t{device()} << 32 | device();
    }
    auto index = FlowIndex::create(2 * size_t{capacity}, seed);
    if (!index) return makeError(config.name + ": " + index.error().message);
    table->index_ = std::move(*index);

    uint32_t slice = capacity / owners;
    table->memoryBytes_ = table->entryMemory_.bytes() + table->index_.memoryBytes();
    for (unsigned o = 0; o < owners; ++o) {
        auto owner = std::make_unique<Owner>();
        owner->id = o;
        owner->begin = o * slice;
        owner->end = o + 1 == owners ? capacity : (o + 1) * slice;
        owner->cursor = owner->begin;
        owner->ring.resize(owner->end - owner->begin);
        for (uint32_t i = 0; i < owner->ring.size(); ++i) owner->ring[i] = owner->begin + i;
        owner->freeCount = static_cast<uint32_t>(owner->ring.size());
        table->memoryBytes_ += sizeof(Owner) + owner->ring.capacity() * sizeof(uint32_t);
        table->owners_.push_back(std::move(owner));
    }
    return table;
}

ConnectionTable::~ConnectionTable() = default;

uint64_t ConnectionTable::lookupBulk(const FlowKey* const* keys, unsigned count, Hit* hits) const {
    uint32_t values[FlowIndex::kBulkMax];
    uint64_t mask = index_.findBulk(
        keys, count, values, [this](uint32_t value) -> const FlowKey& { return keyOf(value); },
        [this](uint32_t value) { rte_prefetch0(&entries_[value >> 1]); });
    for (uint64_t m = mask; m; m &= m - 1) {
        unsigned i = static_cast<unsigned>(__builtin_ctzll(m));
        hits[i].conn = &entries_[values[i] >> 1];
        hits[i].fromBackend = values[i] & 1;
    }
    return mask;
}

uint32_t ConnectionTable::findValue(const FlowKey& key) const {
    return index_.find(key, index_.position(key), [this](uint32_t value) -> const FlowKey& { return keyOf(value); });
}

ConnectionTable::Hit ConnectionTable::lookup(const FlowKey& key) const {
    uint32_t value = findValue(key);
    if (value == FlowIndex::kNone) return {};
    return {&entries_[value >> 1], static_cast<bool>(value & 1)};
}

bool ConnectionTable::contains(const FlowKey& key) const { return findValue(key) != FlowIndex::kNone; }

InsertResult ConnectionTable::insert(unsigned owner, const ConnectionInit& init, Connection** inserted) {
    Owner& o = *owners_[owner];
    FlowIndex::Position reversePos = index_.position(init.reverse);
    auto keyOfValue = [this](uint32_t value) -> const FlowKey& { return keyOf(value); };
    if (index_.find(init.reverse, reversePos, keyOfValue) != FlowIndex::kNone) return InsertResult::ReverseTaken;
    if (o.freeCount == 0) {
        reclaim(owner);
        if (o.freeCount == 0) return InsertResult::Full;
    }
    uint32_t index = o.ring[o.head];
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
    // The index publishes each key with a release CAS: a reader that finds a key sees the
    // entry as written above.
    FlowIndex::Position forwardPos = index_.position(init.forward);
    if (!index_.insert(forwardPos, index << 1)) {
        o.neighbourhoodFull.fetch_add(1, std::memory_order_relaxed);  // the entry was never visible: it stays free
        return InsertResult::Full;
    }
    if (!index_.insert(reversePos, index << 1 | 1)) {
        // The forward key was visible for a moment: a reader may hold the entry, so it
        // goes through a grace period like any removed entry.
        index_.erase(forwardPos, index << 1);
        o.head = o.at(1);
        --o.freeCount;
        retire(o, index);
        o.neighbourhoodFull.fetch_add(1, std::memory_order_relaxed);
        return InsertResult::Full;
    }
    o.head = o.at(1);
    --o.freeCount;
    // The next new flow fills the entry now at the front: start bringing it in.
    if (o.freeCount > 0) rte_prefetch0(&entries_[o.ring[o.head]]);
    conn->inUse.store(1, std::memory_order_release);
    o.inUse.fetch_add(1, std::memory_order_relaxed);
    if (inserted) *inserted = conn;
    return InsertResult::Inserted;
}

void ConnectionTable::retire(Owner& o, uint32_t index) {
    o.ring[o.at(o.freeCount + o.retiredCount)] = index;
    ++o.retiredCount;
    ++o.openCount;
}

void ConnectionTable::remove(unsigned owner, Connection* conn) {
    removeAt(*owners_[owner], conn, index_.position(conn->forward), index_.position(conn->reverse));
}

void ConnectionTable::removeAt(Owner& o, Connection* conn, FlowIndex::Position forward,
                               FlowIndex::Position reverse) {
    uint32_t index = indexOf(conn);
    index_.erase(forward, index << 1);
    index_.erase(reverse, index << 1 | 1);
    conn->inUse.store(2, std::memory_order_relaxed);  // removed, waiting for its grace period
    o.inUse.fetch_sub(1, std::memory_order_relaxed);
    retire(o, index);
}

void ConnectionTable::closeBatch(Owner& o) {
    if (o.openCount == 0 || o.batchCount == Owner::kBatches) return;
    Owner::Batch& batch = o.batches[(o.firstBatch + o.batchCount) % Owner::kBatches];
    batch.count = o.openCount;
    batch.token = rte_rcu_qsbr_start(rcu_);
    ++o.batchCount;
    o.openCount = 0;
}

unsigned ConnectionTable::expire(unsigned owner, uint32_t nowMs, const FlowTimeouts& timeouts,
                                 unsigned budget, ExpirySink* sink) {
    Owner& o = *owners_[owner];
    if (o.end == o.begin) return 0;
    // Expired entries are removed in groups: the scan finds them (sequential, cheap), then
    // all their index buckets are prefetched together, then their keys are erased. One
    // by one, each removal would wait for two random bucket lines in turn.
    constexpr unsigned kGroup = 16;
    Connection* doomed[kGroup];
    FlowIndex::Position forward[kGroup], reverse[kGroup];
    unsigned count = 0, removed = 0;
    auto removeGroup = [&] {
        for (unsigned k = 0; k < count; ++k) {
            forward[k] = index_.position(doomed[k]->forward);
            reverse[k] = index_.position(doomed[k]->reverse);
            index_.prefetch(forward[k]);
            index_.prefetch(reverse[k]);
        }
        for (unsigned k = 0; k < count; ++k) {
            if (sink) sink->expired(*doomed[k]);
            removeAt(o, doomed[k], forward[k], reverse[k]);
        }
        removed += count;
        count = 0;
    };
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
            doomed[count++] = conn;
            if (count == kGroup) removeGroup();
        }
    }
    removeGroup();
    return removed;
}

void ConnectionTable::reclaim(unsigned owner) {
    Owner& o = *owners_[owner];
    closeBatch(o);
    while (o.batchCount > 0) {
        Owner::Batch& batch = o.batches[o.firstBatch];
        if (rte_rcu_qsbr_check(rcu_, batch.token, false) != 1) break;
        o.freeCount += batch.count;
        o.retiredCount -= batch.count;
        o.firstBatch = (o.firstBatch + 1) % Owner::kBatches;
        --o.batchCount;
    }
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

uint64_t ConnectionTable::neighbourhoodFull() const {
    uint64_t total = 0;
    for (const auto& owner : owners_)
        total += owner->neighbourhoodFull.load(std::memory_order_relaxed);
    return total;
}

}  // namespace ringgate::dataplane
