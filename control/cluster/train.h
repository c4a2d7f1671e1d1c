// The token train (seed 004, Figures 7 and 22): a locomotive that carries the group
// membership, pulling typed carriages that other components fill and read. The locomotive
// never needs to change when a component adds a carriage type: a carriage is
// (type, length, bytes), and carriages of unknown types travel on untouched.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "control/cluster/packet.h"
#include "control/cluster/serial.h"

namespace ringgate::cluster {

enum class Signal : uint8_t {
    Token = 1,
    Emergency = 2,  // the seed's "911": token maybe lost, or a node asking to join
    Join = 3,       // a starting node asking a live member to add it
    Probe = 4,      // a ring's token holder looking for configured nodes outside its ring
    Passed = 5,     // "I have passed the token on": ends the predecessor's watch
    LeaseRequest = 6,  // to the ring predecessor: "may I go on answering for my VIPs?"
    LeaseGrant = 7,    // its answer: yes, counted from when the request was sent
};
std::string_view toString(Signal signal);

// Orders the messages of one ring. generation grows when a token is regenerated or sent on
// past a dead destination (with the producing node breaking ties), so a stale copy always
// loses against the live token; seq grows by one at every hop and wraps around.
struct Stamp {
    uint32_t generation = 0;
    NodeId producer = 0;
    uint32_t seq = 0;
    bool operator==(const Stamp&) const = default;
};
bool newer(const Stamp& a, const Stamp& b);  // a is newer than b

// Carriage types of the components that ride the train. Values are on the wire: never reuse.
namespace carriage {
constexpr uint16_t kVipTable = 1;
constexpr uint16_t kNodeLoad = 2;
constexpr uint16_t kClusterConfig = 3;
constexpr uint16_t kConnections = 4;
constexpr uint16_t kBackendPool = 5;
constexpr uint16_t kClusterName = 6;  // on every train this node sends: a node of another cluster is refused
constexpr uint16_t kTestPayload = 0x7fff;  // simulation and unit tests
std::string_view name(uint16_t type);
}  // namespace carriage

struct Carriage {
    uint16_t type = 0;
    std::vector<uint8_t> bytes;
    bool operator==(const Carriage&) const = default;
};

// The carriages of one train, at most one per type, in type order.
class Carriages {
public:
    const std::vector<uint8_t>* find(uint16_t type) const;
    void set(uint16_t type, std::vector<uint8_t> bytes);
    void erase(uint16_t type);
    const std::vector<Carriage>& all() const { return list_; }
    size_t size() const { return list_.size(); }
    bool operator==(const Carriages&) const = default;

private:
    friend struct TrainCodec;
    std::vector<Carriage> list_;
};

struct Train {
    Signal signal = Signal::Token;
    bool permission = false;  // 911: no node has seen a newer token
    uint64_t ringId = 0;      // which ring this token belongs to (rings merge toward the lowest)
    Stamp stamp;
    NodeId originator = 0;    // 911/join/probe: the node that sent it first
    NodeId current = 0;       // the node sending it now
    NodeId destination = 0;   // the node it is sent to
    std::vector<NodeId> members;  // ring order
    Carriages carriages;
    bool operator==(const Train&) const = default;
};

constexpr uint8_t kTrainVersion = 1;
constexpr size_t kMaxMembers = 4096;
constexpr size_t kMaxCarriages = 1024;

enum class TrainError : uint8_t {
    None,
    Truncated,
    BadVersion,
    BadSignal,
    BadFlags,
    TooManyMembers,
    BadMember,     // node id 0 or listed twice
    TooManyCarriages,
    BadCarriage,   // type listed twice, out of order, or reserved bits set
    TrailingBytes,
};
std::string_view toString(TrainError error);

std::vector<uint8_t> encodeTrain(const Train& train);

struct DecodedTrain {
    TrainError error = TrainError::None;
    std::optional<Train> train;
};
DecodedTrain decodeTrain(std::span<const uint8_t> bytes);

}  // namespace ringgate::cluster
