#include "dataplane/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_random.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <sys/prctl.h>
#include <time.h>

#include <algorithm>

#include "common/log.h"
#include "common/rendezvous.h"
#include "dataplane/flow_hash.h"

namespace ringgate::dataplane {

namespace {
// Expiry work per pass: a little while packets flow (every entry examined is a cache miss
// that the batch pays for; at full load, ~100 k passes a second, 16 a pass still sweep a
// 1 M table in under a second); while idle (about a thousand passes a second with the
// default back-off) a thousandth of the worker's slice, so that the whole table is swept
// about once a second and a small table costs an idle worker almost nothing.
constexpr unsigned kExpireBudgetBusy = 16;
constexpr unsigned kExpireBudgetIdleMin = 64;
constexpr unsigned kExpireBudgetIdleMax = 4096;
// Fullnat: source ports to try before giving up on a new flow.
constexpr unsigned kNatPortAttempts = 16;
// How long a worker keeps polling after its last packet before it first sleeps. Under load
// a socket's RX ring runs empty for tens of microseconds between the sender's bursts; a
// worker that slept then (64 empty passes were enough before) lost part of the next burst
// (tests/bench/afxdp_forwarding_bench.py). Idle, it costs one such spin per quiet spell.
constexpr uint64_t kIdleSpinUs = 200;
constexpr unsigned kCommandsPerPass = 16;
// Flow messages from the cluster plane applied per pass: bounded work, and a burst of
// thousands (a resync, an adoption) still lands within milliseconds.
constexpr unsigned kFlowMessagesPerPass = 64;
// A flow whose packet went to its authority is asked about again at most this often.
constexpr uint32_t kAskIntervalMs = 1000;

Bytes frameOf(rte_mbuf* m) { return Bytes(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m)); }

FlowKey keyOf(const ParsedPacket& p) { return FlowKey{p.src, p.dst, p.srcPort, p.dstPort, p.proto}; }
}  // namespace

uint32_t clockMs(uint64_t tscEpoch) {
    static const uint64_t cyclesPerMs = std::max<uint64_t>(rte_get_tsc_hz() / 1000, 1);
    return static_cast<uint32_t>((rte_get_tsc_cycles() - tscEpoch) / cyclesPerMs);
}

uint64_t packCommand(WorkerCommand command, unsigned port, uint32_t ip) {
    return uint64_t{static_cast<uint8_t>(command)} << 40 | uint64_t{port & 0xff} << 32 | ip;
}

// Expiry tells the cluster plane what ended: a flow of ours, or an entry kept for another
// node's flow that went idle.
class Worker::ExpiryEvents : public ExpirySink {
public:
    explicit ExpiryEvents(Worker& worker) : worker_(worker) {}
    void expired(const Connection& conn) override {
        bool remote = conn.flags.load(std::memory_order_relaxed) & entry::kRemote;
        worker_.emit(remote ? FlowMessageType::RemoteExpired : FlowMessageType::Ended, conn);
    }

private:
    Worker& worker_;
};

Worker::Worker(unsigned id, const WorkerShared& shared, WorkerRings rings)
    : id_(id), shared_(shared), commands_(rings.commands), flowsIn_(rings.flowsIn), flowsOut_(rings.flowsOut),
      idleExpireBudget_(static_cast<unsigned>(std::clamp<size_t>(shared.table->sliceSize(id) / 1000,
                                                                  kExpireBudgetIdleMin, kExpireBudgetIdleMax))) {
    held_.reserve(shared_.holdCapacity);
}

Worker::~Worker() {
    for (HeldPacket& h : held_) rte_pktmbuf_free(h.m);
}

void Worker::send(unsigned port, rte_mbuf* m) {
    TxBuffer& buffer = tx_[port];
    buffer.packets[buffer.count++] = m;
    if (buffer.count == 2 * kBurst) flush();
}

void Worker::drop(unsigned port, rte_mbuf* m, DropReason reason) {
    counters_.ports[port].drops[static_cast<size_t>(reason)].add();
    rte_pktmbuf_free(m);
}

void Worker::toHost(unsigned port, rte_mbuf* m, const ParsedPacket& p) {
    const PortView& view = snapshot_->ports[port];
    bool hostBound = p.kind != PacketKind::Ipv4 || p.dst == view.primary || p.dst == 0xffffffffu ||
                     (p.dst >> 28) == 0xe || p.dst == (view.network | ~view.mask);
    if (!shared_.hasException[port] || !hostBound) {
        drop(port, m, DropReason::NotOurs);
        return;
    }
    TxBuffer& buffer = hostTx_[port];
    buffer.packets[buffer.count++] = m;
    counters_.ports[port].toHost.add();
    if (buffer.count == 2 * kBurst) flush();
}

void Worker::pollException(unsigned port) {
    rte_mbuf* packets[kBurst];
    uint16_t n = rte_eth_rx_burst(shared_.exceptionIds[port], static_cast<uint16_t>(id_), packets, kBurst);
    if (n == 0) return;
    uint16_t sent = rte_eth_tx_burst(shared_.portIds[port], static_cast<uint16_t>(id_), packets, n);
    counters_.ports[port].fromHost.add(sent);
    for (uint16_t i = sent; i < n; ++i) drop(port, packets[i], DropReason::TxFull);
}

