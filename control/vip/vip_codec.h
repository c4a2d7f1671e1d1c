// The VIP table and load carriages of the token train, as bytes (big-endian, versioned).
// Decoding checks every bound and value: a carriage from a hostile or broken peer is
// refused whole (the caller keeps its last good table and counts the refusal).
//
// VIP table carriage (carriage::kVipTable), version 1:
//   u8 version | u64 table version | u16 entries | entries x
//     (u32 address | u16 current | u16 preferred | u8 persistence | u16 moving_to | u8 flags)
//   | u16 drained | drained x u16 node          flags: bit 0 closed, others zero
// Load carriage (carriage::kNodeLoad), version 2:
//   u8 version | u16 nodes | nodes x (u16 node | u16 cpu permille | u16 vips |
//     vips x (u32 address | u64 bytes/s) | u16 withdrawn | withdrawn x u32 address)
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "control/vip/vip_table.h"

namespace ringgate::vip {

constexpr uint8_t kVipCarriageVersion = 2;  // 2: a fence (ms) on every VIP entry
constexpr uint8_t kLoadCarriageVersion = 2;  // 2: CPU and the monitors' withdrawn VIPs
constexpr uint32_t kMaxCpuPermille = 64'000;  // 64 CPUs busy
constexpr size_t kMaxVipEntries = 4096;
constexpr size_t kMaxLoadNodes = 1024;

std::vector<uint8_t> encodeVipTable(const VipTable& table);
std::vector<uint8_t> encodeLoadTable(const LoadTable& loads);

std::optional<VipTable> decodeVipTable(std::span<const uint8_t> bytes, std::string& error);
std::optional<LoadTable> decodeLoadTable(std::span<const uint8_t> bytes, std::string& error);

}  // namespace ringgate::vip
