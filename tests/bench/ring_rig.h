// What the in-memory fast-path benchmarks share: 64-byte TCP frames with valid
// checksums, two net_ring ports whose RX rings the benchmark fills and whose TX rings it
// empties again (mbufs reused, never freed), and the median of a series.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "dataplane/flow.h"
#include "dataplane/packet.h"

namespace ringgate::dataplane::bench {

struct Flow {
    FlowKey forward;
    FlowKey reverse;
};

// A 60-byte TCP frame (64 on the wire) with valid checksums.
inline void writeFrame(uint8_t* p, const FlowKey& key, uint8_t flags) {
    std::memset(p, 0, 60);
    p[0] = 0x02;
    p[5] = 0x01;
    p[6] = 0x02;
    p[11] = 0xc1;
    store16(p + 12, kEtherTypeIpv4);
    uint8_t* ip = p + 14;
    ip[0] = 0x45;
    store16(ip + 2, 40);
    ip[8] = 64;
    ip[9] = kProtoTcp;
    store32(ip + 12, key.src);
    store32(ip + 16, key.dst);
    store16(ip + 10, internetChecksum(ConstBytes(ip, 20)));
    uint8_t* tcp = ip + 20;
    store16(tcp, key.srcPort);
    store16(tcp + 2, key.dstPort);
    tcp[12] = 0x50;
    tcp[13] = flags;
    store16(tcp + 14, 65535);
    uint8_t pseudo[12];
    store32(pseudo, key.src);
    store32(pseudo + 4, key.dst);
    pseudo[8] = 0;
    pseudo[9] = kProtoTcp;
    store16(pseudo + 10, 20);
    uint32_t sum = checksumPartial(ConstBytes(pseudo, 12));
    store16(tcp + 16, static_cast<uint16_t>(~checksumFold(checksumPartial(ConstBytes(tcp, 20), sum))));
}

struct Rig {
    rte_ring* rx[2] = {};
    rte_ring* tx[2] = {};
    uint16_t ports[2] = {};
    rte_mempool* pool = nullptr;
    std::vector<rte_mbuf*> spare;

    rte_mbuf* take() {
        if (!spare.empty()) {
            rte_mbuf* m = spare.back();
            spare.pop_back();
            return m;
        }
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        if (m) rte_pktmbuf_append(m, 60);
        return m;
    }
    void fill(unsigned port, const FlowKey* keys, unsigned count, uint8_t flags) {
        for (unsigned i = 0; i < count; ++i) {
            rte_mbuf* m = take();
            if (!m) return;
            m->data_len = 60;
            m->pkt_len = 60;
            writeFrame(rte_pktmbuf_mtod(m, uint8_t*), keys[i], flags);
            rte_ring_enqueue(rx[port], m);
        }
    }
    // Takes back what the ports sent (the mbufs are reused, never freed).
    unsigned collect() {
        unsigned n = 0;
        for (unsigned p = 0; p < 2; ++p) {
            void* m;
            while (rte_ring_dequeue(tx[p], &m) == 0) {
                spare.push_back(static_cast<rte_mbuf*>(m));
                ++n;
            }
        }
        return n;
    }
};

inline double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values.empty() ? 0 : values[values.size() / 2];
}

}  // namespace ringgate::dataplane::bench
