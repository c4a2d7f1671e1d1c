// The cluster configuration on the token (WO 00/62502: "a version control number in the
// configuration data file ... shared via the state sharing token"): the kClusterConfig
// carriage carries the configuration file's text with its version and SHA-256 digest, in
// chunks of kConfigChunkBytes so that a large file never makes the token large; each
// token visit carries one chunk and receivers reassemble the file. Sans-I/O codec.
//
// Layout (big-endian): format u8 (1) | name length u8 | cluster name | version u64 |
// digest [32] | total bytes u32 | chunk index u16 | chunk count u16 | chunk length u32 |
// chunk bytes. Every chunk but the last is exactly kConfigChunkBytes long, so the chunk
// count follows from the total and a receiver can check each chunk on its own.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringgate::cluster {

constexpr uint8_t kConfigCarriageFormat = 1;
constexpr size_t kConfigChunkBytes = 1024;
// Bound of a shared configuration: a real cluster's file is a few KiB; the bound keeps a
// hostile carriage from making every node reserve memory for a reassembly.
constexpr size_t kMaxSharedConfigBytes = 1u << 20;

using ConfigDigest = std::array<uint8_t, 32>;
ConfigDigest digestOf(std::string_view text);  // SHA-256
std::string shortHex(const ConfigDigest& digest);  // first 8 bytes, 16 hex digits: what operators compare

struct ConfigChunk {
    std::string clusterName;
    uint64_t version = 0;
    ConfigDigest digest{};
    uint32_t totalBytes = 0;
    uint16_t index = 0;
    uint16_t count = 1;
    std::vector<uint8_t> bytes;
    bool operator==(const ConfigChunk&) const = default;
};

enum class ConfigCarriageError : uint8_t {
    None,
    Truncated,
    FutureFormat,  // a newer ringgated's layout: left on the token untouched
    Oversized,     // total beyond kMaxSharedConfigBytes
    BadChunk,      // count, index or length inconsistent with the total, empty config, bad name
    TrailingBytes,
};
std::string_view toString(ConfigCarriageError error);

size_t chunkCountFor(size_t totalBytes);
// Chunk `index` of `text` (which must fit kMaxSharedConfigBytes).
ConfigChunk chunkOf(std::string_view clusterName, uint64_t version, const ConfigDigest& digest,
                    std::string_view text, uint16_t index);

std::vector<uint8_t> encodeConfigChunk(const ConfigChunk& chunk);

struct DecodedConfigChunk {
    ConfigCarriageError error = ConfigCarriageError::None;
    std::optional<ConfigChunk> chunk;
};
DecodedConfigChunk decodeConfigChunk(std::span<const uint8_t> bytes);

}  // namespace ringgate::cluster
