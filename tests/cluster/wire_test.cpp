// The cluster wire format: datagram header (lengths, CRC, HMAC) and the token train.
#include <gtest/gtest.h>

#include <random>

#include "control/cluster/packet.h"
#include "control/cluster/train.h"

namespace ringgate::cluster {
namespace {

PacketHeader dataHeader(uint32_t length) {
    PacketHeader h;
    h.kind = PacketKind::Data;
    h.sender = 1;
    h.receiver = 2;
    h.senderEpoch = 77;
    h.counter = 5;
    h.messageId = 9;
    h.fragmentIndex = 0;
    h.fragmentCount = 1;
    h.messageLength = length;
    return h;
}

Train sampleTrain() {
    Train t;
    t.signal = Signal::Emergency;
    t.permission = true;
    t.ringId = 0x1122334455667788ull;
    t.stamp = Stamp{3, 2, 0xfffffffeu};
    t.originator = 4;
    t.current = 2;
    t.destination = 3;
    t.members = {1, 2, 3, 4};
    t.carriages.set(carriage::kVipTable, {1, 2, 3});
    t.carriages.set(carriage::kNodeLoad, {});
    t.carriages.set(0x1234, std::vector<uint8_t>(3000, 0xab));  // a type this build does not know
    return t;
}

TEST(Packet, RoundTripsWithAndWithoutKey) {
    std::vector<uint8_t> payload = {10, 20, 30};
    for (const AuthKey& key : {AuthKey(), AuthKey("a-shared-key-of-some-length")}) {
        auto bytes = encodePacket(dataHeader(3), payload, key);
        EXPECT_EQ(bytes.size(), kPacketHeaderSize + 3 + (key.enabled() ? kAuthTagSize : 0));
        auto decoded = decodePacket(bytes, key);
        ASSERT_TRUE(decoded.packet) << toString(decoded.error);
        EXPECT_EQ(decoded.packet->header.sender, 1u);
        EXPECT_EQ(decoded.packet->header.senderEpoch, 77u);
        EXPECT_EQ(std::vector<uint8_t>(decoded.packet->payload.begin(), decoded.packet->payload.end()), payload);
    }
}

TEST(Packet, RefusesEveryKindOfDamage) {
    AuthKey none;
    auto good = encodePacket(dataHeader(3), std::vector<uint8_t>{1, 2, 3}, none);
    EXPECT_EQ(decodePacket(std::span(good).first(10), none).error, PacketError::Truncated);
    auto badMagic = good;
    badMagic[0] ^= 0xff;
    EXPECT_EQ(decodePacket(badMagic, none).error, PacketError::BadMagic);
    auto badVersion = good;
    badVersion[2] = 9;
    EXPECT_EQ(decodePacket(badVersion, none).error, PacketError::BadVersion);
    auto longer = good;
    longer.push_back(0);
    EXPECT_EQ(decodePacket(longer, none).error, PacketError::BadLength);
    auto flipped = good;
    flipped.back() ^= 0x01;
    EXPECT_EQ(decodePacket(flipped, none).error, PacketError::BadChecksum);
    // Fragment numbers that do not fit the message length.
    PacketHeader h = dataHeader(3);
    h.fragmentCount = 2;
    EXPECT_EQ(decodePacket(encodePacket(h, std::vector<uint8_t>{1, 2, 3}, none), none).error, PacketError::BadFragment);
    h = dataHeader(5000);
    h.fragmentCount = 5;
    h.fragmentIndex = 4;  // last fragment of 5000 bytes is 200 bytes, not 3
    EXPECT_EQ(decodePacket(encodePacket(h, std::vector<uint8_t>{1, 2, 3}, none), none).error, PacketError::BadFragment);
    PacketHeader ack = dataHeader(0);
    ack.kind = PacketKind::Ack;
    EXPECT_EQ(decodePacket(encodePacket(ack, std::vector<uint8_t>{1}, none), none).error, PacketError::BadLength);
    PacketHeader unknown = dataHeader(0);
    unknown.kind = static_cast<PacketKind>(7);
    EXPECT_EQ(decodePacket(encodePacket(unknown, {}, none), none).error, PacketError::BadKind);
}

TEST(Packet, AuthenticationRefusesForgeriesAndMissingTags) {
    AuthKey key("the-right-key-0123456789");
    AuthKey other("the-wrong-key-0123456789");
    std::vector<uint8_t> payload = {1, 2, 3};
    auto forged = encodePacket(dataHeader(3), payload, other);
    EXPECT_EQ(decodePacket(forged, key).error, PacketError::Unauthenticated);
    auto plain = encodePacket(dataHeader(3), payload, AuthKey());
    EXPECT_EQ(decodePacket(plain, key).error, PacketError::Unauthenticated);
    // A tampered payload with a correct CRC still fails the tag.
    auto tampered = encodePacket(dataHeader(3), payload, key);
    tampered[kPacketHeaderSize] ^= 1;
    std::vector<uint8_t> covered(tampered.begin(), tampered.begin() + kPacketHeaderSize + 3);
    std::fill(covered.begin() + 52, covered.begin() + 56, 0);
    uint32_t crc = crc32(covered);
    for (int i = 0; i < 4; ++i) tampered[52 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
    EXPECT_EQ(decodePacket(tampered, key).error, PacketError::Unauthenticated);
    EXPECT_EQ(decodePacket(tampered, AuthKey()).error, PacketError::None);  // CRC alone is fooled
}

TEST(Packet, Crc32MatchesTheStandardCheckValue) {
    std::string check = "123456789";
    EXPECT_EQ(crc32(std::span(reinterpret_cast<const uint8_t*>(check.data()), check.size())), 0xCBF43926u);
}

TEST(Train, RoundTripsAndKeepsUnknownCarriages) {
    Train t = sampleTrain();
    auto decoded = decodeTrain(encodeTrain(t));
    ASSERT_TRUE(decoded.train) << toString(decoded.error);
    EXPECT_EQ(*decoded.train, t);
    ASSERT_NE(decoded.train->carriages.find(0x1234), nullptr);
    EXPECT_EQ(decoded.train->carriages.find(0x1234)->size(), 3000u);
    EXPECT_EQ(decoded.train->carriages.find(carriage::kClusterConfig), nullptr);
}

TEST(Train, CarriagesStayUniqueAndOrdered) {
    Carriages c;
    c.set(5, {1});
    c.set(2, {2});
    c.set(5, {3});
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c.all()[0].type, 2);
    EXPECT_EQ(*c.find(5), std::vector<uint8_t>{3});
    c.erase(2);
    EXPECT_EQ(c.find(2), nullptr);
    EXPECT_EQ(carriage::name(carriage::kVipTable), "vip-table");
}

TEST(Train, RefusesMalformedTrains) {
    auto good = encodeTrain(sampleTrain());
    EXPECT_EQ(decodeTrain({}).error, TrainError::Truncated);
    auto v = good;
    v[0] = 2;
    EXPECT_EQ(decodeTrain(v).error, TrainError::BadVersion);
    v = good;
    v[1] = 9;
    EXPECT_EQ(decodeTrain(v).error, TrainError::BadSignal);
    v = good;
    v[2] = 0x80;
    EXPECT_EQ(decodeTrain(v).error, TrainError::BadFlags);
    v = good;
    v[36] = 0xff;  // member count 65k+: more than the bytes that follow
    EXPECT_EQ(decodeTrain(v).error, TrainError::TooManyMembers);
    v = good;
    v[40 + 7] = 1;  // second member id becomes 1, a duplicate
    EXPECT_EQ(decodeTrain(v).error, TrainError::BadMember);
    v = good;
    v.push_back(0);
    EXPECT_EQ(decodeTrain(v).error, TrainError::TrailingBytes);
    v = good;
    v.resize(v.size() - 1);
    EXPECT_EQ(decodeTrain(v).error, TrainError::Truncated);
}

TEST(Train, RandomMutationsNeverCrashTheParsers) {
    std::mt19937_64 random(42);
    auto train = encodeTrain(sampleTrain());
    auto packet = encodePacket(dataHeader(static_cast<uint32_t>(train.size() > 1200 ? 1200 : train.size())),
                               std::span(train).first(std::min<size_t>(train.size(), 1200)), AuthKey());
    size_t parsedTrains = 0;
    for (int i = 0; i < 20000; ++i) {
        auto t = train;
        auto p = packet;
        for (int k = 0; k < 1 + static_cast<int>(random() % 4); ++k) {
            t[random() % t.size()] = static_cast<uint8_t>(random());
            p[random() % p.size()] = static_cast<uint8_t>(random());
        }
        t.resize(random() % (t.size() + 1));
        if (decodeTrain(t).train) ++parsedTrains;
        (void)decodePacket(p, AuthKey());
    }
    SUCCEED() << parsedTrains << " mutated trains still parsed";
}

TEST(Stamp, SequenceNumbersWrapAround) {
    EXPECT_TRUE(serialGreater(0, 0xffffffffu));
    EXPECT_TRUE(serialGreater(5, 0xfffffff0u));
    EXPECT_FALSE(serialGreater(0xfffffff0u, 5));
    EXPECT_FALSE(serialGreater(7, 7));
    EXPECT_TRUE(newer(Stamp{0, 1, 2}, Stamp{0, 1, 0xfffffffeu}));
    // A new generation beats any sequence number of the old one; the producer breaks ties.
    EXPECT_TRUE(newer(Stamp{1, 1, 0}, Stamp{0, 9, 1000}));
    EXPECT_TRUE(newer(Stamp{1, 3, 0}, Stamp{1, 2, 1000}));
    EXPECT_FALSE(newer(Stamp{1, 2, 5}, Stamp{1, 2, 5}));
}

}  // namespace
}  // namespace ringgate::cluster
