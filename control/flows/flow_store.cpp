#include "control/flows/flow_store.h"

namespace ringgate::flows {

namespace {
// The tag is the hash's low half: it names the cell's home (tables stay below 2^32 cells),
// so deletion shifts cells back without reading the slab.
inline uint64_t hashOf(const FlowTuple& key) { return FlowTupleHash{}(key); }
inline uint32_t tagOf(uint64_t hash) { return static_cast<uint32_t>(hash); }
inline uint64_t cellOf(uint64_t hash, uint32_t slot) { return uint64_t{tagOf(hash)} << 32 | slot; }
inline uint32_t slotOf(uint64_t cell) { return static_cast<uint32_t>(cell); }
inline uint32_t cellTag(uint64_t cell) { return static_cast<uint32_t>(cell >> 32); }
}  // namespace

uint32_t FlowStore::lookup(const Index& index, const FlowTuple& key, bool reverse) const {
    if (index.cells.empty()) return kNone;
    size_t mask = index.cells.size() - 1;
    uint64_t hash = hashOf(key);
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        uint64_t cell = index.cells[i];
        if (cell == kEmpty) return kNone;
        if (cellTag(cell) == tagOf(hash) && keyOf(slotOf(cell), reverse) == key)
            return slotOf(cell);
    }
}

void FlowStore::grow(Index& index) {
    // Grown at 70% full to about 35%: with tagged cells a probe past another key rarely
    // touches the slab, so a fuller table costs little and saves memory and page faults.
    size_t capacity = 64;
    while (capacity * 7 < (index.live + 1) * 20) capacity *= 2;
    auto old = std::move(index.cells);
    index.cells.assign(capacity, kEmpty);
    index.live = 0;
    size_t mask = capacity - 1;
    for (uint64_t cell : old) {
        if (cell == kEmpty) continue;
        size_t i = cellTag(cell) & mask;
        while (index.cells[i] != kEmpty) i = (i + 1) & mask;
        index.cells[i] = cell;
        ++index.live;
    }
}

void FlowStore::add(Index& index, uint32_t slot, bool reverse) {
    if ((index.live + 1) * 10 > index.cells.size() * 7) grow(index);
    size_t mask = index.cells.size() - 1;
    uint64_t hash = hashOf(keyOf(slot, reverse));
    size_t i = hash & mask;
    while (index.cells[i] != kEmpty) i = (i + 1) & mask;
    index.cells[i] = cellOf(hash, slot);
    ++index.live;
}

void FlowStore::remove(Index& index, uint32_t slot, bool reverse) {
    size_t mask = index.cells.size() - 1;
    size_t i = hashOf(keyOf(slot, reverse)) & mask;  // the slot's key is still in the slab
    while (index.cells[i] != kEmpty && slotOf(index.cells[i]) != slot) i = (i + 1) & mask;
    if (index.cells[i] == kEmpty) return;
    --index.live;
    // Shift back every later cell of the run that may move closer to its home: a lookup
    // then never meets a hole before its key.
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        uint64_t cell = index.cells[j];
        if (cell == kEmpty) break;
        size_t home = cellTag(cell) & mask;
        // The cell may fill the hole at i when its home is not in (i, j] cyclically.
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (between) continue;
        index.cells[i] = cell;
        i = j;
    }
    index.cells[i] = kEmpty;
}

void FlowStore::indexReverse(uint32_t slot, bool on) {
    StoredFlow& s = slots_[slot];
    if (on == s.reverseIndexed) return;
    s.reverseIndexed = on;
    if (!on) {
        if (findReverse(s.record.reverse) == slot) remove(byReverse_, slot, true);
        return;
    }
    // Two flows with one reply tuple would be a peer's error: the first keeps the index.
    if (findReverse(s.record.reverse) == kNone) add(byReverse_, slot, true);
}

uint32_t FlowStore::insert(const FlowRecord& record, Roles roles) {
    uint32_t slot;
    if (!free_.empty()) {
        slot = free_.back();
        free_.pop_back();
    } else {
        slot = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
    }
    slots_[slot] = StoredFlow{record, roles, false, 0};
    add(byForward_, slot, false);
    indexReverse(slot, wantsReverse(roles));
    ++size_;
    return slot;
}

void FlowStore::erase(uint32_t slot) {
    remove(byForward_, slot, false);
    indexReverse(slot, false);
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
    bool indexed = s.reverseIndexed;
    indexReverse(slot, false);
    s.record = record;
    indexReverse(slot, indexed);
}

void FlowStore::setRoles(uint32_t slot, Roles roles) {
    slots_[slot].roles = roles;
    indexReverse(slot, wantsReverse(roles));
}

void FlowStore::reserve(size_t records) {
    // Address space only: pages are touched as slots fill, and the slab never moves.
    slots_.reserve(records);
}

void FlowStore::clear() {
    slots_.clear();
    free_.clear();
    byForward_ = Index{};
    byReverse_ = Index{};
    size_ = 0;
}

}  // namespace ringgate::flows
