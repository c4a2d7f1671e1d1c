// The cluster datagram: one UDP payload of the reliable message layer (docs/CLUSTER.md has
// the byte layout). A versioned fixed header with lengths and a CRC-32, the fragment bytes,
// and, when the cluster has a shared key, an HMAC-SHA256 tag over everything before it.
// decodePacket checks every bound and says why it refused a datagram; it never throws.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringgate::cluster {

using NodeId = uint32_t;

constexpr uint16_t kPacketMagic = 0x5247;  // "RG"
constexpr uint8_t kPacketVersion = 1;
constexpr size_t kPacketHeaderSize = 56;
constexpr size_t kAuthTagSize = 32;
// Fits one Ethernet frame with the IPv4/UDP headers, the cluster header and the tag.
constexpr size_t kMaxFragmentPayload = 1200;
// Largest message the layer carries; bounds every receive buffer.
constexpr size_t kMaxMessageLength = 4u << 20;
constexpr size_t kMaxDatagramSize = kPacketHeaderSize + kMaxFragmentPayload + kAuthTagSize;

// Challenge and Response confirm a peer's epoch (and counter) before the receiver adopts it:
// the challenge goes to the peer's configured address with a random nonce (messageId), and
// only the real peer, answering from there with the nonce, can move its epoch forward.
enum class PacketKind : uint8_t { Data = 1, Ack = 2, Challenge = 3, Response = 4 };

struct PacketHeader {
    PacketKind kind = PacketKind::Data;
    uint8_t path = 0;          // subnet index the sender used (acks return on the same one)
    NodeId sender = 0;
    NodeId receiver = 0;
    uint64_t senderEpoch = 0;  // incarnation of the sender: grows on every restart
    uint64_t counter = 0;      // per-epoch datagram counter: the replay window's index
    uint64_t messageId = 0;    // per-epoch message number of the sender
    uint16_t fragmentIndex = 0;
    uint16_t fragmentCount = 1;
    uint32_t messageLength = 0;  // whole message, for reassembly bounds
};

struct Packet {
    PacketHeader header;
    std::span<const uint8_t> payload;  // points into the datagram
};

enum class PacketError : uint8_t {
    None,
    Truncated,
    BadMagic,
    BadVersion,
    BadLength,
    BadChecksum,
    BadKind,
    BadFragment,
    Unauthenticated,  // tag missing or wrong while the cluster has a shared key
};
std::string_view toString(PacketError error);

// An HMAC-SHA256 key; an empty key means "no authentication".
class AuthKey {
public:
    AuthKey() = default;
    explicit AuthKey(std::string_view secret) : key_(secret.begin(), secret.end()) {}
    bool enabled() const { return !key_.empty(); }
    std::array<uint8_t, kAuthTagSize> tag(std::span<const uint8_t> data) const;
    bool verify(std::span<const uint8_t> data, std::span<const uint8_t> tag) const;

private:
    std::vector<uint8_t> key_;
};

std::vector<uint8_t> encodePacket(const PacketHeader& header, std::span<const uint8_t> payload,
                                  const AuthKey& key);

struct DecodedPacket {
    PacketError error = PacketError::None;
    std::optional<Packet> packet;
};
DecodedPacket decodePacket(std::span<const uint8_t> datagram, const AuthKey& key);

uint32_t crc32(std::span<const uint8_t> data, uint32_t seed = 0);

}  // namespace ringgate::cluster
