// Deterministic hashes that every node computes identically (no per-process seeds, no
// std::hash): Maglev permutations, flow -> table slot, and the flows' authoritative node
// all depend on every gateway getting the same answer.
#pragma once

#include <cstdint>

namespace ringgate {

// The 64-bit finaliser of MurmurHash3: cheap and mixes every input bit into every output bit.
constexpr uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

}  // namespace ringgate
