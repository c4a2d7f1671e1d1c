// libFuzzer target: any bytes as flow-record datagrams. The decoder, the carriage decoder
// and the replicator's whole receive path (channel, store, pulls, asks, resyncs) must never
// crash or read out of bounds, and the counters must account for every datagram. Built with
// clang -fsanitize=fuzzer,address,undefined.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "control/flows/flow_carriage.h"
#include "control/flows/flow_codec.h"
#include "control/flows/flow_replicator.h"

using namespace ringgate::flows;

namespace {

constexpr uint32_t kVip = 0xC6130001u;

void check(bool ok) {
    if (!ok) std::abort();  // an invariant broke: libFuzzer saves the input
}

// Reads the input as a script of well-formed datagrams with fuzzed fields, so that the
// deep paths (in-order, reordered and duplicate batches, resyncs, pulls, asks) are reached
// and not only the decoder's refusals.
struct Script {
    std::span<const uint8_t> in;
    size_t pos = 0;
    bool more() const { return pos < in.size(); }
    uint8_t byte() { return pos < in.size() ? in[pos++] : 0; }
    uint32_t u32() {
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v = v << 8 | byte();
        return v;
    }
};

FlowRecord recordFrom(Script& s, NodeId sender) {
    FlowRecord r;
    uint32_t n = s.byte() % 16;  // few distinct flows: updates, ends and conflicts collide
    r.forward = {0x0A000000u + n, kVip + s.byte() % 2, static_cast<uint16_t>(1000 + n), 80, 6};
    r.reverse = {0xC0A80002u, r.forward.src, 80, r.forward.srcPort, 6};
    r.handler = s.byte() % 4 == 0 ? 1 + s.byte() % 4 : sender;
    r.state = s.byte();
    r.nat = s.byte() % 2 ? NatKind::FullNat : NatKind::Dnat;
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> input(data, size);
    DatagramHeader header;
    std::vector<WireRecord> records;
    (void)decodeDatagram(input, ringgate::cluster::AuthKey(), header, records);
    (void)decodeCarriage(input);

    ReplicatorOptions o;
    o.self = 2;
    o.incarnation = 7;
    o.budgetRecords = 8;
    o.resendQueueBatches = 4;
    o.reorderBatches = 3;
    o.maxDatagram = 200;
    FlowReplicator node(o);
    Time now(1'000'000);
    node.setMembers(now, {1, 2, 3});
    node.setOwnedVips(now, {kVip});
    for (uint32_t i = 0; i < 4; ++i) {
        FlowRecord r;
        r.forward = {0x0A000000u + i, kVip, static_cast<uint16_t>(1000 + i), 80, 6};
        r.reverse = {0xC0A80002u, r.forward.src, 80, r.forward.srcPort, 6};
        r.handler = 2;
        node.localCreated(now, r);
    }

    uint64_t sent = 0;
    node.receive(now, 1, input);  // the raw bytes
    ++sent;
    Script s{input};
    while (s.more()) {
        uint8_t op = s.byte();
        now += ringgate::flows::Time(s.byte() * 1000);
        if (op % 16 == 15) {
            node.tick(now);
            continue;
        }
        if (op % 16 == 14) {
            std::vector<uint8_t> carriage(input.begin() + static_cast<ptrdiff_t>(s.pos), input.end());
            node.onTokenHeld(now, carriage);
            check(decodeCarriage(carriage).has_value());
            continue;
        }
        if (op % 16 == 13) {
            node.setMembers(now, s.byte() % 2 ? std::vector<NodeId>{2, 3} : std::vector<NodeId>{1, 2, 3});
            continue;
        }
        DatagramHeader h;
        h.kind = static_cast<DatagramKind>(1 + op % 16 % 10);  // every kind, TransferEnd (10) included
        h.sender = 1 + s.byte() % 3;  // 2 (ourselves) is a spoof
        h.receiver = s.byte() % 8 ? 2 : 5;
        h.senderIncarnation = 1 + s.byte() % 3;
        h.receiverIncarnation = s.byte() % 4 == 0 ? 6 : (s.byte() % 2 ? 7 : 0);
        h.seq = s.byte() % 12;
        h.seqEnd = h.seq + s.byte() % 4;
        h.vip = kVip + s.byte() % 2;
        std::vector<WireRecord> rs;
        size_t count = s.byte() % 6;
        for (size_t i = 0; i < count; ++i) {
            RecordOp rop = h.kind == DatagramKind::Ask ? RecordOp::Query
                           : h.kind == DatagramKind::Data && s.byte() % 2 ? RecordOp::End
                                                                        : RecordOp::Upsert;
            rs.push_back(WireRecord{rop, recordFrom(s, h.sender)});
        }
        auto bytes = encodeDatagram(h, rs, ringgate::cluster::AuthKey());
        if (s.byte() % 8 == 0 && !bytes.empty()) bytes[s.byte() % bytes.size()] ^= s.byte();
        node.receive(now, 1 + op / 16 % 3, bytes);
        ++sent;
        if (op & 0x80) node.ask(now, rs.empty() ? FlowTuple{} : rs[0].record.reverse);
    }
    node.tick(now + Time(1'000'000));
    (void)node.takeOutgoing();
    (void)node.takeChanges();

    const ReplicatorCounters& c = node.counters();
    check(c.datagramsReceived == sent);
    check(c.datagramsReceived == c.datagramsAccepted + c.malformed + c.badVersion + c.unauthenticated +
                                     c.notForUs + c.staleIncarnation + c.spoofed);
    check(node.heldForOthers() <= o.budgetRecords);
    size_t local = 0, remote = 0;
    for (const HeldRecord& h : node.sample(0, SIZE_MAX)) {
        check(h.roles != 0);
        if (h.roles & static_cast<Roles>(Role::Local)) {
            check(h.roles == static_cast<Roles>(Role::Local) && h.record.handler == 2);
            ++local;
        } else {
            check(h.record.handler != 2);
            ++remote;
        }
    }
    check(local == node.localCount() && remote == node.heldForOthers());
    return 0;
}
