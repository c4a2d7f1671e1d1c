// The replicator's store: every record a node keeps, with its roles, in a slab of stable
// slots and two open-addressing indexes, by the client tuple (`forward`) and by the reply
// tuple (`reverse`, what an `ask` names). No heap node per record: a million records cost
// the slab and two arrays of 64-bit cells, and steady-state inserts allocate nothing.
// Only records kept for other handlers are in the reverse index: an ask is answered from
// them, and a node's own flows (the bulk of its records, and their hot path: one insert
// per new connection) then cost one index instead of two.
#pragma once

#include <cstdint>
#include <vector>

#include "common/huge_page_allocator.h"
#include "control/flows/flow_record.h"

namespace ringgate::flows {

struct StoredFlow {
    FlowRecord record;
    uint8_t roles = 0;         // bit set of Role; 0 marks a free slot (set through FlowStore)
    bool reverseIndexed = false;  // (FlowStore's own)
    uint32_t resyncMark = 0;   // the handler's resync session that last confirmed it
};

class FlowStore {
public:
    static constexpr uint32_t kNone = UINT32_MAX;

    uint32_t find(const FlowTuple& forward) const { return lookup(byForward_, forward, false); }
    uint32_t findReverse(const FlowTuple& reverse) const { return lookup(byReverse_, reverse, true); }

    // `record.forward` must not be present; `roles` must not be 0.
    uint32_t insert(const FlowRecord& record, Roles roles);
    void erase(uint32_t slot);
    // Replaces the record of a slot (same forward tuple), keeping the reverse index right.
    void update(uint32_t slot, const FlowRecord& record);
    // Changes a slot's roles (not to 0: erase), keeping the reverse index right.
    void setRoles(uint32_t slot, Roles roles);

    // Starts loading the index cells a record's lookups will read: a batch of records then
    // waits for memory once, not once per record.
    void prefetch(const FlowRecord& record) const {
        prefetchCell(byForward_, record.forward);
        prefetchCell(byReverse_, record.reverse);
    }
    void prefetchForward(const FlowTuple& forward) const { prefetchCell(byForward_, forward); }

    StoredFlow& at(uint32_t slot) { return slots_[slot]; }
    const StoredFlow& at(uint32_t slot) const { return slots_[slot]; }
    size_t size() const { return size_; }
    // Slots to iterate: [0, slotCount()), skipping those with roles == 0.
    uint32_t slotCount() const { return static_cast<uint32_t>(slots_.size()); }
    void clear();
    // Room for this many records without moving the slab.
    void reserve(size_t records);

private:
    // Linear probing with backward-shift deletion (no tombstones, so lookups stay short
    // however many flows come and go). A cell holds the slot number and the upper half of
    // the key's hash, which settles most mismatches without touching the slab.
    struct Index {
        std::vector<uint64_t, HugePageAllocator<uint64_t>> cells;  // kEmpty, or tag << 32 | slot
        size_t live = 0;
    };
    static constexpr uint64_t kEmpty = UINT64_MAX;

    static bool wantsReverse(Roles roles) { return !(roles & static_cast<Roles>(Role::Local)); }
    void indexReverse(uint32_t slot, bool on);
    const FlowTuple& keyOf(uint32_t slot, bool reverse) const {
        return reverse ? slots_[slot].record.reverse : slots_[slot].record.forward;
    }
    uint32_t lookup(const Index& index, const FlowTuple& key, bool reverse) const;
    static void prefetchCell(const Index& index, const FlowTuple& key) {
        if (!index.cells.empty())
            __builtin_prefetch(&index.cells[FlowTupleHash{}(key) & (index.cells.size() - 1)]);
    }
    void add(Index& index, uint32_t slot, bool reverse);
    void remove(Index& index, uint32_t slot, bool reverse);
    void grow(Index& index);

    std::vector<StoredFlow, HugePageAllocator<StoredFlow>> slots_;
    std::vector<uint32_t> free_;
    Index byForward_;
    Index byReverse_;
    size_t size_ = 0;
};

}  // namespace ringgate::flows
