#include "control/cluster/packet.h"

#include <algorithm>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "control/cluster/byte_io.h"

namespace ringgate::cluster {

namespace {

constexpr size_t kChecksumOffset = 52;
constexpr uint8_t kFlagAuthenticated = 0x01;

struct CrcTable {
    uint32_t entries[256];
    constexpr CrcTable() : entries{} {
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            entries[i] = c;
        }
    }
};
constexpr CrcTable kCrcTable;

// CRC over the datagram with the checksum field read as zero.
uint32_t packetChecksum(std::span<const uint8_t> covered) {
    static constexpr uint8_t kZero[4] = {0, 0, 0, 0};
    uint32_t crc = crc32(covered.first(kChecksumOffset));
    crc = crc32(kZero, crc);
    return crc32(covered.subspan(kChecksumOffset + 4), crc);
}

}  // namespace

uint32_t crc32(std::span<const uint8_t> data, uint32_t seed) {
    uint32_t c = ~seed;
    for (uint8_t byte : data) c = kCrcTable.entries[(c ^ byte) & 0xFF] ^ (c >> 8);
    return ~c;
}

std::string_view toString(PacketError error) {
    switch (error) {
        case PacketError::None: return "ok";
        case PacketError::Truncated: return "truncated";
        case PacketError::BadMagic: return "bad magic";
        case PacketError::BadVersion: return "unsupported version";
        case PacketError::BadLength: return "length mismatch";
        case PacketError::BadChecksum: return "bad checksum";
        case PacketError::BadKind: return "unknown kind";
        case PacketError::BadFragment: return "bad fragment numbers";
        case PacketError::Unauthenticated: return "unauthenticated";
    }
    return "?";
}

std::array<uint8_t, kAuthTagSize> AuthKey::tag(std::span<const uint8_t> data) const {
    std::array<uint8_t, kAuthTagSize> out{};
    unsigned int length = 0;
    HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), data.data(), data.size(),
         out.data(), &length);
    return out;
}

bool AuthKey::verify(std::span<const uint8_t> data, std::span<const uint8_t> tagBytes) const {
    if (tagBytes.size() != kAuthTagSize) return false;
    auto expected = tag(data);
    return CRYPTO_memcmp(expected.data(), tagBytes.data(), kAuthTagSize) == 0;
}

std::vector<uint8_t> encodePacket(const PacketHeader& h, std::span<const uint8_t> payload,
                                  const AuthKey& key) {
    std::vector<uint8_t> out;
    out.reserve(kPacketHeaderSize + payload.size() + (key.enabled() ? kAuthTagSize : 0));
    ByteWriter w(out);
    w.u16(kPacketMagic);
    w.u8(kPacketVersion);
    w.u8(static_cast<uint8_t>(h.kind));
    w.u16(static_cast<uint16_t>(kPacketHeaderSize));
    w.u16(static_cast<uint16_t>(payload.size()));
    w.u32(h.sender);
    w.u32(h.receiver);
    w.u64(h.senderEpoch);
    w.u64(h.counter);
    w.u64(h.messageId);
    w.u16(h.fragmentIndex);
    w.u16(h.fragmentCount);
    w.u32(h.messageLength);
    w.u8(key.enabled() ? kFlagAuthenticated : 0);
    w.u8(h.path);
    w.u16(0);
    w.u32(0);  // checksum, patched below
    w.bytes(payload);
    w.patchU32(kChecksumOffset, packetChecksum(out));
    if (key.enabled()) {
        auto t = key.tag(out);
        w.bytes(t);
    }
    return out;
}

DecodedPacket decodePacket(std::span<const uint8_t> datagram, const AuthKey& key) {
    auto fail = [](PacketError e) { return DecodedPacket{e, std::nullopt}; };
    if (datagram.size() < kPacketHeaderSize) return fail(PacketError::Truncated);
    ByteReader r(datagram);
    uint16_t magic = 0, headerLength = 0, payloadLength = 0, reserved = 0;
    uint8_t version = 0, kind = 0, flags = 0;
    uint32_t checksum = 0;
    Packet p;
    PacketHeader& h = p.header;
    r.u16(magic);
    r.u8(version);
    r.u8(kind);
    r.u16(headerLength);
    r.u16(payloadLength);
    r.u32(h.sender);
    r.u32(h.receiver);
    r.u64(h.senderEpoch);
    r.u64(h.counter);
    r.u64(h.messageId);
    r.u16(h.fragmentIndex);
    r.u16(h.fragmentCount);
    r.u32(h.messageLength);
    r.u8(flags);
    r.u8(h.path);
    r.u16(reserved);
    r.u32(checksum);
    if (magic != kPacketMagic) return fail(PacketError::BadMagic);
    if (version != kPacketVersion) return fail(PacketError::BadVersion);
    if (headerLength != kPacketHeaderSize || reserved != 0 || (flags & ~kFlagAuthenticated))
        return fail(PacketError::BadLength);
    bool tagged = flags & kFlagAuthenticated;
    size_t covered = kPacketHeaderSize + payloadLength;
    if (datagram.size() != covered + (tagged ? kAuthTagSize : 0)) return fail(PacketError::BadLength);
    if (packetChecksum(datagram.first(covered)) != checksum) return fail(PacketError::BadChecksum);
    if (key.enabled() && (!tagged || !key.verify(datagram.first(covered), datagram.subspan(covered))))
        return fail(PacketError::Unauthenticated);
    h.kind = static_cast<PacketKind>(kind);
    switch (h.kind) {
        case PacketKind::Data:
            // Every fragment but the last is full, so index and length fix the offset.
            if (h.messageLength == 0 || h.messageLength > kMaxMessageLength ||
                h.fragmentCount != (h.messageLength + kMaxFragmentPayload - 1) / kMaxFragmentPayload ||
                h.fragmentIndex >= h.fragmentCount ||
                payloadLength != std::min<uint64_t>(kMaxFragmentPayload,
                                                    h.messageLength - uint64_t{h.fragmentIndex} * kMaxFragmentPayload))
                return fail(PacketError::BadFragment);
            break;
        case PacketKind::Ack:
        case PacketKind::Challenge:
        case PacketKind::Response:
            if (payloadLength != 0) return fail(PacketError::BadLength);
            break;
        default:
            return fail(PacketError::BadKind);
    }
    p.payload = datagram.subspan(kPacketHeaderSize, payloadLength);
    return DecodedPacket{PacketError::None, p};
}

}  // namespace ringgate::cluster
