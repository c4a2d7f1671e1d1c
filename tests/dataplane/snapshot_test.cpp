#include "dataplane/snapshot.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace ringgate::dataplane {
namespace {

config::Config load(const std::string& yaml) {
    auto loaded = config::loadString(yaml, "test.yaml");
    for (const auto& error : loaded.errors) ADD_FAILURE() << error.toString();
    return loaded.config ? *loaded.config : config::Config{};
}

const char* kTwoNodes = R"(
cluster:
  name: t
  config_version: 1
  nodes:
    - { id: 1, addresses: { external: 198.18.0.1, internal: 198.19.0.1 } }
    - { id: 2, addresses: { external: 198.18.0.2, internal: 198.19.0.2 } }
subnets:
  - name: external
    prefix: 198.18.0.0/24
    vips:
      - { address: 198.18.0.100, preferred_host: 1 }
      - { address: 198.18.0.101, preferred_host: 2 }
  - name: internal
    prefix: 198.19.0.0/24
    vips:
      - { address: 198.19.0.100 }
pools:
  - name: web
    backends:
      - { address: 198.19.0.51, port: 8080 }
      - { address: 198.19.0.52, port: 8080 }
services:
  - { name: web, vip: 198.18.0.100, port: 80, protocol: tcp, pool: web, nat: fullnat }
  - { name: web2, vip: 198.18.0.101, port: 80, protocol: tcp, pool: web, nat: dnat }
dataplane:
  ports:
    - { name: ext, subnet: external, driver: ring }
    - { name: int, subnet: internal, driver: ring }
)";

TEST(Snapshot, StaticOwnershipFollowsPreferredHost) {
    auto config = load(kTwoNodes);
    auto owned = staticOwnedVips(config, 1);
    ASSERT_EQ(owned.size(), 1u);
    EXPECT_EQ(owned[0].toString(), "198.18.0.100");
}

TEST(Snapshot, BuildsServicesOfOwnedVipsOnly) {
    auto config = load(kTwoNodes);
    auto live = configuredBackends(config);
    BackendSlots slots;
    SnapshotInput input{&config, 1, {0, 1}, {MacAddress{}, MacAddress{}}, staticOwnedVips(config, 1),
                        &live, 251};
    auto snapshot = buildSnapshot(input, slots);
    ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
    ASSERT_EQ(snapshot->services.size(), 1u);
    const ServiceView* web = snapshot->findService(0xC6120064, 80, kProtoTcp);
    ASSERT_NE(web, nullptr);
    EXPECT_EQ(web->backends.size(), 2u);
    EXPECT_EQ(web->maglev.size(), 251u);
    EXPECT_EQ(web->backends[0].egress, 1);
    EXPECT_EQ(snapshot->findService(0xC6120065, 80, kProtoTcp), nullptr);
    // The internal VIP is not ours: fullnat replies must come back to our own address.
    EXPECT_EQ(snapshot->ports[1].natSource, 0xC6130001u);
    EXPECT_EQ(snapshot->ports[0].primary, 0xC6120001u);
    EXPECT_TRUE(snapshot->findOwnedVip(0xC6120064));
    EXPECT_FALSE(snapshot->findOwnedVip(0xC6120065));

    // Owning the internal VIP, the node uses it as the fullnat source.
    input.ownedVips.push_back(*Ipv4Address::parse("198.19.0.100"));
    auto owning = buildSnapshot(input, slots);
    ASSERT_TRUE(owning.ok()) << owning.error().message;
    EXPECT_EQ(owning->ports[1].natSource, 0xC6130064u);
}

TEST(Snapshot, RefusesUnknownVipAndUnreachableBackend) {
    auto config = load(kTwoNodes);
    auto live = configuredBackends(config);
    BackendSlots slots;
    SnapshotInput input{&config, 1, {0, 1}, {MacAddress{}, MacAddress{}},
                        {*Ipv4Address::parse("198.18.0.7")}, &live, 251};
    EXPECT_FALSE(buildSnapshot(input, slots).ok());
    input.ownedVips = staticOwnedVips(config, 1);
    live["web"].push_back({*Ipv4Address::parse("10.0.0.1"), 80, 1});
    auto bad = buildSnapshot(input, slots);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("10.0.0.1"), std::string::npos);
}

TEST(Snapshot, BackendSlotsAreStable) {
    BackendSlots slots;
    auto a = *Ipv4Address::parse("198.19.0.51");
    auto b = *Ipv4Address::parse("198.19.0.52");
    EXPECT_EQ(slots.slotFor("web", a, 80), 0);
    EXPECT_EQ(slots.slotFor("web", b, 80), 1);
    EXPECT_EQ(slots.slotFor("web", a, 80), 0);
    EXPECT_EQ(slots.slotFor("other", a, 80), 2);
}

TEST(Snapshot, NatPortBlocksAreDisjointPerNodeAndWorker) {
    auto config = load(kTwoNodes);
    PortBlock one = natPortBlock(config.cluster, 1);
    PortBlock two = natPortBlock(config.cluster, 2);
    EXPECT_EQ(one.first, 1024);
    EXPECT_LT(one.last, two.first);
    EXPECT_LE(two.last, 65535);
    PortBlock w0 = workerSlice(one, 0, 2);
    PortBlock w1 = workerSlice(one, 1, 2);
    EXPECT_EQ(w0.first, one.first);
    EXPECT_LT(w0.last, w1.first);
    EXPECT_LE(w1.last, one.last);
}

}  // namespace
}  // namespace ringgate::dataplane
