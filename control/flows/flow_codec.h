// The flow-record datagram: one UDP payload of the replicator (docs/FLOWS.md, "Wire
// format"). A fixed 52-byte header, a counted run of fixed 45-byte records, and, when the
// cluster has a shared key, an HMAC-SHA256 tag over everything before it.
//
// Encoding writes straight into a caller's buffer (the replicator reuses its batch
// buffers); decoding checks every bound, says why it refused, never throws, and fills a
// caller's record vector so that the receive path allocates nothing in steady state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "control/cluster/packet.h"
#include "control/flows/flow_record.h"

namespace ringgate::flows {

constexpr uint16_t kFlowMagic = 0x5246;  // "RF"
constexpr uint8_t kFlowVersion = 1;
constexpr size_t kFlowHeaderSize = 52;
constexpr size_t kFlowRecordSize = 45;
constexpr size_t kFlowTagSize = cluster::kAuthTagSize;
// Bounds every decode: more records than a 64 KiB UDP payload can carry is a lie.
constexpr size_t kMaxRecordsPerDatagram = (65507 - kFlowHeaderSize) / kFlowRecordSize;

// Values are on the wire: never reuse. The first five travel in a sender's ordered channel
// (they carry a sequence number and are acknowledged); the others stand alone.
enum class DatagramKind : uint8_t {
    Data = 1,         // Upsert/End records of flows the sender handles
    Transfer = 2,     // records of one VIP, the answer to a Pull
    Pull = 3,         // "send me every record you hold of VIP `vip`" (no records)
    ResyncBegin = 4,  // starts a new channel session at `seq`: the receiver forgets the old
                      // one and, at ResyncEnd, every replica of the sender it was not re-sent
    ResyncEnd = 5,
    Ack = 6,          // cumulative: every batch up to `seq` applied (no records)
    Nack = 7,         // batches `seq`..`seqEnd` missing; seq 0: "I have no session of yours"
    Ask = 8,          // Query records: where does the flow with this reply tuple live?
    Answer = 9,       // Upsert records: here it is
    TransferEnd = 10, // the last batch of a pull's answer (0+ Upsert records of `vip`)
};
constexpr bool isSequenced(DatagramKind kind) {
    return (kind >= DatagramKind::Data && kind <= DatagramKind::ResyncEnd) || kind == DatagramKind::TransferEnd;
}
std::string_view toString(DatagramKind kind);

enum class RecordOp : uint8_t {
    Upsert = 1,  // create or update (Data, Transfer, ResyncBegin/End, Answer)
    End = 2,     // the flow ended on its handler (Data); only `forward` is meaningful
    Query = 3,   // Ask; only `reverse` (the reply tuple asked about) is meaningful
};

struct DatagramHeader {
    DatagramKind kind = DatagramKind::Data;
    NodeId sender = 0;
    NodeId receiver = 0;
    uint64_t senderIncarnation = 0;
    uint64_t receiverIncarnation = 0;  // as the sender last saw it; 0: never heard from it
    uint64_t seq = 0;                  // sequenced kinds: the batch; Ack: cumulative; Nack: first missing
    uint64_t seqEnd = 0;               // Nack: last missing; otherwise 0
    uint32_t vip = 0;                  // Pull and Transfer: the VIP; otherwise 0
    uint16_t recordCount = 0;          // filled by sealDatagram / decodeDatagram
};

struct WireRecord {
    RecordOp op = RecordOp::Upsert;
    FlowRecord record;
    bool operator==(const WireRecord&) const = default;
};

enum class DecodeError : uint8_t {
    None,
    Truncated,        // shorter than its header, or than its records and tag
    BadMagic,
    BadVersion,       // a version this node does not speak (a newer peer)
    BadKind,
    BadFlags,         // unknown flag or reserved bits set
    BadCount,         // record count impossible for the kind, or above the bound
    BadRecord,        // unknown op or NAT kind, op wrong for the kind, handler 0
    TrailingBytes,    // bytes after the records (and tag)
    Unauthenticated,  // tag missing or wrong while the cluster has a key, or a tag without one
};
std::string_view toString(DecodeError error);

// Encoding in three steps into one reused buffer: header, records, seal (count and tag).
void beginDatagram(std::vector<uint8_t>& out, const DatagramHeader& header);
void appendRecord(std::vector<uint8_t>& out, RecordOp op, const FlowRecord& record);
void sealDatagram(std::vector<uint8_t>& out, const cluster::AuthKey& key);
// How many records fit in a datagram of `maxDatagram` bytes (at least 1).
size_t recordsPerDatagram(size_t maxDatagram, const cluster::AuthKey& key);

std::vector<uint8_t> encodeDatagram(const DatagramHeader& header, std::span<const WireRecord> records,
                                    const cluster::AuthKey& key);

// Decodes `datagram` into `header` and `records` (cleared first). On refusal the outputs
// hold no records and the error says why.
DecodeError decodeDatagram(std::span<const uint8_t> datagram, const cluster::AuthKey& key,
                           DatagramHeader& header, std::vector<WireRecord>& records);

}  // namespace ringgate::flows
