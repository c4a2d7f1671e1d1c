// The flow-record datagram and the kConnections carriage: round trips of every kind, and
// every reason a hostile or broken datagram is refused.
#include "control/flows/flow_codec.h"

#include <gtest/gtest.h>

#include "control/flows/flow_carriage.h"

namespace ringgate::flows {
namespace {

FlowRecord sampleRecord(uint32_t n) {
    FlowRecord r;
    r.forward = {0xC6120000u + n, 0xC6130001u, static_cast<uint16_t>(1024 + n), 80, 6};
    r.reverse = {0x0A000002u, 0xC6120000u + n, 80, static_cast<uint16_t>(1024 + n), 6};
    r.handler = 3;
    r.state = 2;
    r.nat = n % 2 ? NatKind::FullNat : NatKind::Dnat;
    r.clientMac = {0x02, 0, 0, 0, 0, static_cast<uint8_t>(n)};
    r.backendMac = {0x02, 1, 1, 1, 1, static_cast<uint8_t>(n)};
    return r;
}

DatagramHeader sampleHeader(DatagramKind kind) {
    DatagramHeader h;
    h.kind = kind;
    h.sender = 3;
    h.receiver = 7;
    h.senderIncarnation = 0x0102030405060708ull;
    h.receiverIncarnation = 99;
    h.seq = 1234567;
    h.seqEnd = kind == DatagramKind::Nack ? 1234570 : 0;
    h.vip = kind == DatagramKind::Pull || kind == DatagramKind::Transfer ? 0xC6130001u : 0;
    return h;
}

std::vector<WireRecord> recordsFor(DatagramKind kind, size_t n) {
    std::vector<WireRecord> out;
    for (size_t i = 0; i < n; ++i) {
        RecordOp op = kind == DatagramKind::Ask ? RecordOp::Query
                      : kind == DatagramKind::Data && i % 2 ? RecordOp::End
                                                            : RecordOp::Upsert;
        out.push_back(WireRecord{op, sampleRecord(static_cast<uint32_t>(i))});
    }
    return out;
}

struct RoundTripCase {
    DatagramKind kind;
    size_t records;
};

class RoundTrip : public ::testing::TestWithParam<std::tuple<RoundTripCase, bool>> {};

TEST_P(RoundTrip, DecodesWhatWasEncoded) {
    auto [c, keyed] = GetParam();
    cluster::AuthKey key(keyed ? "secret" : "");
    DatagramHeader h = sampleHeader(c.kind);
    auto records = recordsFor(c.kind, c.records);
    auto bytes = encodeDatagram(h, records, key);
    EXPECT_EQ(bytes.size(), kFlowHeaderSize + c.records * kFlowRecordSize + (keyed ? kFlowTagSize : 0));
    DatagramHeader got;
    std::vector<WireRecord> gotRecords;
    ASSERT_EQ(decodeDatagram(bytes, key, got, gotRecords), DecodeError::None);
    EXPECT_EQ(got.kind, h.kind);
    EXPECT_EQ(got.sender, h.sender);
    EXPECT_EQ(got.receiver, h.receiver);
    EXPECT_EQ(got.senderIncarnation, h.senderIncarnation);
    EXPECT_EQ(got.receiverIncarnation, h.receiverIncarnation);
    EXPECT_EQ(got.seq, h.seq);
    EXPECT_EQ(got.seqEnd, h.seqEnd);
    EXPECT_EQ(got.vip, h.vip);
    EXPECT_EQ(got.recordCount, c.records);
    EXPECT_EQ(gotRecords, records);
}

INSTANTIATE_TEST_SUITE_P(
    EveryKind, RoundTrip,
    ::testing::Combine(::testing::Values(RoundTripCase{DatagramKind::Data, 30}, RoundTripCase{DatagramKind::Data, 1},
                                         RoundTripCase{DatagramKind::Transfer, 5}, RoundTripCase{DatagramKind::Pull, 0},
                                         RoundTripCase{DatagramKind::ResyncBegin, 0},
                                         RoundTripCase{DatagramKind::ResyncEnd, 2}, RoundTripCase{DatagramKind::Ack, 0},
                                         RoundTripCase{DatagramKind::Nack, 0}, RoundTripCase{DatagramKind::Ask, 1},
                                         RoundTripCase{DatagramKind::Answer, 3}),
                       ::testing::Bool()));

TEST(FlowCodec, ByteLayoutIsBigEndianAtDocumentedOffsets) {
    DatagramHeader h = sampleHeader(DatagramKind::Data);
    std::vector<WireRecord> one = {WireRecord{RecordOp::Upsert, sampleRecord(5)}};
    auto b = encodeDatagram(h, one, cluster::AuthKey());
    EXPECT_EQ(b[0], 0x52);  // 'R'
    EXPECT_EQ(b[1], 0x46);  // 'F'
    EXPECT_EQ(b[2], kFlowVersion);
    EXPECT_EQ(b[3], static_cast<uint8_t>(DatagramKind::Data));
    EXPECT_EQ(b[4], 0);  // flags: not authenticated
    EXPECT_EQ(b[7], 1);  // record count
    EXPECT_EQ(b[11], 3);  // sender
    EXPECT_EQ(b[15], 7);  // receiver
    EXPECT_EQ(b[16], 0x01);  // sender incarnation, most significant byte first
    EXPECT_EQ(b[23], 0x08);
    EXPECT_EQ(b[52], static_cast<uint8_t>(RecordOp::Upsert));
    EXPECT_EQ(b[53], 0xC6);  // forward.src
    EXPECT_EQ(b[52 + 27 + 3], 3);  // handler
    EXPECT_EQ(b[52 + 32], 1);  // nat: record 5 is fullnat
}

struct Refusal {
    const char* name;
    std::function<void(std::vector<uint8_t>&)> damage;
    DecodeError expected;
    bool keyed = false;
};

class Refuses : public ::testing::TestWithParam<Refusal> {};

TEST_P(Refuses, SaysWhy) {
    const Refusal& c = GetParam();
    cluster::AuthKey key(c.keyed ? "secret" : "");
    auto bytes = encodeDatagram(sampleHeader(DatagramKind::Data), recordsFor(DatagramKind::Data, 3), key);
    c.damage(bytes);
    DatagramHeader h;
    std::vector<WireRecord> records;
    EXPECT_EQ(decodeDatagram(bytes, key, h, records), c.expected) << c.name;
    EXPECT_TRUE(records.empty());
}

void setCount(std::vector<uint8_t>& b, uint16_t n) {
    b[6] = static_cast<uint8_t>(n >> 8);
    b[7] = static_cast<uint8_t>(n);
}

INSTANTIATE_TEST_SUITE_P(
    EveryReason, Refuses,
    ::testing::Values(
        Refusal{"empty", [](auto& b) { b.clear(); }, DecodeError::Truncated},
        Refusal{"half a header", [](auto& b) { b.resize(30); }, DecodeError::Truncated},
        Refusal{"last record cut", [](auto& b) { b.pop_back(); }, DecodeError::Truncated},
        Refusal{"count says more", [](auto& b) { setCount(b, 4); }, DecodeError::Truncated},
        Refusal{"bad magic", [](auto& b) { b[0] = 'X'; }, DecodeError::BadMagic},
        Refusal{"future version", [](auto& b) { b[2] = kFlowVersion + 1; }, DecodeError::BadVersion},
        Refusal{"kind 0", [](auto& b) { b[3] = 0; }, DecodeError::BadKind},
        Refusal{"kind 200", [](auto& b) { b[3] = 200; }, DecodeError::BadKind},
        Refusal{"unknown flag", [](auto& b) { b[4] = 0x80; }, DecodeError::BadFlags},
        Refusal{"reserved byte", [](auto& b) { b[5] = 1; }, DecodeError::BadFlags},
        Refusal{"count over the bound", [](auto& b) { setCount(b, 0xFFFF); }, DecodeError::BadCount},
        Refusal{"data without records",
                [](auto& b) {
                    setCount(b, 0);
                    b.resize(kFlowHeaderSize);
                },
                DecodeError::BadCount},
        Refusal{"ack with records", [](auto& b) { b[3] = static_cast<uint8_t>(DatagramKind::Ack); },
                DecodeError::BadCount},
        Refusal{"unknown op", [](auto& b) { b[kFlowHeaderSize] = 9; }, DecodeError::BadRecord},
        Refusal{"query in data", [](auto& b) { b[kFlowHeaderSize] = static_cast<uint8_t>(RecordOp::Query); },
                DecodeError::BadRecord},
        Refusal{"unknown nat", [](auto& b) { b[kFlowHeaderSize + 32] = 2; }, DecodeError::BadRecord},
        Refusal{"upsert without handler",
                [](auto& b) {
                    for (int i = 27; i < 31; ++i) b[kFlowHeaderSize + i] = 0;
                },
                DecodeError::BadRecord},
        Refusal{"trailing bytes", [](auto& b) { b.push_back(0); }, DecodeError::TrailingBytes},
        Refusal{"one record too few counted", [](auto& b) { setCount(b, 2); }, DecodeError::TrailingBytes},
        Refusal{"tag missing", [](auto& b) { b.resize(b.size() - kFlowTagSize); b[4] = 0; },
                DecodeError::Unauthenticated, true},
        Refusal{"tag wrong", [](auto& b) { b.back() ^= 1; }, DecodeError::Unauthenticated, true},
        Refusal{"record changed under the tag", [](auto& b) { b[kFlowHeaderSize + 5] ^= 1; },
                DecodeError::Unauthenticated, true},
        Refusal{"tag without a key here",
                [](auto& b) {
                    b[4] = 1;
                    b.resize(b.size() + kFlowTagSize);
                },
                DecodeError::Unauthenticated}),
    [](const auto& info) {
        std::string n = info.param.name;
        for (char& ch : n)
            if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
        return n;
    });

TEST(FlowCodec, WrongKeyIsUnauthenticated) {
    auto bytes = encodeDatagram(sampleHeader(DatagramKind::Data), recordsFor(DatagramKind::Data, 2),
                                cluster::AuthKey("one"));
    DatagramHeader h;
    std::vector<WireRecord> r;
    EXPECT_EQ(decodeDatagram(bytes, cluster::AuthKey("two"), h, r), DecodeError::Unauthenticated);
    EXPECT_EQ(decodeDatagram(bytes, cluster::AuthKey("one"), h, r), DecodeError::None);
}

TEST(FlowCodec, RecordsPerDatagramFillsTheLimit) {
    cluster::AuthKey none, key("k");
    EXPECT_EQ(recordsPerDatagram(1400, none), (1400 - kFlowHeaderSize) / kFlowRecordSize);
    EXPECT_EQ(recordsPerDatagram(1400, key), (1400 - kFlowHeaderSize - kFlowTagSize) / kFlowRecordSize);
    EXPECT_EQ(recordsPerDatagram(10, none), 1u);  // never zero: one record always goes
    EXPECT_EQ(recordsPerDatagram(size_t{1} << 30, none), kMaxRecordsPerDatagram);
}

TEST(FlowCarriage, RoundTrip) {
    ConnectionsCarriage c;
    c.nodes.push_back(NodeDigests{1, 77, 5, false, {PairDigest{2, 10, 0xABCDEF, 11, 0x1234, 88, 9}}});
    c.nodes.push_back(NodeDigests{2, 88, 6, true, {}});
    auto bytes = encodeCarriage(c);
    auto back = decodeCarriage(bytes);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c);
}

TEST(FlowCarriage, RefusesBadBytes) {
    ConnectionsCarriage c;
    c.nodes.push_back(NodeDigests{1, 77, 5, false, {PairDigest{2, 10, 0xABCDEF, 11, 0x1234, 88, 9}}});
    auto good = encodeCarriage(c);
    for (size_t cut = 0; cut < good.size(); ++cut)
        EXPECT_FALSE(decodeCarriage(std::span(good).first(cut))) << "cut at " << cut;
    auto trailing = good;
    trailing.push_back(0);
    EXPECT_FALSE(decodeCarriage(trailing));
    auto future = good;
    future[0] = kCarriageVersion + 1;
    EXPECT_FALSE(decodeCarriage(future));
    ConnectionsCarriage twice;
    twice.nodes = {NodeDigests{4, 1, 1, false, {}}, NodeDigests{4, 1, 1, false, {}}};
    EXPECT_FALSE(decodeCarriage(encodeCarriage(twice)));
    ConnectionsCarriage zero;
    zero.nodes = {NodeDigests{0, 1, 1, false, {}}};
    EXPECT_FALSE(decodeCarriage(encodeCarriage(zero)));
}

TEST(FlowCarriage, DigestIsOrderIndependentAndIgnoresState) {
    FlowRecord a = sampleRecord(1), b = sampleRecord(2);
    EXPECT_EQ(recordDigest(a) + recordDigest(b), recordDigest(b) + recordDigest(a));
    FlowRecord a2 = a;
    a2.state = 7;
    EXPECT_EQ(recordDigest(a), recordDigest(a2));
    a2.handler = 4;
    EXPECT_NE(recordDigest(a), recordDigest(a2));
}

}  // namespace
}  // namespace ringgate::flows
