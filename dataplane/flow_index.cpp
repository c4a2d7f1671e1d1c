#include "dataplane/flow_index.h"

#include <algorithm>

#include "common/hash.h"

namespace ringgate::dataplane {

Expected<FlowIndex> FlowIndex::create(size_t keys, uint64_t seed) {
    // 3 keys a bucket at capacity (why: flow_index.h).
    size_t buckets = std::max<size_t>((keys + 2) / 3, 2 * kNeighbourhood);
    if (buckets >= UINT32_MAX) return makeError("connection index: " + std::to_string(keys) + " keys is too many");
    auto memory = HugeMemory::map(buckets * sizeof(Bucket), "the connection index");
    if (!memory) return memory.error();
    FlowIndex index;
    index.memory_ = std::move(*memory);
    index.buckets_ = static_cast<Bucket*>(index.memory_.data());  // zeroed: every slot empty
    index.bucketCount_ = static_cast<uint32_t>(buckets);
    for (uint64_t& s : index.seed_) s = mix64(seed += 0x9E3779B97F4A7C15ULL);
    return index;
}

bool FlowIndex::insert(Position pos, uint32_t value) {
    uint64_t word = uint64_t{pos.signature} << 32 | value;
    uint32_t b = pos.home;
    bool counted = false;
    for (unsigned n = 0; n < kNeighbourhood; ++n) {
        Bucket& bucket = buckets_[b];
        for (unsigned s = 0; s < kSlots; ++s) {
            std::atomic_ref<uint64_t> slot(bucket.slots[s]);
            if (slot.load(std::memory_order_relaxed) != 0) continue;
            // Counted before the slot appears, so that a reader that finds the key outside
            // its home bucket had a reason to look there.
            if (n > 0 && !counted) {
                std::atomic_ref<uint32_t>(buckets_[pos.home].overflow).fetch_add(1, std::memory_order_relaxed);
                counted = true;
            }
            uint64_t empty = 0;
            if (slot.compare_exchange_strong(empty, word, std::memory_order_release, std::memory_order_relaxed))
                return true;
            // Another writer took it: try the next slot.
        }
        b = next(b);
    }
    if (counted) std::atomic_ref<uint32_t>(buckets_[pos.home].overflow).fetch_sub(1, std::memory_order_relaxed);
    return false;
}

bool FlowIndex::erase(Position pos, uint32_t value) {
    uint64_t word = uint64_t{pos.signature} << 32 | value;
    uint32_t b = pos.home;
    for (unsigned n = 0; n < kNeighbourhood; ++n) {
        Bucket& bucket = buckets_[b];
        for (unsigned s = 0; s < kSlots; ++s) {
            std::atomic_ref<uint64_t> slot(bucket.slots[s]);
            if (slot.load(std::memory_order_relaxed) != word) continue;
            slot.store(0, std::memory_order_release);
            if (n > 0)
                std::atomic_ref<uint32_t>(buckets_[pos.home].overflow).fetch_sub(1, std::memory_order_relaxed);
            return true;
        }
        b = next(b);
    }
    return false;
}

}  // namespace ringgate::dataplane
