#include "control/cluster/train.h"

#include <algorithm>
#include <unordered_set>

#include "control/cluster/byte_io.h"

namespace ringgate::cluster {

namespace {
constexpr uint16_t kFlagPermission = 0x0001;
}

bool newer(const Stamp& a, const Stamp& b) {
    if (a.generation != b.generation) return serialGreater(a.generation, b.generation);
    if (a.producer != b.producer) return a.producer > b.producer;
    return serialGreater(a.seq, b.seq);
}

std::string_view toString(Signal signal) {
    switch (signal) {
        case Signal::Token: return "token";
        case Signal::Emergency: return "911";
        case Signal::Join: return "join";
        case Signal::Probe: return "probe";
        case Signal::Passed: return "passed";
        case Signal::LeaseRequest: return "lease request";
        case Signal::LeaseGrant: return "lease grant";
    }
    return "?";
}

std::string_view carriage::name(uint16_t type) {
    switch (type) {
        case kVipTable: return "vip-table";
        case kNodeLoad: return "node-load";
        case kClusterConfig: return "cluster-config";
        case kConnections: return "connections";
        case kBackendPool: return "backend-pool";
        case kClusterName: return "cluster-name";
        case kTestPayload: return "test-payload";
    }
    return "unknown";
}

const std::vector<uint8_t>* Carriages::find(uint16_t type) const {
    auto it = std::lower_bound(list_.begin(), list_.end(), type,
                               [](const Carriage& c, uint16_t t) { return c.type < t; });
    return it != list_.end() && it->type == type ? &it->bytes : nullptr;
}

void Carriages::set(uint16_t type, std::vector<uint8_t> bytes) {
    auto it = std::lower_bound(list_.begin(), list_.end(), type,
                               [](const Carriage& c, uint16_t t) { return c.type < t; });
    if (it != list_.end() && it->type == type)
        it->bytes = std::move(bytes);
    else
        list_.insert(it, Carriage{type, std::move(bytes)});
}

void Carriages::erase(uint16_t type) {
    std::erase_if(list_, [type](const Carriage& c) { return c.type == type; });
}

std::string_view toString(TrainError error) {
    switch (error) {
        case TrainError::None: return "ok";
        case TrainError::Truncated: return "truncated";
        case TrainError::BadVersion: return "unsupported version";
        case TrainError::BadSignal: return "unknown signal";
        case TrainError::BadFlags: return "reserved flags set";
        case TrainError::TooManyMembers: return "too many members";
        case TrainError::BadMember: return "bad member list";
        case TrainError::TooManyCarriages: return "too many carriages";
        case TrainError::BadCarriage: return "bad carriage";
        case TrainError::TrailingBytes: return "trailing bytes";
    }
    return "?";
}

struct TrainCodec {
    static std::vector<Carriage>& list(Carriages& c) { return c.list_; }
};

std::vector<uint8_t> encodeTrain(const Train& t) {
    std::vector<uint8_t> out;
    ByteWriter w(out);
    w.u8(kTrainVersion);
    w.u8(static_cast<uint8_t>(t.signal));
    w.u16(t.permission ? kFlagPermission : 0);
    w.u64(t.ringId);
    w.u32(t.stamp.generation);
    w.u32(t.stamp.producer);
    w.u32(t.stamp.seq);
    w.u32(t.originator);
    w.u32(t.current);
    w.u32(t.destination);
    w.u16(static_cast<uint16_t>(t.members.size()));
    w.u16(static_cast<uint16_t>(t.carriages.size()));
    for (NodeId id : t.members) w.u32(id);
    for (const Carriage& c : t.carriages.all()) {
        w.u16(c.type);
        w.u16(0);
        w.u32(static_cast<uint32_t>(c.bytes.size()));
        w.bytes(c.bytes);
    }
    return out;
}

DecodedTrain decodeTrain(std::span<const uint8_t> bytes) {
    auto fail = [](TrainError e) { return DecodedTrain{e, std::nullopt}; };
    ByteReader r(bytes);
    Train t;
    uint8_t version = 0, signal = 0;
    uint16_t flags = 0, memberCount = 0, carriageCount = 0;
    if (!r.u8(version)) return fail(TrainError::Truncated);
    if (version != kTrainVersion) return fail(TrainError::BadVersion);
    if (!r.u8(signal) || !r.u16(flags) || !r.u64(t.ringId) || !r.u32(t.stamp.generation) ||
        !r.u32(t.stamp.producer) || !r.u32(t.stamp.seq) || !r.u32(t.originator) ||
        !r.u32(t.current) || !r.u32(t.destination) || !r.u16(memberCount) || !r.u16(carriageCount))
        return fail(TrainError::Truncated);
    if (signal < static_cast<uint8_t>(Signal::Token) || signal > static_cast<uint8_t>(Signal::LeaseGrant))
        return fail(TrainError::BadSignal);
    t.signal = static_cast<Signal>(signal);
    if (flags & ~kFlagPermission) return fail(TrainError::BadFlags);
    t.permission = flags & kFlagPermission;
    if (memberCount > kMaxMembers) return fail(TrainError::TooManyMembers);
    if (carriageCount > kMaxCarriages) return fail(TrainError::TooManyCarriages);
    // Checked before allocating, so a hostile count cannot make us reserve memory.
    if (r.remaining() < size_t{memberCount} * 4 + size_t{carriageCount} * 8)
        return fail(TrainError::Truncated);
    t.members.reserve(memberCount);
    std::unordered_set<NodeId> seen;
    for (uint16_t i = 0; i < memberCount; ++i) {
        NodeId id = 0;
        r.u32(id);
        if (id == 0 || !seen.insert(id).second) return fail(TrainError::BadMember);
        t.members.push_back(id);
    }
    auto& list = TrainCodec::list(t.carriages);
    for (uint16_t i = 0; i < carriageCount; ++i) {
        uint16_t type = 0, reserved = 0;
        uint32_t length = 0;
        std::span<const uint8_t> body;
        if (!r.u16(type) || !r.u16(reserved) || !r.u32(length) || !r.bytes(length, body))
            return fail(TrainError::Truncated);
        if (reserved != 0 || (!list.empty() && list.back().type >= type))
            return fail(TrainError::BadCarriage);
        list.push_back(Carriage{type, std::vector<uint8_t>(body.begin(), body.end())});
    }
    if (r.remaining() != 0) return fail(TrainError::TrailingBytes);
    return DecodedTrain{TrainError::None, std::move(t)};
}

}  // namespace ringgate::cluster
