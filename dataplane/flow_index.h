// The connection table's index: FlowKey -> a 32-bit value (the connection table stores
// an entry index and a direction bit), lock-free for readers and writers.
//
// Layout: an array of 64-byte buckets, each one cache line of seven 64-bit slots and an
// overflow count. A slot is one word, `signature << 32 | value`, 0 when empty; the
// signature is 31 bits of the key's hash with bit 31 set, so a used slot is never 0. The
// key itself is not in the index: the caller's `keyOf(value)` finds it (the connection
// entry, which the caller reads next anyway), so a hit costs one bucket line and the
// entry line, where rte_hash reads two buckets and a separate key line.
//
// Why each choice:
// - Slot = one aligned 64-bit word, published by one CAS (release) and read by one load
//   (acquire): a reader sees either nothing or a complete slot, never half of one, and the
//   entry the slot names was fully written before the slot appeared. No locks, no
//   sequence counters.
// - Keys never move once placed (no cuckoo displacement): a reader can never miss a key
//   that was present for its whole lookup, so readers need no change counter or retry.
// - Collisions go to the next buckets (home + up to kNeighbourhood - 1, wrapping), and the
//   home bucket counts its keys stored elsewhere (F14's outbound overflow count, folly
//   F14Table.h): a lookup whose key is not in its home bucket stops there when the count
//   is 0, so almost every hit and miss costs one bucket line. Removal clears the slot and
//   decrements the count: no tombstones, so the index never degrades with churn.
// - The neighbourhood is bounded: an insert or lookup reads at most 8 lines, and a full
//   neighbourhood is refused (reported, counted by the caller) instead of searching on.
//   The index is sized for 3 keys a bucket (43 % of the slots) at the configured
//   capacity: a simulation of 32 M random keys at that load puts 98.8 % in their home
//   bucket and none further than 5 buckets from it, so a refusal is vanishingly rare for
//   random keys (tests/dataplane/flow_index_test.cpp fills to capacity; a flood aimed at
//   one neighbourhood would need the seed, below). Half-full buckets (3.5 keys) save 6
//   bytes a flow but reach 8 buckets from home at 32 M keys.
// - The hash is keyed with a per-process random seed: nothing outside this process sees
//   it, and a peer that picks 5-tuples cannot aim them at one neighbourhood.
// - Any thread may insert (CAS on an empty slot; a lost race moves on to the next slot);
//   only the thread that inserted a value erases it, with a plain store of 0, because
//   the slot holding a value is found by its exact word and nobody else writes a used
//   slot. Reusing a cleared slot at once is safe: what must wait for readers is the
//   entry the value names, which the connection table frees only after an RCU grace
//   period.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/expected.h"
#include "dataplane/flow.h"
#include "dataplane/huge_memory.h"

namespace ringgate::dataplane {

class FlowIndex {
public:
    static constexpr unsigned kSlots = 7;          // per bucket: 7 words + the overflow count = 64 bytes
    static constexpr unsigned kNeighbourhood = 8;  // buckets a key may live in: its home and the 7 next
    static constexpr unsigned kBulkMax = 64;
    static constexpr uint32_t kNone = UINT32_MAX;  // "not found"; never a stored value

    struct Position {
        uint32_t home = 0;       // bucket
        uint32_t signature = 0;  // bit 31 set
    };

    // An index for up to `keys` keys: 3 a bucket on average when it holds that many.
    static Expected<FlowIndex> create(size_t keys, uint64_t seed);

    Position position(const FlowKey& key) const {
        uint64_t a = uint64_t{key.src} << 32 | key.dst;
        uint64_t b = uint64_t{key.srcPort} << 24 | uint64_t{key.dstPort} << 8 | key.proto;
        uint64_t h = mum(mum(a ^ seed_[0], b ^ seed_[1]) ^ seed_[2], 0x9E3779B97F4A7C15ULL);
        return {static_cast<uint32_t>((h & 0xffffffffULL) * bucketCount_ >> 32),
                static_cast<uint32_t>(h >> 32) | 0x80000000u};
    }

    // The value stored for `key`, or kNone. `keyOf(value)` returns the key the value
    // stands for (a reference to the caller's copy).
    template <typename KeyOf>
    uint32_t find(const FlowKey& key, Position pos, const KeyOf& keyOf) const;

    // Up to kBulkMax keys at once, their bucket loads overlapped: hashes and bucket
    // prefetches for all keys first, then signature matches (calling `prefetch(value)` for
    // each candidate so that the caller's entries come in together), then key checks.
    // Returns a mask of hits; `values` holds their values.
    template <typename KeyOf, typename Prefetch>
    uint64_t findBulk(const FlowKey* const* keys, unsigned count, uint32_t* values, const KeyOf& keyOf,
                      const Prefetch& prefetch) const;

    // Starts loading the key's home bucket (before an erase of several keys).
    void prefetch(Position pos) const { __builtin_prefetch(&buckets_[pos.home]); }

    // Any thread. False when the key's neighbourhood is full. `value` must not be kNone.
    bool insert(Position pos, uint32_t value);
    // Only the thread that inserted `value` at `pos`. False if it is not there.
    bool erase(Position pos, uint32_t value);

    size_t bucketCount() const { return bucketCount_; }
    size_t memoryBytes() const { return memory_.bytes(); }

private:
    struct Bucket {
        uint64_t slots[kSlots];
        uint32_t overflow;  // keys whose home is this bucket, stored in a later one
        uint32_t unused;
    };
    static_assert(sizeof(Bucket) == 64);