void Worker::flush() {
    for (unsigned port = 0; port < shared_.portCount; ++port) {
        TxBuffer& host = hostTx_[port];
        if (host.count > 0) {
            uint16_t sent = rte_eth_tx_burst(shared_.exceptionIds[port], static_cast<uint16_t>(id_),
                                             host.packets, host.count);
            for (uint16_t i = sent; i < host.count; ++i) drop(port, host.packets[i], DropReason::TxFull);
            host.count = 0;
        }
        TxBuffer& buffer = tx_[port];
        if (buffer.count == 0) continue;
        uint16_t sent = rte_eth_tx_burst(shared_.portIds[port], static_cast<uint16_t>(id_),
                                         buffer.packets, buffer.count);
        uint64_t bytes = 0;
        for (uint16_t i = 0; i < sent; ++i) bytes += rte_pktmbuf_pkt_len(buffer.packets[i]);
        counters_.ports[port].txPackets.add(sent);
        counters_.ports[port].txBytes.add(bytes);
        for (uint16_t i = sent; i < buffer.count; ++i) drop(port, buffer.packets[i], DropReason::TxFull);
        buffer.count = 0;
    }
}

void Worker::processBatch(rte_mbuf** packets, const uint8_t* ports, unsigned count, uint32_t nowMs) {
    ParsedPacket parsed[kBatch];
    FlowKey keys[kBatch];
    const FlowKey* keyPointers[kBatch];
    uint8_t keyPacket[kBatch];
    unsigned keyCount = 0;
    for (unsigned i = 0; i < count && i < 4; ++i) rte_prefetch0(rte_pktmbuf_mtod(packets[i], void*));

    for (unsigned i = 0; i < count; ++i) {
        if (i + 4 < count) rte_prefetch0(rte_pktmbuf_mtod(packets[i + 4], void*));
        parsePacket(frameOf(packets[i]), parsed[i]);
    }
    // Classified in a second loop: reading a packet's fields right after parsePacket
    // wrote them (the key's wide loads over its narrow stores) stalled on store forwarding.
    for (unsigned i = 0; i < count; ++i) {
        rte_mbuf* m = packets[i];
        const ParsedPacket& p = parsed[i];
        if (p.error != DropReason::None) {
            drop(ports[i], m, p.error);
            continue;
        }
        if (p.kind == PacketKind::Ipv4 && (p.proto == kProtoTcp || p.proto == kProtoUdp)) {
            keys[keyCount] = keyOf(p);
            keyPointers[keyCount] = &keys[keyCount];
            keyPacket[keyCount++] = static_cast<uint8_t>(i);
        } else if (p.kind == PacketKind::Arp) {
            handleArp(ports[i], m, p, nowMs);
        } else if (p.kind == PacketKind::Ipv4 && p.proto == kProtoIcmp) {
            handleIcmp(ports[i], m, p);
        } else {
            toHost(ports[i], m, p);
        }
    }
    if (keyCount == 0) return;

    // One bulk lookup for the whole batch: it prefetches every key's bucket, then every
    // candidate entry, and confirms each hit against its entry, so the entries forward()
    // reads are in the cache when the lookup returns.
    ConnectionTable::Hit hits[kBatch];
    NewFlowPlan plans[kBatch];
    batchCreatedCount_ = 0;
    uint64_t found = shared_.table->lookupBulk(keyPointers, keyCount, hits);
    uint64_t all = keyCount == kBatch ? ~uint64_t{0} : (uint64_t{1} << keyCount) - 1;
    if (found != all) planNewFlows(~found & all, keyPacket, keyCount, parsed, plans);
    for (unsigned k = 0; k < keyCount; ++k) {
        unsigned i = keyPacket[k];
        if (found >> k & 1) forward(hits[k].conn, hits[k].fromBackend, ports[i], packets[i], parsed[i], nowMs);
        else newFlow(ports[i], packets[i], parsed[i], plans[k], nowMs);
    }
}

void Worker::forward(Connection* conn, bool fromBackend, unsigned arrival, rte_mbuf* m, const ParsedPacket& p,
                     uint32_t nowMs) {
    if (conn->flags.load(std::memory_order_acquire) & entry::kRemote) {
        toHandler(conn, arrival, m, p, nowMs);
        return;
    }
    unsigned in = fromBackend ? conn->backendPort : conn->clientPort;
    if (p.ttl <= 1) {
        drop(in, m, DropReason::TtlExceeded);
        return;
    }
    if (p.proto == kProtoTcp) {
        auto state = static_cast<FlowState>(conn->state.load(std::memory_order_relaxed));
        // Most packets are plain segments of an established flow: no state to change.
        if (state != FlowState::Established || (p.tcpFlags & (kTcpSyn | kTcpFin | kTcpRst))) {
            FlowState next = nextState(state, !fromBackend, p.tcpFlags);
            if (next != state) conn->state.store(static_cast<uint8_t>(next), std::memory_order_relaxed);
        }
    }
    if (conn->lastSeenMs.load(std::memory_order_relaxed) != nowMs)
        conn->lastSeenMs.store(nowMs, std::memory_order_relaxed);

    Bytes frame = frameOf(m);
    unsigned out;
    if (!fromBackend) {
        const FlowKey& r = conn->reverse;
        rewriteFlow(frame, p, {r.dst, r.src, r.dstPort, r.srcPort});
        out = conn->backendPort;
        setEthernet(frame, conn->backendMac, snapshot_->ports[out].mac);
    } else {
        const FlowKey& f = conn->forward;
        rewriteFlow(frame, p, {f.dst, f.src, f.dstPort, f.srcPort});
        out = conn->clientPort;
        setEthernet(frame, conn->clientMac, snapshot_->ports[out].mac);
    }
    uint32_t bytes = rte_pktmbuf_pkt_len(m);
    counters_.services[conn->service].packets.add();
    counters_.services[conn->service].bytes.add(bytes);
    counters_.backends[conn->backend].packets.add();
    counters_.backends[conn->backend].bytes.add(bytes);
    counters_.vips[conn->vip].packets.add();
    counters_.vips[conn->vip].bytes.add(bytes);
    send(out, m);
}

