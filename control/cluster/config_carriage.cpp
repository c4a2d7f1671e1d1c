#include "control/cluster/config_carriage.h"

#include <openssl/sha.h>

#include <algorithm>

#include "control/cluster/byte_io.h"

namespace ringgate::cluster {

ConfigDigest digestOf(std::string_view text) {
    ConfigDigest digest{};
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
    return digest;
}

std::string shortHex(const ConfigDigest& digest) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < 8; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 15];
    }
    return out;
}

std::string_view toString(ConfigCarriageError error) {
    switch (error) {
        case ConfigCarriageError::None: return "ok";
        case ConfigCarriageError::Truncated: return "truncated";
        case ConfigCarriageError::FutureFormat: return "future format";
        case ConfigCarriageError::Oversized: return "oversized";
        case ConfigCarriageError::BadChunk: return "bad chunk";
        case ConfigCarriageError::TrailingBytes: return "trailing bytes";
    }
    return "?";
}

size_t chunkCountFor(size_t totalBytes) { return (totalBytes + kConfigChunkBytes - 1) / kConfigChunkBytes; }

ConfigChunk chunkOf(std::string_view clusterName, uint64_t version, const ConfigDigest& digest,
                    std::string_view text, uint16_t index) {
    ConfigChunk chunk;
    chunk.clusterName = std::string(clusterName);
    chunk.version = version;
    chunk.digest = digest;
    chunk.totalBytes = static_cast<uint32_t>(text.size());
    chunk.count = static_cast<uint16_t>(std::max<size_t>(1, chunkCountFor(text.size())));
    chunk.index = static_cast<uint16_t>(index % chunk.count);
    size_t from = size_t{chunk.index} * kConfigChunkBytes;
    size_t length = std::min(kConfigChunkBytes, text.size() - std::min(from, text.size()));
    chunk.bytes.assign(text.begin() + static_cast<ptrdiff_t>(from),
                       text.begin() + static_cast<ptrdiff_t>(from + length));
    return chunk;
}

std::vector<uint8_t> encodeConfigChunk(const ConfigChunk& c) {
    std::vector<uint8_t> out;
    ByteWriter w(out);
    w.u8(kConfigCarriageFormat);
    w.u8(static_cast<uint8_t>(c.clusterName.size()));
    w.bytes(std::span(reinterpret_cast<const uint8_t*>(c.clusterName.data()), c.clusterName.size()));
    w.u64(c.version);
    w.bytes(c.digest);
    w.u32(c.totalBytes);
    w.u16(c.index);
    w.u16(c.count);
    w.u32(static_cast<uint32_t>(c.bytes.size()));
    w.bytes(c.bytes);
    return out;
}

DecodedConfigChunk decodeConfigChunk(std::span<const uint8_t> bytes) {
    auto fail = [](ConfigCarriageError e) { return DecodedConfigChunk{e, std::nullopt}; };
    ByteReader r(bytes);
    ConfigChunk c;
    uint8_t format = 0, nameLength = 0;
    uint32_t length = 0;
    std::span<const uint8_t> name, digest, body;
    if (!r.u8(format)) return fail(ConfigCarriageError::Truncated);
    // Format 0 was never sent: only a larger number is a newer ringgated's.
    if (format > kConfigCarriageFormat) return fail(ConfigCarriageError::FutureFormat);
    if (format != kConfigCarriageFormat) return fail(ConfigCarriageError::BadChunk);
    if (!r.u8(nameLength) || !r.bytes(nameLength, name) || !r.u64(c.version) || !r.bytes(32, digest) ||
        !r.u32(c.totalBytes) || !r.u16(c.index) || !r.u16(c.count) || !r.u32(length))
        return fail(ConfigCarriageError::Truncated);
    if (c.totalBytes > kMaxSharedConfigBytes) return fail(ConfigCarriageError::Oversized);
    // Checked before copying, so a hostile length cannot make us allocate.
    if (length > kConfigChunkBytes) return fail(ConfigCarriageError::BadChunk);
    if (!r.bytes(length, body)) return fail(ConfigCarriageError::Truncated);
    if (r.remaining() != 0) return fail(ConfigCarriageError::TrailingBytes);
    size_t count = chunkCountFor(c.totalBytes);
    bool lastChunk = size_t{c.index} + 1 == count;
    size_t expected = lastChunk ? c.totalBytes - size_t{c.index} * kConfigChunkBytes : kConfigChunkBytes;
    if (nameLength == 0 || c.totalBytes == 0 || c.count != count || c.index >= c.count || length != expected)
        return fail(ConfigCarriageError::BadChunk);
    c.clusterName.assign(name.begin(), name.end());
    std::copy(digest.begin(), digest.end(), c.digest.begin());
    c.bytes.assign(body.begin(), body.end());
    return DecodedConfigChunk{ConfigCarriageError::None, std::move(c)};
}

}  // namespace ringgate::cluster
