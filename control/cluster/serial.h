// Serial-number arithmetic (RFC 1982) for the token's 32-bit sequence numbers: they start
// at a random value and wrap around, so "newer" means "ahead by less than half the space".
#pragma once

#include <cstdint>

namespace ringgate::cluster {

constexpr bool serialLess(uint32_t a, uint32_t b) {
    return a != b && static_cast<uint32_t>(b - a) < 0x80000000u;
}
constexpr bool serialGreater(uint32_t a, uint32_t b) { return serialLess(b, a); }

}  // namespace ringgate::cluster