bool Worker::resolveNeighbour(unsigned egress, uint32_t ip, uint32_t nowMs, MacAddress& mac) {
    auto found = shared_.neighbours->lookup(ip, nowMs);
    if (!found || found->needsRefresh) {
        if (shared_.neighbours->shouldRequest(ip, nowMs)) sendArp(egress, ip, false);
    }
    if (!found) return false;
    mac = found->mac;
    return true;
}

FlowKey Worker::reverseKey(const ServiceView& service, const BackendView& backend, const ParsedPacket& p) {
    if (service.nat == config::NatMode::Dnat)
        return FlowKey{backend.address, p.src, backend.port, p.srcPort, p.proto};
    auto natPort = static_cast<uint16_t>(natPorts_.first + nextNatPort_);
    if (++nextNatPort_ == uint32_t{natPorts_.last} - natPorts_.first + 1) nextNatPort_ = 0;
    return FlowKey{backend.address, snapshot_->ports[backend.egress].natSource, backend.port, natPort, p.proto};
}

void Worker::planNewFlows(uint64_t missed, const uint8_t* keyPacket, unsigned keyCount,
                          const ParsedPacket* parsed, NewFlowPlan* plans) {
    // Each new flow's insert first checks that its reply tuple is free: a lookup that,
    // made one flow at a time, waits for its own memory misses. Choosing every new flow's
    // back end and reply tuple first and looking the tuples up together brings their
    // buckets and keys into the cache in one overlapped wave.
    FlowKey keys[kBatch];
    const FlowKey* pointers[kBatch];
    ConnectionTable::Hit hits[kBatch];
    unsigned count = 0;
    for (unsigned k = 0; k < keyCount; ++k) {
        if (!(missed >> k & 1)) continue;
        const ParsedPacket& p = parsed[keyPacket[k]];
        NewFlowPlan& plan = plans[k];
        plan.service = snapshot_->findService(p.dst, p.dstPort, p.proto);
        if (!plan.service || plan.service->backends.empty()) continue;
        uint32_t hash = flowHash(p.src, p.dst, p.srcPort, p.dstPort, p.proto);
        plan.backend = &plan.service->backends[plan.service->maglev[hash % plan.service->maglev.size()]];
        plan.reverse = reverseKey(*plan.service, *plan.backend, p);
        keys[count] = plan.reverse;
        pointers[count] = &keys[count];
        ++count;
    }
    if (count > 0) shared_.table->lookupBulk(pointers, count, hits);
}

