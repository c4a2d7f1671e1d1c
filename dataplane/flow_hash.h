// Deterministic hashes that every node computes identically (no per-process seeds, no
// std::hash): the Maglev permutations and the flow -> table slot mapping depend on them.
#pragma once

#include <cstdint>

#include "common/hash.h"

namespace ringgate::dataplane {

// A flow's 5-tuple as the client sent it; selects the Maglev slot of a new flow.
constexpr uint32_t flowHash(uint32_t src, uint32_t dst, uint16_t srcPort, uint16_t dstPort,
                            uint8_t proto) {
    uint64_t a = uint64_t{src} << 32 | dst;
    uint64_t b = uint64_t{srcPort} << 32 | uint64_t{dstPort} << 16 | proto;
    return static_cast<uint32_t>(mix64(a ^ mix64(b + 0x9e3779b97f4a7c15ULL)));
}

}  // namespace ringgate::dataplane
