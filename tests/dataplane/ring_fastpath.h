// The fixture of the packet tests: a Dataplane on two net_ring ports (external and
// internal), one worker pass at a time on the test's thread with a test clock, frames in
// and out through the rings. EAL without hugepages; nothing here needs root.
#pragma once

#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "config/loader.h"
#include "dataplane/dataplane.h"
#include "tests/dataplane/frame_builder.h"

namespace ringgate::dataplane::test {

constexpr unsigned kExt = 0;
constexpr unsigned kInt = 1;
const MacAddress kClientRouter = mac(0xc1);
const MacAddress kBackendMac[] = {mac(0x51), mac(0x52), mac(0x61)};
const uint32_t kBackends[] = {ip("198.19.0.51"), ip("198.19.0.52"), ip("198.19.0.61")};

// Subclasses set configText_ (and may change self_ or the options) before SetUp runs.
class RingFastPath : public ::testing::Test {
protected:
    void SetUp() override {
        static int serial = 0;
        std::string tag = std::to_string(serial++);
        auto loaded = config::loadString(configText_, "packet.yaml");
        ASSERT_TRUE(loaded.config) << (loaded.errors.empty() ? "" : loaded.errors[0].toString());
        config_ = *loaded.config;
        pool_ = rte_pktmbuf_pool_create(("tpool" + tag).c_str(), 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
        ASSERT_NE(pool_, nullptr);
        std::vector<uint16_t> ports;
        for (unsigned p = 0; p < 2; ++p) {
            std::string name = "t" + tag + "_" + std::to_string(p);
            rx_[p] = rte_ring_create((name + "rx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
            tx_[p] = rte_ring_create((name + "tx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
            int id = rte_eth_from_rings(name.c_str(), &rx_[p], 1, &tx_[p], 1, 0);
            ASSERT_GE(id, 0);
            ports_[p] = static_cast<uint16_t>(id);
            ports.push_back(ports_[p]);
        }
        DataplaneOptions options;
        options.launchWorkers = launchWorkers_;
        options.maglevSize = 251;
        options.timeouts.synMs = 1000;
        options.timeouts.establishedMs = 5000;
        options.timeouts.finMs = 2000;
        options.timeouts.closedMs = 500;
        options.timeouts.udpMs = 3000;
        adjust(options);
        auto started = Dataplane::startOnPorts(config_, self_, ports, options);
        ASSERT_TRUE(started.ok()) << started.error().message;
        dp_ = std::move(*started);
        portMac_[kExt] = dp_->snapshot().ports[kExt].mac;
        portMac_[kInt] = dp_->snapshot().ports[kInt].mac;
    }
    void TearDown() override {
        for (unsigned p = 0; p < 2; ++p) drain(p);
        dp_.reset();
        for (unsigned p = 0; p < 2; ++p) {
            rte_eth_dev_close(ports_[p]);
            rte_ring_free(rx_[p]);
            rte_ring_free(tx_[p]);
        }
        rte_mempool_free(pool_);
    }

    void inject(unsigned port, const std::vector<uint8_t>& frame) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool_);
        ASSERT_NE(m, nullptr);
        void* data = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
        std::memcpy(data, frame.data(), frame.size());
        ASSERT_EQ(rte_ring_enqueue(rx_[port], m), 0);
    }
    std::vector<std::vector<uint8_t>> drain(unsigned port) {
        std::vector<std::vector<uint8_t>> out;
        void* m;
        while (rte_ring_dequeue(tx_[port], &m) == 0) {
            auto* mbuf = static_cast<rte_mbuf*>(m);
            auto* data = rte_pktmbuf_mtod(mbuf, uint8_t*);
            out.emplace_back(data, data + rte_pktmbuf_data_len(mbuf));
            rte_pktmbuf_free(mbuf);
        }
        return out;
    }
    // One worker pass at `now`; returns what each port sent.
    struct Sent {
        std::vector<std::vector<uint8_t>> ext, in;
    };
    // Waits until `predicate` holds, or fails after five seconds.
    template <typename Predicate>
    bool waitFor(Predicate predicate) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!predicate()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        return true;
    }
    Sent step(uint32_t now) {
        dp_->worker(0).step(now);
        return {drain(kExt), drain(kInt)};
    }
    // Idle passes until expiry has looked at every entry of the table (a pass looks at a
    // bounded number so that it never stalls).
    void sweep(uint32_t now) {
        for (size_t i = 0; i <= dp_->connections().capacity() / 64; ++i) step(now);
    }
    // Back ends answer the ARP requests the dataplane sent at start.
    void resolveBackends(uint32_t now = 1) {
        Sent sent = step(now);
        EXPECT_EQ(sent.in.size(), 3u);  // one request per configured back end
        for (const auto& frame : sent.in) {
            ParsedPacket p = parsePacket(frame);
            ASSERT_EQ(p.kind, PacketKind::Arp);
            ArpFields request = readArp(frame, p);
            for (size_t b = 0; b < 3; ++b) {
                if (request.targetIp != kBackends[b]) continue;
                inject(kInt, test::buildArp(portMac_[kInt],
                                            {kArpReply, kBackendMac[b], kBackends[b], portMac_[kInt], request.senderIp}));
            }
        }
        Sent after = step(now);
        EXPECT_TRUE(after.ext.empty() && after.in.empty());
    }
    FrameSpec fromClient(uint32_t vip, uint16_t port, uint8_t proto, uint8_t flags, uint16_t clientPort = 40000) {
        FrameSpec s;
        s.srcMac = kClientRouter;
        s.dstMac = portMac_[kExt];
        s.src = ip("198.18.0.10");
        s.dst = vip;
        s.srcPort = clientPort;
        s.dstPort = port;
        s.proto = proto;
        s.tcpFlags = flags;
        s.payload = {'h', 'i'};
        return s;
    }
    // The back end's answer to `seen` (a frame the gateway sent to it).
    FrameSpec replyTo(const std::vector<uint8_t>& seen, uint8_t flags) {
        ParsedPacket p = parsePacket(seen);
        FrameSpec s;
        s.srcMac = MacAddress::load(&seen[0]);
        s.dstMac = portMac_[kInt];
        s.src = p.dst;
        s.dst = p.src;
        s.srcPort = p.dstPort;
        s.dstPort = p.srcPort;
        s.proto = p.proto;
        s.tcpFlags = flags;
        s.payload = {'o', 'k'};
        return s;
    }
    uint64_t drops(unsigned port, DropReason reason) { return dp_->portDrops(port, reason); }

    virtual void adjust(DataplaneOptions&) {}

    const char* configText_ = nullptr;
    config::NodeId self_ = 1;
    bool launchWorkers_ = false;
    config::Config config_;
    rte_mempool* pool_ = nullptr;
    rte_ring* rx_[2] = {};
    rte_ring* tx_[2] = {};
    uint16_t ports_[2] = {};
    MacAddress portMac_[2];
    std::unique_ptr<Dataplane> dp_;
};

}  // namespace ringgate::dataplane::test