void Worker::newFlow(unsigned port, rte_mbuf* m, const ParsedPacket& p, const NewFlowPlan& plan,
                     uint32_t nowMs) {
    const VipView* vip = snapshot_->findOwnedVip(p.dst);
    if (!vip) {
        unknownFlow(port, m, p, nowMs);
        return;
    }
    // Two packets of one new flow in the same batch both missed the bulk lookup: the
    // second finds the entry the first created among this batch's new flows.
    FlowKey forwardKey = keyOf(p);
    for (unsigned i = 0; i < batchCreatedCount_; ++i) {
        if (batchCreated_[i]->forward == forwardKey) {
            forward(batchCreated_[i], false, port, m, p, nowMs);
            return;
        }
    }

    // A reply to the NAT source (the internal VIP, which this node owns) of a flow another
    // node handles: no service listens there; its authority knows the handler.
    if (!plan.service && snapshot_->flows && isReply(p)) {
        unknownFlow(port, m, p, nowMs);
        return;
    }
    // A segment of a TCP flow we do not know, on a VIP just taken over: the previous
    // owner still handles that flow (it has the NAT state), so it goes on to it.
    if (vip->handOverPeer && p.proto == kProtoTcp && !(p.tcpFlags & kTcpSyn) &&
        static_cast<int32_t>(vip->handOverUntilMs - nowMs) > 0) {
        handToPeer(port, m, vip->handOverPeer, nowMs);
        return;
    }
    // A VIP just taken over from a dead node: the records of its flows are on their way
    // (pulled from the replicas); a packet of a flow we do not know yet, but for a SYN,
    // waits for them instead of becoming a new flow with another translation.
    bool syn = p.proto == kProtoTcp && (p.tcpFlags & kTcpSyn);
    if (vip->holdUntilMs && !syn && static_cast<int32_t>(vip->holdUntilMs - nowMs) > 0) {
        hold(port, m, p, nowMs);
        return;
    }
    const ServiceView* service = plan.service;
    if (!service) {
        drop(port, m, DropReason::NoService);
        return;
    }
    if (p.proto == kProtoTcp && (p.tcpFlags & kTcpRst)) {
        drop(port, m, DropReason::NotOurs);  // a reset for a flow we do not know: nothing to do
        return;
    }
    if (service->backends.empty()) {
        drop(port, m, DropReason::NoBackend);
        return;
    }
    if (p.ttl <= 1) {
        drop(port, m, DropReason::TtlExceeded);
        return;
    }
    const BackendView& backend = *plan.backend;
    ConnectionInit init;
    if (!resolveNeighbour(backend.egress, backend.address, nowMs, init.backendMac)) {
        drop(port, m, DropReason::NoNeighbour);
        return;
    }
    init.forward = forwardKey;
    init.clientMac = MacAddress::load(rte_pktmbuf_mtod_offset(m, uint8_t*, 6));
    init.clientPort = static_cast<uint16_t>(port);
    init.backendPort = backend.egress;
    init.service = service->counterIndex;
    init.backend = backend.counterSlot;
    init.vip = vip->counterIndex;
    init.handler = static_cast<uint16_t>(snapshot_->self);
    init.flags = service->nat == config::NatMode::Dnat ? 0 : entry::kFullNat;
    init.state = initialState(p.proto, p.tcpFlags);
    init.nowMs = nowMs;

    // The reply tuple: as planned; fullnat tries further source ports while the
    // planned one is some other flow's.
    Connection* conn = nullptr;
    init.reverse = plan.reverse;
    InsertResult result = shared_.table->insert(id_, init, &conn);
    bool fullnat = service->nat != config::NatMode::Dnat;
    for (unsigned attempt = 1; fullnat && attempt < kNatPortAttempts && result == InsertResult::ReverseTaken;
         ++attempt) {
        init.reverse = reverseKey(*service, backend, p);
        result = shared_.table->insert(id_, init, &conn);
    }
    if (result != InsertResult::Inserted) {
        drop(port, m, result == InsertResult::Full ? DropReason::TableFull : DropReason::NoNatPort);
        return;
    }
    batchCreated_[batchCreatedCount_++] = conn;
    counters_.services[init.service].newFlows.add();
    counters_.backends[init.backend].newFlows.add();
    counters_.vips[init.vip].newFlows.add();
    if (snapshot_->flows) {
        emit(FlowMessageType::Created, *conn);
        if (p.proto == kProtoTcp && !(p.tcpFlags & kTcpSyn)) counters_.flows.unsaved.add();
    }
    forward(conn, false, port, m, p, nowMs);
}

bool Worker::isReply(const ParsedPacket& p) const {
    // fullnat: to the NAT source (a VIP) on a NAT port; dnat: from a back end, to a client.
    if (snapshot_->isClusterVip(p.dst)) return p.dstPort >= config::kNatPortFirst && p.dstPort <= config::kNatPortLast;
    return snapshot_->backendSlot(p.src, p.srcPort) >= 0;
}

void Worker::unknownFlow(unsigned port, rte_mbuf* m, const ParsedPacket& p, uint32_t nowMs) {
    const Snapshot& snap = *snapshot_;
    if (!snap.flows || snap.members.size() < 2 || !isReply(p)) {
        toHost(port, m, p);
        return;
    }
    // A reply of a flow another gateway handles (seed 004 Fig 20): its authority knows the
    // handler. We are the authority and the record is not here yet (a SYN-ACK outran
    // it): hold the packet until it comes.
    RendezvousPick pick = rendezvousPick(authorityKey(p.dst, p.dstPort, p.proto), snap.members);
    if (pick.first == snap.self) {
        hold(port, m, p, nowMs);
        return;
    }
    if (sendToNode(port, m, pick.first, nowMs)) {
        counters_.flows.toAuthority.add();
        ask(p, nowMs);
    }
}

void Worker::toHandler(Connection* conn, unsigned arrival, rte_mbuf* m, const ParsedPacket& p, uint32_t nowMs) {
    uint32_t handler = conn->handler.load(std::memory_order_relaxed);
    if (!snapshot_->isMember(handler)) {
        // Its handler is gone and another node adopts the flow: a reply goes to the
        // authority (which learns the adopter first, and answers our ask); a client
        // packet on a VIP we own waits for the adoption here.
        if (isReply(p)) unknownFlow(arrival, m, p, nowMs);
        else if (snapshot_->findOwnedVip(p.dst)) hold(arrival, m, p, nowMs);
        else drop(arrival, m, DropReason::NotOurs);
        return;
    }
    if (!(conn->flags.load(std::memory_order_relaxed) & entry::kPinned) &&
        conn->lastSeenMs.load(std::memory_order_relaxed) != nowMs)
        conn->lastSeenMs.store(nowMs, std::memory_order_relaxed);
    if (sendToNode(arrival, m, handler, nowMs)) counters_.flows.toHandler.add();
}

