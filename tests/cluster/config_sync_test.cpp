// The configuration on the token (config_carriage.h, config_sync.h): the chunk codec and
// its refusals, and the rule "the highest valid version wins" as nodes pass one train's
// carriages around.
#include <gtest/gtest.h>

#include <string>

#include "control/cluster/config_sync.h"

namespace ringgate::cluster {
namespace {

std::string configText(uint64_t version, size_t padding = 0) {
    return "cluster:\n  name: prod\n  config_version: " + std::to_string(version) + "\n# " + std::string(padding, 'x') +
           "\n";
}

SharedConfig shared(uint64_t version, size_t padding = 0) { return SharedConfig::of(version, configText(version, padding)); }

ConfigChunk chunkFrom(const Carriages& carriages) {
    const auto* bytes = carriages.find(carriage::kClusterConfig);
    EXPECT_NE(bytes, nullptr);
    auto decoded = decodeConfigChunk(*bytes);
    EXPECT_TRUE(decoded.chunk) << toString(decoded.error);
    return *decoded.chunk;
}

// --- codec ---------------------------------------------------------------------------

TEST(ConfigCarriage, ChunkRoundTrips) {
    SharedConfig c = shared(7, 3000);
    size_t count = chunkCountFor(c.text.size());
    ASSERT_EQ(count, 3u);
    std::string joined;
    for (uint16_t i = 0; i < count; ++i) {
        ConfigChunk chunk = chunkOf("prod", c.version, c.digest, c.text, i);
        auto decoded = decodeConfigChunk(encodeConfigChunk(chunk));
        ASSERT_TRUE(decoded.chunk) << toString(decoded.error);
        EXPECT_EQ(*decoded.chunk, chunk);
        EXPECT_LE(chunk.bytes.size(), kConfigChunkBytes);
        joined.append(chunk.bytes.begin(), chunk.bytes.end());
    }
    EXPECT_EQ(joined, c.text);
    EXPECT_EQ(digestOf(joined), c.digest);
}

TEST(ConfigCarriage, IndexWrapsAroundTheChunkCount) {
    SharedConfig c = shared(1, 1500);
    EXPECT_EQ(chunkOf("prod", 1, c.digest, c.text, 2).index, 0);
    EXPECT_EQ(chunkOf("prod", 1, c.digest, c.text, 3).index, 1);
}

TEST(ConfigCarriage, HostileChunksAreRefusedByReason) {
    SharedConfig c = shared(3, 1500);
    ConfigChunk good = chunkOf("prod", 3, c.digest, c.text, 0);
    std::vector<uint8_t> bytes = encodeConfigChunk(good);

    for (size_t cut = 0; cut < bytes.size(); cut += 7)
        EXPECT_EQ(decodeConfigChunk(std::span(bytes.data(), cut)).error, ConfigCarriageError::Truncated) << cut;

    auto future = bytes;
    future[0] = kConfigCarriageFormat + 1;
    EXPECT_EQ(decodeConfigChunk(future).error, ConfigCarriageError::FutureFormat);
    auto zero = bytes;
    zero[0] = 0;
    EXPECT_EQ(decodeConfigChunk(zero).error, ConfigCarriageError::BadChunk);

    auto trailing = bytes;
    trailing.push_back(0);
    EXPECT_EQ(decodeConfigChunk(trailing).error, ConfigCarriageError::TrailingBytes);

    ConfigChunk oversized = good;
    oversized.totalBytes = kMaxSharedConfigBytes + 1;
    EXPECT_EQ(decodeConfigChunk(encodeConfigChunk(oversized)).error, ConfigCarriageError::Oversized);

    ConfigChunk wrongCount = good;
    wrongCount.count = 5;
    EXPECT_EQ(decodeConfigChunk(encodeConfigChunk(wrongCount)).error, ConfigCarriageError::BadChunk);
    ConfigChunk indexBeyond = good;
    indexBeyond.index = 2;
    EXPECT_EQ(decodeConfigChunk(encodeConfigChunk(indexBeyond)).error, ConfigCarriageError::BadChunk);
    ConfigChunk shortChunk = good;
    shortChunk.bytes.pop_back();
    EXPECT_EQ(decodeConfigChunk(encodeConfigChunk(shortChunk)).error, ConfigCarriageError::BadChunk);
    ConfigChunk noName = good;
    noName.clusterName.clear();
    EXPECT_EQ(decodeConfigChunk(encodeConfigChunk(noName)).error, ConfigCarriageError::BadChunk);
    ConfigChunk empty = good;
    empty.totalBytes = 0;
    empty.bytes.clear();
    EXPECT_EQ(decodeConfigChunk(encodeConfigChunk(empty)).error, ConfigCarriageError::BadChunk);

    // A length field far beyond the datagram is refused before anything is allocated.
    auto huge = bytes;
    size_t lengthAt = 1 + 1 + good.clusterName.size() + 8 + 32 + 4 + 2 + 2;
    huge[lengthAt] = 0x7f;
    EXPECT_EQ(decodeConfigChunk(huge).error, ConfigCarriageError::BadChunk);
}

// --- version choice --------------------------------------------------------------------

TEST(ConfigSync, FirstHolderPutsItsConfigurationOnTheToken) {
    ConfigSync sync("prod", shared(1));
    Carriages train;
    EXPECT_FALSE(sync.onToken(train));
    ConfigChunk chunk = chunkFrom(train);
    EXPECT_EQ(chunk.version, 1u);
    EXPECT_EQ(sync.counters().handedOn, 1u);
}

TEST(ConfigSync, OlderCarriageIsReplacedByOurs) {
    ConfigSync older("prod", shared(1)), newer("prod", shared(4));
    Carriages train;
    older.onToken(train);
    EXPECT_FALSE(newer.onToken(train));
    EXPECT_EQ(chunkFrom(train).version, 4u);
    EXPECT_EQ(newer.counters().handedOn, 1u);
}

TEST(ConfigSync, NewerConfigurationIsOfferedOnceCompleteAndAdopted) {
    SharedConfig v2 = shared(2, 2500);  // three chunks
    ConfigSync origin("prod", v2), follower("prod", shared(1));
    Carriages train;
    std::optional<SharedConfig> offer;
    int visits = 0;
    // Origin and follower alternate (a ring of two): the origin advances one chunk a visit.
    while (!offer && visits < 10) {
        origin.onToken(train);
        offer = follower.onToken(train);
        ++visits;
    }
    ASSERT_TRUE(offer);
    EXPECT_EQ(visits, 3);
    EXPECT_EQ(offer->text, v2.text);
    EXPECT_EQ(offer->version, 2u);
    follower.adopted(*offer);
    EXPECT_EQ(follower.local().digest, v2.digest);
    // From now on both carry chunks of version 2 and nobody is offered anything.
    for (int i = 0; i < 6; ++i) {
        EXPECT_FALSE(origin.onToken(train));
        EXPECT_FALSE(follower.onToken(train));
    }
    EXPECT_EQ(follower.counters().offered, 1u);
    EXPECT_EQ(follower.counters().adopted, 1u);
}

TEST(ConfigSync, ThreeNodesConvergeOnTheHighestVersion) {
    ConfigSync nodes[] = {ConfigSync("prod", shared(3, 1800)), ConfigSync("prod", shared(5, 4000)),
                          ConfigSync("prod", shared(1))};
    Carriages train;
    for (int rotation = 0; rotation < 12; ++rotation)
        for (auto& node : nodes)
            if (auto offer = node.onToken(train)) node.adopted(*offer);
    for (auto& node : nodes) EXPECT_EQ(node.local().version, 5u);
    EXPECT_EQ(chunkFrom(train).version, 5u);
}

TEST(ConfigSync, NodeBehindTwoUpToDateNodesGetsEveryChunk) {
    // Ring stale -> a -> b -> stale with four chunks: were each holder to step on from the
    // carriage's index, the stale node would see chunks 0 and 2 (or 1 and 3) forever.
    SharedConfig v3 = shared(3, 3500);  // four chunks
    ASSERT_EQ(chunkCountFor(v3.text.size()), 4u);
    ConfigSync a("prod", v3), b("prod", v3), stale("prod", shared(1));
    Carriages train;
    std::optional<SharedConfig> offer;
    int rotations = 0;
    while (!offer && rotations < 20) {
        a.onToken(train);
        b.onToken(train);
        offer = stale.onToken(train);
        ++rotations;
    }
    ASSERT_TRUE(offer);
    EXPECT_EQ(offer->text, v3.text);
    EXPECT_LE(rotations, 5);
}

TEST(ConfigSync, EqualVersionsConvergeOnTheLargerDigest) {
    SharedConfig a = SharedConfig::of(2, "a: 1\n"), b = SharedConfig::of(2, "b: 2\n");
    const SharedConfig& winner = a.digest > b.digest ? a : b;
    ConfigSync x("prod", a), y("prod", b);
    Carriages train;
    for (int i = 0; i < 4; ++i) {
        if (auto offer = x.onToken(train)) x.adopted(*offer);
        if (auto offer = y.onToken(train)) y.adopted(*offer);
    }
    EXPECT_EQ(x.local().digest, winner.digest);
    EXPECT_EQ(y.local().digest, winner.digest);
    EXPECT_GT(x.counters().conflicts + y.counters().conflicts, 0u);
}

TEST(ConfigSync, RefusedConfigurationIsNeverOfferedAgainNorOverwritten) {
    ConfigSync origin("prod", shared(9)), follower("prod", shared(1));
    Carriages train;
    origin.onToken(train);
    auto offer = follower.onToken(train);
    ASSERT_TRUE(offer);
    follower.refused(*offer);
    for (int i = 0; i < 5; ++i) {
        origin.onToken(train);
        EXPECT_FALSE(follower.onToken(train));
    }
    EXPECT_EQ(follower.local().version, 1u);
    EXPECT_EQ(chunkFrom(train).version, 9u);  // the refuser does not fight the cluster's version
    EXPECT_EQ(follower.counters().refusedInvalid, 1u);
}

TEST(ConfigSync, LocalChangeGoesOnTheNextVisit) {
    ConfigSync a("prod", shared(1)), b("prod", shared(1));
    Carriages train;
    a.onToken(train);
    b.onToken(train);
    a.setLocal(shared(2));  // SIGHUP or config push on node a
    a.onToken(train);
    EXPECT_EQ(chunkFrom(train).version, 2u);
    auto offer = b.onToken(train);
    ASSERT_TRUE(offer);
    EXPECT_EQ(offer->version, 2u);
}

// Every node that had a newer version died after putting one chunk of it on the token:
// the rest never comes. The follower stops waiting after the chunk count and a few visits
// more, puts its own on, and reassembles the newer one if a node that has it comes back.
TEST(ConfigSync, OrphanedNewerVersionStopsBlockingAndComesBackWithItsSender) {
    SharedConfig newer = shared(6, 2500);  // three chunks
    ConfigSync origin("prod", newer), follower("prod", shared(2));
    Carriages train;
    origin.onToken(train);  // chunk 0, then the origin dies
    int visits = 0;
    while (chunkFrom(train).version == 6 && visits < 20) {
        EXPECT_FALSE(follower.onToken(train));
        ++visits;
    }
    EXPECT_EQ(visits, 1 + 3 + 4);  // the first chunk, then count + slack + 1 visits with nothing new
    EXPECT_EQ(follower.counters().orphaned, 1u);
    EXPECT_EQ(chunkFrom(train).version, 2u);
    EXPECT_TRUE(follower.takeNotice());
    // The origin is back (a partition healed): its version wins again and completes.
    std::optional<SharedConfig> offer;
    for (int i = 0; i < 6 && !offer; ++i) {
        origin.onToken(train);
        offer = follower.onToken(train);
    }
    ASSERT_TRUE(offer);
    EXPECT_EQ(offer->digest, newer.digest);
}

// --- hostile carriages -----------------------------------------------------------------

TEST(ConfigSync, ForgedChunksWhoseDigestDoesNotMatchAreRefused) {
    SharedConfig real = shared(8, 1500);
    ConfigSync follower("prod", shared(1));
    Carriages train;
    for (uint16_t i = 0; i < 2; ++i) {
        ConfigChunk chunk = chunkOf("prod", real.version, real.digest, real.text, i);
        if (i == 1) chunk.bytes[0] ^= 0xff;  // tampered in flight (no shared key)
        train.set(carriage::kClusterConfig, encodeConfigChunk(chunk));
        EXPECT_FALSE(follower.onToken(train));
    }
    EXPECT_EQ(follower.counters().refusedGarbled, 1u);
    EXPECT_EQ(follower.local().version, 1u);
    // Remembered: the same (version, digest) is not reassembled again.
    train.set(carriage::kClusterConfig, encodeConfigChunk(chunkOf("prod", real.version, real.digest, real.text, 0)));
    EXPECT_FALSE(follower.onToken(train));
    EXPECT_EQ(follower.counters().chunksReceived, 2u);
}

TEST(ConfigSync, GarbledAndOversizedCarriagesAreCountedAndReplaced) {
    ConfigSync sync("prod", shared(2));
    Carriages train;
    train.set(carriage::kClusterConfig, {1, 2, 3});
    EXPECT_FALSE(sync.onToken(train));
    EXPECT_EQ(sync.counters().refusedGarbled, 1u);
    EXPECT_EQ(chunkFrom(train).version, 2u);
    EXPECT_TRUE(sync.takeNotice());

    SharedConfig c = shared(99);
    ConfigChunk big = chunkOf("prod", 99, c.digest, c.text, 0);
    big.totalBytes = kMaxSharedConfigBytes * 2;
    train.set(carriage::kClusterConfig, encodeConfigChunk(big));
    EXPECT_FALSE(sync.onToken(train));
    EXPECT_EQ(sync.counters().refusedOversized, 1u);
    EXPECT_EQ(chunkFrom(train).version, 2u);
}

TEST(ConfigSync, FutureFormatIsCountedAndLeftForNewerNodes) {
    ConfigSync sync("prod", shared(2));
    Carriages train;
    std::vector<uint8_t> future = {kConfigCarriageFormat + 1, 0xde, 0xad};
    train.set(carriage::kClusterConfig, future);
    EXPECT_FALSE(sync.onToken(train));
    EXPECT_EQ(sync.counters().refusedFutureFormat, 1u);
    EXPECT_EQ(*train.find(carriage::kClusterConfig), future);
}

TEST(ConfigSync, ConfigurationOfAnotherClusterIsRefused) {
    ConfigSync ours("prod", shared(1));
    SharedConfig theirs = shared(50);
    Carriages train;
    train.set(carriage::kClusterConfig, encodeConfigChunk(chunkOf("staging", 50, theirs.digest, theirs.text, 0)));
    EXPECT_FALSE(ours.onToken(train));
    EXPECT_EQ(ours.counters().refusedForeignCluster, 1u);
    EXPECT_EQ(chunkFrom(train).clusterName, "prod");
    EXPECT_EQ(ours.local().version, 1u);
}

}  // namespace
}  // namespace ringgate::cluster
