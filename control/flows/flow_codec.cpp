#include "control/flows/flow_codec.h"

#include <cstring>

namespace ringgate::flows {

namespace {

constexpr uint8_t kFlagAuthenticated = 0x01;
constexpr size_t kCountOffset = 6;
constexpr size_t kFlagsOffset = 4;

// Big-endian stores and loads at fixed offsets: every bound is checked once per datagram,
// not per field, which keeps the per-record cost to a few moves.
inline void put16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
inline void put32(uint8_t* p, uint32_t v) {
    p[0] = uint8_t(v >> 24); p[1] = uint8_t(v >> 16); p[2] = uint8_t(v >> 8); p[3] = uint8_t(v);
}
inline void put64(uint8_t* p, uint64_t v) { put32(p, uint32_t(v >> 32)); put32(p + 4, uint32_t(v)); }
inline uint16_t get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t get32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint64_t get64(const uint8_t* p) { return uint64_t{get32(p)} << 32 | get32(p + 4); }

inline void putTuple(uint8_t* p, const FlowTuple& t) {
    put32(p, t.src);
    put32(p + 4, t.dst);
    put16(p + 8, t.srcPort);
    put16(p + 10, t.dstPort);
    p[12] = t.proto;
}
inline FlowTuple getTuple(const uint8_t* p) {
    return FlowTuple{get32(p), get32(p + 4), get16(p + 8), get16(p + 10), p[12]};
}

bool recordFitsKind(DatagramKind kind, RecordOp op) {
    switch (kind) {
        case DatagramKind::Data: return op == RecordOp::Upsert || op == RecordOp::End;
        case DatagramKind::Transfer:
        case DatagramKind::TransferEnd:
        case DatagramKind::ResyncBegin:
        case DatagramKind::ResyncEnd:
        case DatagramKind::Answer: return op == RecordOp::Upsert;
        case DatagramKind::Ask: return op == RecordOp::Query;
        default: return false;
    }
}

bool countFitsKind(DatagramKind kind, size_t count) {
    switch (kind) {
        case DatagramKind::Pull:
        case DatagramKind::Ack:
        case DatagramKind::Nack: return count == 0;
        case DatagramKind::ResyncBegin:  // a resync of nothing: "forget all of mine"
        case DatagramKind::ResyncEnd:
        case DatagramKind::TransferEnd: return true;  // a VIP with nothing (more) to send
        default: return count > 0;
    }
}

}  // namespace

std::string_view toString(DatagramKind kind) {
    switch (kind) {
        case DatagramKind::Data: return "data";
        case DatagramKind::Transfer: return "transfer";
        case DatagramKind::Pull: return "pull";
        case DatagramKind::ResyncBegin: return "resync-begin";
        case DatagramKind::ResyncEnd: return "resync-end";
        case DatagramKind::Ack: return "ack";
        case DatagramKind::Nack: return "nack";
        case DatagramKind::Ask: return "ask";
        case DatagramKind::Answer: return "answer";
        case DatagramKind::TransferEnd: return "transfer-end";
    }
    return "?";
}

std::string_view toString(DecodeError error) {
    switch (error) {
        case DecodeError::None: return "ok";
        case DecodeError::Truncated: return "truncated";
        case DecodeError::BadMagic: return "bad magic";
        case DecodeError::BadVersion: return "unsupported version";
        case DecodeError::BadKind: return "unknown kind";
        case DecodeError::BadFlags: return "bad flags";
        case DecodeError::BadCount: return "bad record count";
        case DecodeError::BadRecord: return "bad record";
        case DecodeError::TrailingBytes: return "trailing bytes";
        case DecodeError::Unauthenticated: return "unauthenticated";
    }
    return "?";
}

void beginDatagram(std::vector<uint8_t>& out, const DatagramHeader& h) {
    out.resize(kFlowHeaderSize);
    uint8_t* p = out.data();
    put16(p, kFlowMagic);
    p[2] = kFlowVersion;
    p[3] = static_cast<uint8_t>(h.kind);
    p[kFlagsOffset] = 0;
    p[5] = 0;
    put16(p + kCountOffset, 0);
    put32(p + 8, h.sender);
    put32(p + 12, h.receiver);
    put64(p + 16, h.senderIncarnation);
    put64(p + 24, h.receiverIncarnation);
    put64(p + 32, h.seq);
    put64(p + 40, h.seqEnd);
    put32(p + 48, h.vip);
}

void appendRecord(std::vector<uint8_t>& out, RecordOp op, const FlowRecord& r) {
    size_t at = out.size();
    out.resize(at + kFlowRecordSize);
    uint8_t* p = out.data() + at;
    p[0] = static_cast<uint8_t>(op);
    putTuple(p + 1, r.forward);
    putTuple(p + 14, r.reverse);
    put32(p + 27, r.handler);
    p[31] = r.state;
    p[32] = static_cast<uint8_t>(r.nat);
    std::memcpy(p + 33, r.clientMac.data(), 6);
    std::memcpy(p + 39, r.backendMac.data(), 6);
}

void sealDatagram(std::vector<uint8_t>& out, const cluster::AuthKey& key) {
    put16(out.data() + kCountOffset, static_cast<uint16_t>((out.size() - kFlowHeaderSize) / kFlowRecordSize));
    if (!key.enabled()) return;
    out[kFlagsOffset] = kFlagAuthenticated;
    auto tag = key.tag(out);
    out.insert(out.end(), tag.begin(), tag.end());
}

size_t recordsPerDatagram(size_t maxDatagram, const cluster::AuthKey& key) {
    size_t overhead = kFlowHeaderSize + (key.enabled() ? kFlowTagSize : 0);
    size_t fit = maxDatagram > overhead ? (maxDatagram - overhead) / kFlowRecordSize : 0;
    if (fit < 1) fit = 1;
    return fit < kMaxRecordsPerDatagram ? fit : kMaxRecordsPerDatagram;
}

std::vector<uint8_t> encodeDatagram(const DatagramHeader& header, std::span<const WireRecord> records,
                                    const cluster::AuthKey& key) {
    std::vector<uint8_t> out;
    out.reserve(kFlowHeaderSize + records.size() * kFlowRecordSize + kFlowTagSize);
    beginDatagram(out, header);
    for (const WireRecord& w : records) appendRecord(out, w.op, w.record);
    sealDatagram(out, key);
    return out;
}

DecodeError decodeDatagram(std::span<const uint8_t> datagram, const cluster::AuthKey& key,
                           DatagramHeader& h, std::vector<WireRecord>& records) {
    records.clear();
    if (datagram.size() < kFlowHeaderSize) return DecodeError::Truncated;
    const uint8_t* p = datagram.data();
    if (get16(p) != kFlowMagic) return DecodeError::BadMagic;
    if (p[2] != kFlowVersion) return DecodeError::BadVersion;
    uint8_t kind = p[3];
    if (kind < static_cast<uint8_t>(DatagramKind::Data) || kind > static_cast<uint8_t>(DatagramKind::TransferEnd))
        return DecodeError::BadKind;
    uint8_t flags = p[kFlagsOffset];
    if ((flags & ~kFlagAuthenticated) != 0 || p[5] != 0) return DecodeError::BadFlags;
    h.kind = static_cast<DatagramKind>(kind);
    h.recordCount = get16(p + kCountOffset);
    h.sender = get32(p + 8);
    h.receiver = get32(p + 12);
    h.senderIncarnation = get64(p + 16);
    h.receiverIncarnation = get64(p + 24);
    h.seq = get64(p + 32);
    h.seqEnd = get64(p + 40);
    h.vip = get32(p + 48);

    size_t count = h.recordCount;
    bool tagged = flags & kFlagAuthenticated;
    if (count > kMaxRecordsPerDatagram) return DecodeError::BadCount;
    if (!countFitsKind(h.kind, count)) return DecodeError::BadCount;
    size_t covered = kFlowHeaderSize + count * kFlowRecordSize;
    size_t expected = covered + (tagged ? kFlowTagSize : 0);
    if (datagram.size() < expected) return DecodeError::Truncated;
    if (datagram.size() > expected) return DecodeError::TrailingBytes;
    // A key on one side only is a configuration split: refuse rather than trust untagged
    // bytes or ignore a tag nobody can check.
    if (key.enabled() != tagged) return DecodeError::Unauthenticated;
    if (tagged && !key.verify(datagram.first(covered), datagram.subspan(covered)))
        return DecodeError::Unauthenticated;

    records.resize(count);
    for (size_t i = 0; i < count; ++i) {
        const uint8_t* r = p + kFlowHeaderSize + i * kFlowRecordSize;
        WireRecord& w = records[i];
        w.op = static_cast<RecordOp>(r[0]);
        if (r[32] > static_cast<uint8_t>(NatKind::FullNat) || !recordFitsKind(h.kind, w.op) ||
            (w.op == RecordOp::Upsert && get32(r + 27) == 0)) {
            records.clear();
            return DecodeError::BadRecord;
        }
        FlowRecord& f = w.record;
        f.forward = getTuple(r + 1);
        f.reverse = getTuple(r + 14);
        f.handler = get32(r + 27);
        f.state = r[31];
        f.nat = static_cast<NatKind>(r[32]);
        std::memcpy(f.clientMac.data(), r + 33, 6);
        std::memcpy(f.backendMac.data(), r + 39, 6);
    }
    return DecodeError::None;
}

}  // namespace ringgate::flows