bool Worker::sendToNode(unsigned port, rte_mbuf* m, uint32_t node, uint32_t nowMs) {
    uint32_t address = snapshot_->ports[port].addressOf(node);
    if (address == 0) {
        drop(port, m, DropReason::NoPeerAddress);
        return false;
    }
    MacAddress mac;
    if (!resolveNeighbour(port, address, nowMs, mac)) {
        drop(port, m, DropReason::NoNeighbour);  // the sender resends; the ARP request is out
        return false;
    }
    // Unchanged above Ethernet: the node it goes to translates it as if it had come first.
    setEthernet(frameOf(m), mac, snapshot_->ports[port].mac);
    send(port, m);
    return true;
}

void Worker::hold(unsigned port, rte_mbuf* m, const ParsedPacket& p, uint32_t nowMs) {
    if (held_.size() >= shared_.holdCapacity) {
        drop(port, m, DropReason::HoldFull);
        return;
    }
    held_.push_back({m, keyOf(p), nowMs + shared_.holdMs, static_cast<uint8_t>(port)});
    counters_.flows.held.add();
}

void Worker::releaseHeld(uint32_t nowMs) {
    uint64_t installs = shared_.installs ? shared_.installs->load(std::memory_order_acquire) : 0;
    bool news = installs != installsSeen_;
    installsSeen_ = installs;
    if (!news && static_cast<int32_t>(held_.front().deadlineMs - nowMs) > 0) return;
    size_t kept = 0;
    for (size_t i = 0; i < held_.size(); ++i) {
        HeldPacket h = held_[i];
        if (news) {
            ConnectionTable::Hit hit = shared_.table->lookup(h.key);
            if (hit.conn && (!(hit.conn->flags.load(std::memory_order_acquire) & entry::kRemote) ||
                             snapshot_->isMember(hit.conn->handler.load(std::memory_order_relaxed)))) {
                ParsedPacket p;
                parsePacket(frameOf(h.m), p);
                counters_.flows.released.add();
                forward(hit.conn, hit.fromBackend, h.port, h.m, p, nowMs);
                continue;
            }
        }
        if (static_cast<int32_t>(h.deadlineMs - nowMs) <= 0) {
            drop(h.port, h.m, DropReason::HoldExpired);
            continue;
        }
        held_[kept++] = h;
    }
    held_.resize(kept);
}

void Worker::emit(FlowMessageType type, const Connection& conn) {
    if (!flowsOut_) return;
    FlowMessage message;
    message.type = type;
    message.forward = conn.forward;
    message.reverse = conn.reverse;
    message.clientMac = conn.clientMac;
    message.backendMac = conn.backendMac;
    message.handler = conn.handler.load(std::memory_order_relaxed);
    message.state = conn.state.load(std::memory_order_relaxed);
    message.fullnat = (conn.flags.load(std::memory_order_relaxed) & entry::kFullNat) ? 1 : 0;
    if (rte_ring_enqueue_elem(flowsOut_, &message, sizeof message) != 0) counters_.flows.recordsOutDropped.add();
    else counters_.flows.recordsOut.add();
}

void Worker::ask(const ParsedPacket& p, uint32_t nowMs) {
    if (!flowsOut_) return;
    uint32_t hash = flowHash(p.src, p.dst, p.srcPort, p.dstPort, p.proto);
    unsigned slot = hash % kAskSlots;
    if (askedKey_[slot] == hash && nowMs - askedAt_[slot] < kAskIntervalMs) return;
    askedKey_[slot] = hash;
    askedAt_[slot] = nowMs;
    FlowMessage message;
    message.type = FlowMessageType::Ask;
    message.forward = keyOf(p);
    if (rte_ring_enqueue_elem(flowsOut_, &message, sizeof message) == 0) counters_.flows.asks.add();
}

void Worker::runFlowMessages(uint32_t nowMs) {
    if (!flowsIn_) return;
    FlowMessage messages[kFlowMessagesPerPass];
    unsigned n = rte_ring_dequeue_burst_elem(flowsIn_, messages, sizeof(FlowMessage), kFlowMessagesPerPass, nullptr);
    if (n == 0) return;
    for (unsigned i = 0; i < n; ++i) {
        switch (messages[i].type) {
            case FlowMessageType::InstallRemote: installRemote(messages[i], nowMs); break;
            case FlowMessageType::Adopt: adopt(messages[i], nowMs); break;
            case FlowMessageType::RemoveRemote: forget(messages[i], nowMs); break;
            default: break;
        }
    }
    if (shared_.installs) shared_.installs->fetch_add(1, std::memory_order_release);
}

Worker::ClusterEntry Worker::putClusterEntry(const ConnectionInit& init) {
    ConnectionTable::Hit hit = shared_.table->lookup(init.forward);
    if (!hit.conn) return shared_.table->insert(id_, init) == InsertResult::Inserted ? ClusterEntry::Put : ClusterEntry::Failed;
    Connection& conn = *hit.conn;
    if (!(conn.flags.load(std::memory_order_relaxed) & entry::kRemote)) return ClusterEntry::Ours;
    // Readers look at the flags first: fill the translation, then publish it.
    conn.clientMac = init.clientMac;
    conn.backendMac = init.backendMac;
    conn.clientPort = init.clientPort;
    conn.backendPort = init.backendPort;
    conn.service = init.service;
    conn.backend = init.backend;
    conn.vip = init.vip;
    conn.state.store(static_cast<uint8_t>(init.state), std::memory_order_relaxed);
    conn.lastSeenMs.store(init.nowMs, std::memory_order_relaxed);
    conn.handler.store(init.handler, std::memory_order_relaxed);
    conn.flags.store(init.flags, std::memory_order_release);
    return ClusterEntry::Put;
}