    static uint64_t mum(uint64_t a, uint64_t b) {
        __extension__ using Wide = unsigned __int128;
        Wide product = static_cast<Wide>(a) * b;
        return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
    }
    static uint64_t load(const uint64_t& slot) {
        return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(slot)).load(std::memory_order_acquire);
    }
    static uint32_t overflowOf(const Bucket& bucket) {
        return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(bucket.overflow)).load(std::memory_order_relaxed);
    }
    uint32_t next(uint32_t bucket) const { return bucket + 1 == bucketCount_ ? 0 : bucket + 1; }
    // Bit s set: slot s's signature is `signature` (a hint, confirmed by an atomic load).
    // All seven slots without a branch per slot: where a match sits is random, and a
    // mispredicted exit from a slot loop costs more than reading the line. With SSE2,
    // the four 16-byte quarters of the line, their signature halves compared at once.
    static unsigned signatureMatches(const Bucket& bucket, uint32_t signature) {
#ifdef __SSE2__
        const auto* lines = reinterpret_cast<const __m128i*>(&bucket);
        __m128 q0 = _mm_castsi128_ps(_mm_load_si128(lines + 0));  // slots 0, 1
        __m128 q1 = _mm_castsi128_ps(_mm_load_si128(lines + 1));  // slots 2, 3
        __m128 q2 = _mm_castsi128_ps(_mm_load_si128(lines + 2));  // slots 4, 5
        __m128 q3 = _mm_castsi128_ps(_mm_load_si128(lines + 3));  // slot 6, overflow, unused
        // The high halves (odd 32-bit lanes) are the signatures: slots 0-3, then 4-6 and
        // the unused word, masked off.
        __m128i low = _mm_castps_si128(_mm_shuffle_ps(q0, q1, _MM_SHUFFLE(3, 1, 3, 1)));
        __m128i high = _mm_castps_si128(_mm_shuffle_ps(q2, q3, _MM_SHUFFLE(3, 1, 3, 1)));
        __m128i want = _mm_set1_epi32(static_cast<int>(signature));
        unsigned matches = static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(low, want)))) |
                           static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(high, want))))
                               << 4;
        return matches & 0x7f;
#else
        unsigned matches = 0;
        for (unsigned s = 0; s < kSlots; ++s)
            matches |= static_cast<unsigned>(static_cast<uint32_t>(load(bucket.slots[s]) >> 32) == signature) << s;
        return matches;
#endif
    }

    HugeMemory memory_;
    Bucket* buckets_ = nullptr;
    uint32_t bucketCount_ = 0;
    uint64_t seed_[3] = {};
};

template <typename KeyOf>
uint32_t FlowIndex::find(const FlowKey& key, Position pos, const KeyOf& keyOf) const {
    uint32_t b = pos.home;
    for (unsigned n = 0; n < kNeighbourhood; ++n) {
        const Bucket& bucket = buckets_[b];
        for (unsigned s = 0; s < kSlots; ++s) {
            uint64_t word = load(bucket.slots[s]);
            if (static_cast<uint32_t>(word >> 32) == pos.signature && keyOf(static_cast<uint32_t>(word)) == key)
                return static_cast<uint32_t>(word);
        }
        if (n == 0 && overflowOf(bucket) == 0) break;
        b = next(b);
    }
    return kNone;
}

template <typename KeyOf, typename Prefetch>
uint64_t FlowIndex::findBulk(const FlowKey* const* keys, unsigned count, uint32_t* values, const KeyOf& keyOf,
                             const Prefetch& prefetch) const {
    Position pos[kBulkMax];
    for (unsigned i = 0; i < count; ++i) {
        pos[i] = position(*keys[i]);
        __builtin_prefetch(&buckets_[pos[i].home]);
    }
    // A candidate: the first slot of the home bucket whose signature matches. Anything
    // else (no match but keys overflowed from the home bucket, or a signature match that
    // was another key) takes the full search.
    uint64_t candidates = 0, again = 0;
    for (unsigned i = 0; i < count; ++i) {
        const Bucket& bucket = buckets_[pos[i].home];
        unsigned matches = signatureMatches(bucket, pos[i].signature);
        values[i] = kNone;
        // The matching slot again, by one atomic load: the value (and the signature,
        // checked again) come from a whole slot even if a writer changed it meanwhile.
        uint64_t word = matches ? load(bucket.slots[__builtin_ctz(matches)]) : 0;
        if (static_cast<uint32_t>(word >> 32) == pos[i].signature) {
            values[i] = static_cast<uint32_t>(word);
            prefetch(values[i]);
            candidates |= uint64_t{1} << i;
        } else if (matches != 0 || overflowOf(bucket) != 0) {
            again |= uint64_t{1} << i;
        }
    }
    uint64_t hits = 0;
    for (uint64_t m = candidates; m; m &= m - 1) {
        unsigned i = static_cast<unsigned>(__builtin_ctzll(m));
        if (keyOf(values[i]) == *keys[i]) hits |= uint64_t{1} << i;
        else again |= uint64_t{1} << i;
    }
    for (uint64_t m = again; m; m &= m - 1) {
        unsigned i = static_cast<unsigned>(__builtin_ctzll(m));
        values[i] = find(*keys[i], pos[i], keyOf);
        if (values[i] != kNone) hits |= uint64_t{1} << i;
    }
    return hits;
}

}  // namespace ringgate::dataplane
