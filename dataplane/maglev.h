// Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table in which every
// back end owns about the same share of slots (weighted), computed only from the back
// ends' identities so that every node given the same live set builds the same table,
// and removing one back end reassigns mostly the slots it owned.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace ringgate::dataplane {

struct MaglevBackend {
    uint32_t address = 0;  // host byte order
    uint16_t port = 0;
    uint32_t weight = 1;   // relative share; 0 takes no slots
};

// Table sizes must be prime (the permutation needs skip coprime with size).
constexpr uint32_t kMaglevDefaultSize = 65537;
constexpr uint16_t kMaglevNoBackend = 0xffff;

// Returns `tableSize` entries, each an index into `backends` (whatever their order:
// the result depends only on the set), or all kMaglevNoBackend when no back end has a
// weight. Up to 65535 back ends.
std::vector<uint16_t> buildMaglevTable(std::span<const MaglevBackend> backends,
                                       uint32_t tableSize = kMaglevDefaultSize);

}  // namespace ringgate::dataplane