void Worker::installRemote(const FlowMessage& message, uint32_t nowMs) {
    ConnectionInit init;
    init.forward = message.forward;
    init.reverse = message.reverse;
    init.clientMac = message.clientMac;
    init.backendMac = message.backendMac;
    init.handler = message.handler;
    init.flags = entry::kRemote | (message.pinned ? entry::kPinned : 0) | (message.fullnat ? entry::kFullNat : 0);
    init.state = static_cast<FlowState>(message.state);
    init.nowMs = nowMs;
    switch (putClusterEntry(init)) {
        case ClusterEntry::Put: counters_.flows.installed.add(); break;
        case ClusterEntry::Failed: counters_.flows.installFailed.add(); break;
        case ClusterEntry::Ours: break;  // a stale record of a flow this node handles
    }
}

void Worker::adopt(const FlowMessage& message, uint32_t nowMs) {
    const Snapshot& snap = *snapshot_;
    int clientPort = snap.portFacing(message.forward.dst);
    int backendPort = snap.portFacing(message.reverse.src);
    if (clientPort < 0 || backendPort < 0) {
        counters_.flows.adoptFailed.add();
        return;
    }
    const ServiceView* service = snap.findService(message.forward.dst, message.forward.dstPort, message.forward.proto);
    const VipView* vip = snap.findOwnedVip(message.forward.dst);
    int slot = snap.backendSlot(message.reverse.src, message.reverse.srcPort);
    ConnectionInit init;
    init.forward = message.forward;
    init.reverse = message.reverse;
    init.clientMac = message.clientMac;
    if (init.clientMac.isZero())
        (void)resolveNeighbour(static_cast<unsigned>(clientPort), message.forward.src, nowMs, init.clientMac);
    init.backendMac = message.backendMac;
    if (init.backendMac.isZero())
        (void)resolveNeighbour(static_cast<unsigned>(backendPort), message.reverse.src, nowMs, init.backendMac);
    init.clientPort = static_cast<uint16_t>(clientPort);
    init.backendPort = static_cast<uint16_t>(backendPort);
    init.service = service ? service->counterIndex : 0;
    init.backend = slot >= 0 ? static_cast<uint16_t>(slot) : 0;
    init.vip = vip ? vip->counterIndex : 0;
    init.handler = static_cast<uint16_t>(snap.self);
    init.flags = message.fullnat ? entry::kFullNat : 0;
    // The record was made when the flow began; a flow alive to be adopted is past its
    // handshake (its packets move it on from there).
    init.state = static_cast<FlowState>(message.state);
    if (message.forward.proto == kProtoTcp && (init.state == FlowState::SynSent || init.state == FlowState::SynReceived))
        init.state = FlowState::Established;
    init.nowMs = nowMs;
    switch (putClusterEntry(init)) {
        case ClusterEntry::Put: counters_.flows.adopted.add(); break;
        case ClusterEntry::Failed: counters_.flows.adoptFailed.add(); break;
        case ClusterEntry::Ours: break;  // already ours
    }
}

void Worker::forget(const FlowMessage& message, uint32_t nowMs) {
    ConnectionTable::Hit hit = shared_.table->lookup(message.forward);
    if (!hit.conn || !(hit.conn->flags.load(std::memory_order_relaxed) & entry::kRemote)) return;
    counters_.flows.removed.add();
    if (shared_.table->ownerOf(hit.conn) == id_) {
        shared_.table->remove(id_, hit.conn);
        return;
    }
    // Another worker's entry: only its owner frees it. Unpinned and long idle, its owner's
    // next expiry sweep removes it.
    hit.conn->flags.store(entry::kRemote, std::memory_order_relaxed);
    hit.conn->lastSeenMs.store(nowMs - (1u << 30), std::memory_order_relaxed);
}

void Worker::handToPeer(unsigned port, rte_mbuf* m, uint32_t peer, uint32_t nowMs) {
    MacAddress peerMac;
    if (!resolveNeighbour(port, peer, nowMs, peerMac)) {
        drop(port, m, DropReason::NoNeighbour);  // TCP resends; the ARP request is out
        return;
    }
    setEthernet(frameOf(m), peerMac, snapshot_->ports[port].mac);
    counters_.ports[port].handedToPeer.add();
    send(port, m);
}

