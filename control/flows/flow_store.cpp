#include "control/flows/flow_store.h"

namespace ringgate::flows {

uint32_t FlowStore::lookup(const Index& index, const FlowTuple& key, bool reverse) const {
    if (index.cells.empty()) return kNone;
    size_t mask = index.cells.size() - 1;
    for (size_t i = FlowTupleHash{}(key) & mask;; i = (i + 1) & mask) {
        uint32_t cell = index.cells[i];
        if (cell == kEmpty) return kNone;
        if (cell != kTombstone && keyOf(cell, reverse) == key) return cell;
    }
}

void FlowStore::grow(Index& index, bool reverse) {
    // Rehash at most 60% full (tombstones included) into a table twice the live count.
    size_t capacity = 64;
    while (capacity * 3 < (index.live + 1) * 5 * 2) capacity *= 2;
    std::vector<uint32_t> old = std::move(index.cells);
    index.cells.assign(capacity, kEmpty);
    index.used = index.live = 0;
    for (uint32_t cell : old)
        if (cell != kEmpty && cell != kTombstone) add(index, cell, reverse);
}

void FlowStore::add(Index& index, uint32_t slot, bool reverse) {
    if ((index.used + 1) * 5 > index.cells.size() * 3) grow(index, reverse);
    size_t mask = index.cells.size() - 1;
    size_t i = FlowTupleHash{}(keyOf(slot, reverse)) & mask;
    while (index.cells[i] != kEmpty && index.cells[i] != kTombstone) i = (i + 1) & mask;
    if (index.cells[i] == kEmpty) ++index.used;
    index.cells[i] = slot;
    ++index.live;
}

void FlowStore::remove(Index& index, uint32_t slot, bool reverse) {
    size_t mask = index.cells.size() - 1;
    for (size_t i = FlowTupleHash{}(keyOf(slot, reverse)) & mask;; i = (i + 1) & mask) {
        uint32_t cell = index.cells[i];
        if (cell == kEmpty) return;
        if (cell == slot) {
            // A following empty cell ends every probe through here: no tombstone needed.
            index.cells[i] = index.cells[(i + 1) & mask] == kEmpty ? kEmpty : kTombstone;
            if (index.cells[i] == kEmpty) --index.used;
            --index.live;
            return;
        }
    }
}

uint32_t FlowStore::insert(const FlowRecord& record, uint8_t roles) {
    uint32_t slot;
    if (!free_.empty()) {
        slot = free_.back();
        free_.pop_back();
    } else {
        slot = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
    }
    slots_[slot] = StoredFlow{record, roles, 0};
    add(byForward_, slot, false);
    // Two flows with one reply tuple would be a peer's error: the first keeps the index.
    if (findReverse(record.reverse) == kNone) add(byReverse_, slot, true);
    ++size_;
    return slot;
}

void FlowStore::erase(uint32_t slot) {
    remove(byForward_, slot, false);
    if (findReverse(slots_[slot].record.reverse) == slot) remove(byReverse_, slot, true);
    slots_[slot].roles = 0;
    free_.push_back(slot);
    --size_;
}

void FlowStore::update(uint32_t slot, const FlowRecord& record) {
    StoredFlow& s = slots_[slot];
    if (s.record.reverse == record.reverse) {
        s.record = record;
        return;
    }
    if (findReverse(s.record.reverse) == slot) remove(byReverse_, slot, true);
    s.record = record;
    if (findReverse(record.reverse) == kNone) add(byReverse_, slot, true);
}

void FlowStore::clear() {
    slots_.clear();
    free_.clear();
    byForward_ = Index{};
    byReverse_ = Index{};
    size_ = 0;
}

}  // namespace ringgate::flows