void Worker::handleArp(unsigned port, rte_mbuf* m, const ParsedPacket& p, uint32_t nowMs) {
    const Snapshot& snap = *snapshot_;
    const PortView& view = snap.ports[port];
    PortCounters& pc = counters_.ports[port];
    pc.arpIn.add();
    Bytes frame = frameOf(m);
    ArpFields arp = readArp(frame, p);
    // Learn neighbours on the port's own subnet only: an ARP cannot teach us where an
    // address of another subnet lives. Our own addresses are never learned. Where a VIP
    // is answered is the cluster's business: a peer's announcement of a VIP is not
    // learned (a node that had learned it would take a later hand-over for a conflict);
    // only an answer to our own probe (addressed to 0.0.0.0) teaches a VIP, because then
    // someone else does answer for it.
    bool probeAnswer = arp.op == kArpReply && arp.targetIp == 0;
    if (view.contains(arp.senderIp) && arp.senderIp != view.primary && !snap.findOwnedVip(arp.senderIp) &&
        (probeAnswer || !snap.isClusterVip(arp.senderIp)))
        shared_.neighbours->learn(arp.senderIp, arp.senderMac, nowMs);
    if (shared_.hasException[port] && (arp.targetIp == view.primary || arp.op == kArpRequest) &&
        !snap.findOwnedVip(arp.targetIp)) {
        // The host answers for its own address (with this port's MAC, which its exception
        // interface carries) and sees the requests of its neighbours.
        toHost(port, m, p);
        return;
    }
    if (arp.op == kArpRequest && arp.senderIp != arp.targetIp) {
        const VipView* vip = snap.findOwnedVip(arp.targetIp);
        bool ours = (vip && vip->port == port) || arp.targetIp == view.primary;
        // Frames from a veth or a host stack are not padded to 60 bytes: grow the mbuf.
        if (ours && frame.size() < kMinFrameLen &&
            rte_pktmbuf_append(m, static_cast<uint16_t>(kMinFrameLen - frame.size())))
            frame = frameOf(m);
        if (ours && frame.size() >= kMinFrameLen) {
            ArpFields request = arp;
            size_t len = writeArpReply(frame, request, view.mac);
            rte_pktmbuf_data_len(m) = static_cast<uint16_t>(len);
            rte_pktmbuf_pkt_len(m) = static_cast<uint32_t>(len);
            pc.arpReplies.add();
            send(port, m);
            return;
        }
    }
    rte_pktmbuf_free(m);  // consumed (learned from, or not about us)
}

void Worker::handleIcmp(unsigned port, rte_mbuf* m, const ParsedPacket& p) {
    const Snapshot& snap = *snapshot_;
    Bytes frame = frameOf(m);
    if (p.icmpType == kIcmpEchoRequest) {
        if (!snap.findOwnedVip(p.dst)) {
            toHost(port, m, p);
            return;
        }
        makeIcmpEchoReply(frame, p);
        counters_.ports[port].icmpEchoReplies.add();
        send(port, m);
        return;
    }
    if (!isIcmpError(p.icmpType)) {
        if (p.dst == snap.ports[port].primary && shared_.hasException[port]) toHost(port, m, p);
        else drop(port, m, DropReason::UnsupportedIcmp);
        return;
    }
    auto quoted = parseQuotedFlow(frame, p);
    if (!quoted) {
        drop(port, m, DropReason::UnsupportedIcmp);
        return;
    }
    // The quoted datagram is one we sent; the flow key of its direction of arrival is the
    // quoted one with source and destination swapped.
    FlowKey key{quoted->dst, quoted->src, quoted->dstPort, quoted->srcPort, quoted->proto};
    auto hit = shared_.table->lookup(key);
    if (!hit.conn) {
        toHost(port, m, p);  // about the host's own traffic, or nobody's
        return;
    }
    if (p.ttl <= 1) {
        drop(port, m, DropReason::TtlExceeded);
        return;
    }
    Connection* conn = hit.conn;
    if (conn->flags.load(std::memory_order_acquire) & entry::kRemote) {
        // About a flow another node translates: it goes there, as the flow's packets do.
        toHandler(conn, port, m, p, clockMs(shared_.tscEpoch));
        return;
    }
    // About what we sent to the client: tell the back end, quoting what it had sent us.
    // About what we sent to the back end: tell the client, quoting what it had sent us.
    const FlowKey& original = hit.fromBackend ? conn->forward : conn->reverse;
    FlowRewrite newQuoted{original.src, original.dst, original.srcPort, original.dstPort};
    rewriteIcmpError(frame, p, *quoted, newQuoted, original.dst, original.src);
    unsigned out = hit.fromBackend ? conn->clientPort : conn->backendPort;
    setEthernet(frame, hit.fromBackend ? conn->clientMac : conn->backendMac, snap.ports[out].mac);
    send(out, m);
}

void Worker::sendArp(unsigned port, uint32_t targetIp, bool gratuitous) {
    rte_mbuf* m = rte_pktmbuf_alloc(shared_.pool);
    if (!m) {
        counters_.ports[port].drops[static_cast<size_t>(DropReason::TxFull)].add();
        return;
    }
    const PortView& view = snapshot_->ports[port];
    uint8_t* data = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kMinFrameLen));
    Bytes frame(data, kMinFrameLen);
    if (gratuitous) {
        writeGratuitousArp(frame, view.mac, targetIp);
        counters_.ports[port].gratuitousArpsSent.add();
    } else {
        // Asked in RFC 5227 probe form (sender 0.0.0.0): the answer is addressed to
        // 0.0.0.0, which the XDP program gives to the fast path (an answer addressed to
        // the node's own address would go to the host), and the asked host learns no
        // mapping from us (a VIP as sender would repoint its cache for that VIP).
        writeArpRequest(frame, view.mac, 0, targetIp);
        counters_.ports[port].arpRequestsSent.add();
    }
    send(port, m);
}

void Worker::runCommands(uint32_t nowMs) {
    (void)nowMs;
    if (!commands_) return;
    uint64_t commands[kCommandsPerPass];
    unsigned n = rte_ring_dequeue_burst_elem(commands_, commands, sizeof(uint64_t), kCommandsPerPass, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        auto type = static_cast<WorkerCommand>(commands[i] >> 40);
        unsigned port = static_cast<unsigned>(commands[i] >> 32 & 0xff);
        uint32_t ip = static_cast<uint32_t>(commands[i]);
        if (port >= snapshot_->ports.size()) continue;
        sendArp(port, ip, type == WorkerCommand::GratuitousArp);
    }
}

unsigned Worker::poll(uint32_t nowMs) {
    snapshot_ = shared_.snapshot->load(std::memory_order_acquire);
    if (natPorts_.last == 0) {
        natPorts_ = workerSlice(snapshot_->natPorts, id_, shared_.workers);
        // Each life of the node starts its NAT ports at a random point of its slice: the
        // flows of an earlier life may live on, adopted by other gateways with the same
        // NAT source and port (docs/FLOWS.md), and they began at the slice's start.
        nextNatPort_ = static_cast<uint32_t>(rte_rand() % (uint32_t{natPorts_.last} - natPorts_.first + 1));
    }
    unsigned received = 0;
    rte_mbuf* batch[kBatch];
    uint8_t batchPorts[kBatch];
    unsigned batched = 0;
    for (unsigned port = 0; port < shared_.portCount; ++port) {
        if (batched + kBurst > kBatch) {
            processBatch(batch, batchPorts, batched, nowMs);
            batched = 0;
        }
        uint16_t n = rte_eth_rx_burst(shared_.portIds[port], static_cast<uint16_t>(id_), batch + batched, kBurst);
        if (n == 0) continue;
        uint64_t bytes = 0;
        for (unsigned i = batched; i < batched + n; ++i) {
            batchPorts[i] = static_cast<uint8_t>(port);
            bytes += rte_pktmbuf_pkt_len(batch[i]);
        }
        counters_.ports[port].rxPackets.add(n);
        counters_.ports[port].rxBytes.add(bytes);
        batched += n;
        received += n;
    }
    if (batched > 0) processBatch(batch, batchPorts, batched, nowMs);
    for (unsigned port = 0; port < shared_.portCount; ++port)
        if (shared_.hasException[port]) pollException(port);
    runCommands(nowMs);
    runFlowMessages(nowMs);
    if (!held_.empty()) releaseHeld(nowMs);
    flush();
    ExpiryEvents events(*this);
    counters_.expired.add(shared_.table->expire(id_, nowMs, shared_.timeouts,
                                                received ? kExpireBudgetBusy : idleExpireBudget_,
                                                snapshot_->flows ? &events : nullptr));
    shared_.table->reclaim(id_);
    counters_.loops.add();
    return received;
}

unsigned Worker::step(uint32_t nowMs) {
    rte_rcu_qsbr_thread_online(shared_.rcu, id_);
    unsigned received = poll(nowMs);
    rte_rcu_qsbr_quiescent(shared_.rcu, id_);
    rte_rcu_qsbr_thread_offline(shared_.rcu, id_);
    return received;
}

void Worker::run(const std::atomic<bool>& stop) {
    rte_rcu_qsbr_thread_online(shared_.rcu, id_);
    // A sleep of 1 µs would last the default 50 µs of timer slack: ask for precise ones.
    prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
    const uint64_t spinCycles = rte_get_tsc_hz() / 1'000'000 * kIdleSpinUs;
    uint64_t lastPacketAt = rte_get_tsc_cycles();
    uint32_t sleepUs = 0;
    while (!stop.load(std::memory_order_relaxed)) {
        uint32_t nowMs = clockMs(shared_.tscEpoch);
        unsigned received = poll(nowMs);
        rte_rcu_qsbr_quiescent(shared_.rcu, id_);
        if (received > 0 || !shared_.idleBackoff) {
            lastPacketAt = rte_get_tsc_cycles();
            sleepUs = 0;
            continue;
        }
        if (rte_get_tsc_cycles() - lastPacketAt < spinCycles) continue;
        // Idle: sleep, doubling up to the configured maximum. Offline while asleep so that
        // the control thread's RCU synchronisation does not wait for us.
        sleepUs = sleepUs == 0 ? 1 : std::min(sleepUs * 2, shared_.idleSleepMaxUs);
        rte_rcu_qsbr_thread_offline(shared_.rcu, id_);
        timespec pause{0, static_cast<long>(sleepUs) * 1000};
        nanosleep(&pause, nullptr);
        rte_rcu_qsbr_thread_online(shared_.rcu, id_);
        counters_.idleSleeps.add();
    }
    rte_rcu_qsbr_thread_offline(shared_.rcu, id_);
}

}  // namespace ringgate::dataplane
