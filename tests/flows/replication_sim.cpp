// Deterministic simulation of flow-record replication (docs/FLOWS.md, "Simulation").
//
// 3 to 5 FlowReplicators on a virtual network with loss, duplication, reordering,
// partitions, crashes (all state lost, restart with a higher incarnation), VIP moves and
// membership changes as the token ring would give them (members = the connected live set),
// and token visits in ring order. Random flows are created on the owners of their VIPs and
// ended on their handlers. Then the world goes quiet (no loss, no partition, a few token
// rotations) and the invariants must hold:
//  - every live flow's record is Local on its handler and Replica on each of its holders,
//    and nowhere else as Replica;
//  - no record of an ended flow exists anywhere, nor of a flow nobody handles any more: a
//    dead handler's flow of which a copy survived was adopted, the rest count as unsaved;
//  - every node's fast path (built from the Change stream alone) equals its store;
//  - every datagram was accepted (no malformed, stale or unauthenticated ones in a world
//    that sends none).
//
//   replication_sim --seeds 0-299     a range of seeds (the suite runs shards)
//   replication_sim --seed 17 -v      one seed, with its events
// A failing seed prints the command that replays it.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "control/flows/flow_replicator.h"

namespace ringgate::flows {
namespace {

constexpr uint32_t kVipBase = 0xC6130001u;  // 198.19.0.1
constexpr int kVips = 4;
constexpr Time kStep{1'000};                // the simulation's tick: 1 ms
constexpr Time kTokenHop{4'000};            // the token moves on every 4 ms
constexpr Time kExpireAfter{300'000};       // the fast path idle-expires a dead flow's entries
constexpr Time kDetection{20'000};          // the ring notices a crash, partition or join

struct Flow {
    FlowRecord record;            // as created (handler = creator)
    std::set<NodeId> handlers;    // live nodes whose fast path translates it
    bool ended = false;
    Time deadSince{-1};           // ended, or no live handler, since (for idle expiry)
};

struct SimNode {
    std::unique_ptr<FlowReplicator> replicator;
    bool alive = false;
    uint64_t incarnation = 0;
    int group = 0;                       // partition side
    std::vector<NodeId> members;         // as last given
    std::vector<uint32_t> vips;          // as last given
    std::set<FlowTuple, bool (*)(const FlowTuple&, const FlowTuple&)> local{tupleLess};
    std::map<FlowTuple, Roles, bool (*)(const FlowTuple&, const FlowTuple&)> remote{tupleLess};

    static bool tupleLess(const FlowTuple& a, const FlowTuple& b) {
        return std::tie(a.src, a.dst, a.srcPort, a.dstPort, a.proto) <
               std::tie(b.src, b.dst, b.srcPort, b.dstPort, b.proto);
    }
};

struct Packet {
    Time at;
    uint64_t order;
    NodeId from, to;
    std::vector<uint8_t> bytes;
    bool operator>(const Packet& o) const { return std::tie(at, order) > std::tie(o.at, o.order); }
};

struct Totals {
    uint64_t flows = 0, adopted = 0, unsaved = 0, resyncs = 0, crashes = 0, partitions = 0, datagrams = 0;
};

class Simulation {
public:
    Simulation(uint64_t seed, bool verbose) : seed_(seed), rng_(seed * 0x9E3779B97F4A7C15ull + 1), verbose_(verbose) {
        nodeCount_ = 3 + static_cast<int>(seed % 3);
        keyed_ = seed % 2 == 0;
        loss_ = 0.02 * static_cast<double>(seed % 4);  // 0 to 6 %
        for (NodeId n = 1; n <= static_cast<NodeId>(nodeCount_); ++n) start(n);
        updateMembership();
    }

    // Returns the first violated invariant, or nothing.
    std::optional<std::string> run(Totals& totals) {
        for (int ms = 0; ms < 3000; ++ms) {
            chaos();
            step();
        }
        // Quiet: everyone back and connected, a perfect network.
        loss_ = dup_ = 0;
        maxDelay_ = 300;
        for (auto& [id, n] : nodes_) {
            n.group = 0;
            if (!n.alive && rng_() % 2) start(id);
        }
        updateMembership();
        for (int ms = 0; ms < 2000; ++ms) {
            if (ms % 100 == 0) resolveDoubleHandlers();
            step();
        }
        totals.flows += flows_.size();
        for (auto& [id, n] : nodes_)
            if (n.alive) {
                totals.adopted += n.replicator->counters().adopted;
                totals.resyncs += n.replicator->counters().resyncsSent;
            }
        totals.adopted += adoptedByDead_;
        totals.crashes += crashes_;
        totals.partitions += partitions_;
        totals.datagrams += delivered_;
        for (const Flow& f : flows_)
            if (!f.ended && f.handlers.empty()) totals.unsaved++;
        return check();
    }

private:
    double chance() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
    template <typename T>
    T pick(const std::vector<T>& v) { return v[rng_() % v.size()]; }
    void log(const char* what, NodeId n) {
        if (verbose_) std::printf("%8.3f ms  %s %u\n", now_.count() / 1000.0, what, n);
    }

    std::vector<NodeId> liveNodes() const {
        std::vector<NodeId> out;
        for (const auto& [id, n] : nodes_)
            if (n.alive) out.push_back(id);
        return out;
    }
    std::vector<NodeId> membersOf(int group) const {
        std::vector<NodeId> out;
        for (const auto& [id, n] : nodes_)
            if (n.alive && n.group == group) out.push_back(id);
        return out;
    }
    uint32_t ownerOf(uint32_t vip, const std::vector<NodeId>& members) const {
        auto o = vipOverride_.find(vip);
        if (o != vipOverride_.end() && std::binary_search(members.begin(), members.end(), o->second))
            return o->second;
        return rendezvousPick(mix64(vip), members).first;
    }

    void start(NodeId id) {
        SimNode& n = nodes_[id];
        ReplicatorOptions o;
        o.self = id;
        o.incarnation = n.incarnation = n.incarnation + 1 + rng_() % 3;
        o.sharedKey = keyed_ ? "sim" : "";
        o.resendQueueBatches = 8 + rng_() % 64;  // small: queue overflows happen
        o.reorderBatches = 4 + rng_() % 16;
        o.maxDatagram = 200 + rng_() % 1200;
        n.replicator = std::make_unique<FlowReplicator>(o);
        n.alive = true;
        n.members.clear();
        n.vips.clear();
        n.local.clear();
        n.remote.clear();
        log("start", id);
    }

    void crash(NodeId id) {
        SimNode& n = nodes_[id];
        // Its flows die with it unless someone adopts them.
        for (Flow& f : flows_) f.handlers.erase(id);
        adoptedByDead_ += n.replicator->counters().adopted;
        n.alive = false;
        n.replicator.reset();
        crashes_++;
        log("crash", id);
    }

    void updateMembership() {
        for (auto& [id, n] : nodes_) {
            if (!n.alive) continue;
            std::vector<NodeId> members = membersOf(n.group);
            if (members != n.members) {
                n.members = members;
                n.replicator->setMembers(now_, members);
            }
            std::vector<uint32_t> vips;
            for (int v = 0; v < kVips; ++v)
                if (ownerOf(kVipBase + v, members) == id) vips.push_back(kVipBase + v);
            if (vips != n.vips) {
                n.vips = vips;
                n.replicator->setOwnedVips(now_, vips);
            }
            drain(id);
        }
    }

    void createFlow() {
        uint32_t vip = kVipBase + static_cast<uint32_t>(rng_() % kVips);
        std::vector<NodeId> live = liveNodes();
        if (live.empty()) return;
        NodeId owner = ownerOf(vip, nodes_[pick(live)].members);
        if (owner == 0 || !nodes_[owner].alive ||
            !std::binary_search(nodes_[owner].vips.begin(), nodes_[owner].vips.end(), vip))
            return;
        uint32_t id = static_cast<uint32_t>(flows_.size());
        FlowRecord r;
        r.forward = {0x0A000000u + id, vip, static_cast<uint16_t>(1024 + id % 50000), 80, 6};
        bool fullnat = rng_() % 2;
        r.nat = fullnat ? NatKind::FullNat : NatKind::Dnat;
        r.reverse = {0xC0A80002u + static_cast<uint32_t>(rng_() % 8), fullnat ? vip : r.forward.src, 80,
                     fullnat ? static_cast<uint16_t>(20000 + id % 40000) : r.forward.srcPort, 6};
        r.handler = owner;
        r.state = 1;
        flows_.push_back(Flow{r, {owner}, false, Time(-1)});
        byTuple_[r.forward] = id;
        nodes_[owner].local.insert(r.forward);
        nodes_[owner].replicator->localCreated(now_, r);
    }

    void endFlow(Flow& f) {
        for (NodeId h : f.handlers) {
            nodes_[h].local.erase(f.record.forward);
            nodes_[h].replicator->localEnded(now_, f.record.forward);
        }
        f.handlers.clear();
        f.ended = true;
    }

    void chaos() {
        if (chance() < 0.6) createFlow();
        if (chance() < 0.45 && !flows_.empty()) {
            Flow& f = flows_[rng_() % flows_.size()];
            if (!f.ended && !f.handlers.empty()) endFlow(f);
        }
        if (chance() < 0.05 && !flows_.empty()) {
            // A reply that reached a node not holding its flow: it asks the authority.
            const Flow& f = flows_[rng_() % flows_.size()];
            std::vector<NodeId> live = liveNodes();
            NodeId n = pick(live);
            if (!f.ended && !nodes_[n].local.count(f.record.forward)) nodes_[n].replicator->ask(now_, f.record.reverse);
        }
        std::vector<NodeId> live = liveNodes();
        bool changed = false;
        if (chance() < 0.0015 && live.size() > 2) {
            crash(pick(live));
            changed = true;
        }
        for (auto& [id, n] : nodes_)
            if (!n.alive && chance() < 0.002) {
                start(id);
                changed = true;
            }
        if (chance() < 0.002) {
            for (auto& [id, n] : nodes_) n.group = static_cast<int>(rng_() % 2);
            partitions_++;
            changed = true;
            if (verbose_) std::printf("%8.3f ms  partition\n", now_.count() / 1000.0);
        }
        if (chance() < 0.004) {
            for (auto& [id, n] : nodes_) n.group = 0;
            changed = true;
        }
        if (chance() < 0.002) {
            // A live move of a VIP (an operator, or the load balancer).
            vipOverride_[kVipBase + static_cast<uint32_t>(rng_() % kVips)] = static_cast<NodeId>(1 + rng_() % nodeCount_);
            changed = true;
        }
        // The ring notices a change after a detection delay (the token's timeouts), far
        // longer than a datagram's flight: what a node sent before it died arrives first.
        if (changed && !membershipDue_) membershipDue_ = now_ + kDetection;
        if (now_.count() % 100'000 == 0) resolveDoubleHandlers();
    }

    // After a partition heals, a flow adopted on one side may still live on the other:
    // the client's packets now reach one of them, the other's entry idle-expires.
    void resolveDoubleHandlers() {
        for (Flow& f : flows_) {
            if (f.handlers.size() < 2) continue;
            std::map<int, std::vector<NodeId>> byGroup;
            for (NodeId h : f.handlers) byGroup[nodes_[h].group].push_back(h);
            for (auto& [g, hs] : byGroup)
                for (size_t i = 1; i < hs.size(); ++i) {
                    nodes_[hs[i]].local.erase(f.record.forward);
                    nodes_[hs[i]].replicator->localEnded(now_, f.record.forward);
                    f.handlers.erase(hs[i]);
                }
        }
    }

    // The fast path's idle expiry: entries kept for others of a flow that stopped
    // (ended, or nobody handles it) go once they have been idle long enough.
    void expireIdle() {
        for (Flow& f : flows_) {
            bool dead = f.ended || f.handlers.empty();
            if (!dead) {
                f.deadSince = Time(-1);
                continue;
            }
            if (f.deadSince < Time(0)) f.deadSince = now_;
            if (now_ - f.deadSince < kExpireAfter) continue;
            for (auto& [id, n] : nodes_) {
                if (!n.alive) continue;
                auto it = n.remote.find(f.record.forward);
                if (it == n.remote.end() || (it->second & static_cast<Roles>(Role::Replica))) continue;
                n.replicator->remoteExpired(now_, f.record.forward);
                drain(id);
            }
        }
    }

    void drain(NodeId id) {
        SimNode& n = nodes_[id];
        for (Outgoing& o : n.replicator->takeOutgoing()) send(id, std::move(o));
        for (Change& c : n.replicator->takeChanges()) {
            if (auto* install = std::get_if<InstallRemote>(&c)) {
                n.remote[install->record.forward] = install->roles;
            } else if (auto* remove = std::get_if<RemoveRemote>(&c)) {
                n.remote.erase(remove->forward);
            } else if (auto* adopt = std::get_if<Adopt>(&c)) {
                n.remote.erase(adopt->record.forward);
                n.local.insert(adopt->record.forward);
                auto f = byTuple_.find(adopt->record.forward);
                if (f == byTuple_.end()) continue;
                // An ended flow comes back only as an entry its fast path will idle-expire.
                if (flows_[f->second].ended) endsDue_.emplace_back(id, adopt->record.forward);
                else flows_[f->second].handlers.insert(id);
                if (verbose_) std::printf("%8.3f ms  node %u adopts flow %u\n", now_.count() / 1000.0, id, f->second);
            }
        }
    }

    void send(NodeId from, Outgoing o) {
        if (chance() < loss_) return;
        int copies = chance() < dup_ ? 2 : 1;
        for (int i = 0; i < copies; ++i) {
            Time delay(100 + static_cast<int64_t>(rng_() % maxDelay_));
            wire_.push(Packet{now_ + delay, order_++, from, o.peer, o.bytes});
        }
    }

    void step() {
        now_ += kStep;
        if (membershipDue_ && *membershipDue_ <= now_) {
            membershipDue_.reset();
            updateMembership();
        }
        for (auto [id, t] : std::exchange(endsDue_, {})) {
            SimNode& n = nodes_[id];
            if (!n.alive || !n.local.erase(t)) continue;
            n.replicator->localEnded(now_, t);
            drain(id);
        }
        while (!wire_.empty() && wire_.top().at <= now_) {
            Packet p = wire_.top();
            wire_.pop();
            SimNode& to = nodes_[p.to];
            auto from = nodes_.find(p.from);
            // A partition cuts the link; a dead node hears nothing.
            if (!to.alive || from == nodes_.end() || from->second.group != to.group) continue;
            to.replicator->receive(now_, p.from, p.bytes);
            delivered_++;
            drain(p.to);
        }
        for (auto& [id, n] : nodes_) {
            if (!n.alive) continue;
            n.replicator->tick(now_);
            drain(id);
        }
        if (now_.count() % kTokenHop.count() == 0) passToken();
        expireIdle();
    }

    void passToken() {
        std::set<int> groups;
        for (const auto& [id, n] : nodes_)
            if (n.alive) groups.insert(n.group);
        for (int g : groups) {
            std::vector<NodeId> ring = membersOf(g);
            NodeId lowest = ring.front();
            size_t& at = tokenAt_[lowest];
            NodeId holder = ring[at++ % ring.size()];
            nodes_[holder].replicator->onTokenHeld(now_, carriage_[lowest]);
            drain(holder);
        }
    }

    std::optional<std::string> check() {
        held_.clear();
        auto violation = checkInvariants();
        if (violation && verbose_) {
            // Where the flow named in the message is, as every live node sees it.
            unsigned flow = 0;
            if (std::sscanf(violation->c_str(), "flow %u", &flow) == 1 && flow < flows_.size()) {
                const FlowTuple& t = flows_[flow].record.forward;
                for (auto& [id, n] : nodes_) {
                    std::printf("node %u %s incarnation %" PRIu64 " members:", id, n.alive ? "live" : "dead",
                                n.incarnation);
                    for (NodeId m : n.members) std::printf(" %u", m);
                    auto h = held_.count(id) ? held_[id].find(t) : held_[0].end();
                    if (n.alive && h != held_[id].end())
                        std::printf("  roles %u handler %u", h->second.roles, h->second.record.handler);
                    std::printf("\n");
                }
            }
        }
        return violation;
    }

    std::optional<std::string> checkInvariants() {
        char buf[512];
        std::vector<NodeId> live = liveNodes();
        for (NodeId id : live) {
            const ReplicatorCounters& c = nodes_[id].replicator->counters();
            if (c.malformed || c.unauthenticated || c.badVersion || c.spoofed || c.notForUs || c.foreignRecords) {
                std::snprintf(buf, sizeof buf, "node %u refused datagrams a correct peer sent", id);
                return std::string(buf);
            }
        }
        auto& held = held_;
        for (NodeId id : live) {
            auto& m = held.emplace(id, SimNode::tupleLess).first->second;
            for (const HeldRecord& h : nodes_[id].replicator->sample(0, SIZE_MAX)) m.emplace(h.record.forward, h);
        }
        for (size_t i = 0; i < flows_.size(); ++i) {
            const Flow& f = flows_[i];
            const FlowTuple& t = f.record.forward;
            if (f.ended || f.handlers.empty()) {
                for (NodeId id : live)
                    if (held[id].count(t)) {
                        std::snprintf(buf, sizeof buf, "flow %zu (%s) is still on node %u (roles %u, handler %u)", i,
                                      f.ended ? "ended" : "no live handler", id, held[id].at(t).roles,
                                      held[id].at(t).record.handler);
                        return std::string(buf);
                    }
                continue;
            }
            if (f.handlers.size() != 1) {
                std::snprintf(buf, sizeof buf, "flow %zu has %zu handlers once quiet", i, f.handlers.size());
                return std::string(buf);
            }
            NodeId handler = *f.handlers.begin();
            auto it = held[handler].find(t);
            if (it == held[handler].end() || it->second.roles != static_cast<Roles>(Role::Local) ||
                it->second.record.handler != handler) {
                std::snprintf(buf, sizeof buf, "flow %zu: its handler %u does not hold it as Local", i, handler);
                return std::string(buf);
            }
            FlowRecord r = f.record;
            r.handler = handler;
            RendezvousPick p = rendezvousPick(r.authority(), live);
            for (NodeId id : live) {
                bool holder = id != handler && (id == p.first || id == p.second);
                auto h = held[id].find(t);
                bool replica = h != held[id].end() && (h->second.roles & static_cast<Roles>(Role::Replica));
                if (holder && (!replica || h->second.record.handler != handler)) {
                    std::snprintf(buf, sizeof buf, "flow %zu (handler %u): holder %u has no replica%s", i, handler,
                                  id, h == held[id].end() ? "" : " (other record or role)");
                    return std::string(buf);
                }
                if (!holder && replica) {
                    std::snprintf(buf, sizeof buf, "flow %zu (handler %u): node %u keeps a replica it should not",
                                  i, handler, id);
                    return std::string(buf);
                }
            }
        }
        // The fast path saw exactly what the store holds.
        for (NodeId id : live) {
            SimNode& n = nodes_[id];
            size_t local = 0, remote = 0;
            for (const auto& [t, h] : held[id]) {
                if (h.roles & static_cast<Roles>(Role::Local)) {
                    local++;
                    if (!n.local.count(t)) return "node " + std::to_string(id) + ": Local record unknown to its fast path";
                } else {
                    remote++;
                    auto r = n.remote.find(t);
                    if (r == n.remote.end() || r->second != h.roles)
                        return "node " + std::to_string(id) + ": fast-path entry differs from the store";
                }
            }
            if (local != n.local.size() || remote != n.remote.size())
                return "node " + std::to_string(id) + ": fast path has entries the store does not";
            if (n.replicator->localCount() != local || n.replicator->heldForOthers() != remote)
                return "node " + std::to_string(id) + ": counts disagree with the store";
        }
        return std::nullopt;
    }

    uint64_t seed_;
    std::mt19937_64 rng_;
    bool verbose_;
    int nodeCount_ = 3;
    bool keyed_ = false;
    double loss_ = 0, dup_ = 0.02;
    uint64_t maxDelay_ = 3000;  // microseconds: enough to reorder
    Time now_{1'000'000};
    std::map<NodeId, SimNode> nodes_;
    std::vector<Flow> flows_;
    std::map<FlowTuple, uint32_t, bool (*)(const FlowTuple&, const FlowTuple&)> byTuple_{SimNode::tupleLess};
    std::map<uint32_t, NodeId> vipOverride_;
    std::priority_queue<Packet, std::vector<Packet>, std::greater<Packet>> wire_;
    uint64_t order_ = 0;
    std::map<NodeId, size_t> tokenAt_;
    std::map<NodeId, std::vector<uint8_t>> carriage_;
    std::map<NodeId, std::map<FlowTuple, HeldRecord, bool (*)(const FlowTuple&, const FlowTuple&)>> held_;
    std::vector<std::pair<NodeId, FlowTuple>> endsDue_;
    std::optional<Time> membershipDue_;
    uint64_t adoptedByDead_ = 0, crashes_ = 0, partitions_ = 0, delivered_ = 0;
};

bool parseRange(const char* text, uint64_t& first, uint64_t& last) {
    char* end = nullptr;
    first = std::strtoull(text, &end, 10);
    if (end == text) return false;
    if (*end == '\0') {
        last = first;
        return true;
    }
    if (*end != '-') return false;
    const char* second = end + 1;
    last = std::strtoull(second, &end, 10);
    return end != second && *end == '\0' && last >= first;
}

}  // namespace
}  // namespace ringgate::flows

int main(int argc, char** argv) {
    using namespace ringgate::flows;
    uint64_t first = 0, last = 99;
    bool verbose = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if ((a == "--seeds" || a == "--seed") && i + 1 < argc) {
            if (!parseRange(argv[++i], first, last)) {
                std::fprintf(stderr, "replication_sim: bad seed range '%s'\n", argv[i]);
                return 2;
            }
        } else if (a == "-v" || a == "--verbose") {
            verbose = true;
        } else {
            std::fprintf(stderr, "usage: replication_sim [--seeds FIRST-LAST | --seed N] [-v]\n");
            return 2;
        }
    }
    Totals totals;
    int failures = 0;
    for (uint64_t seed = first; seed <= last; ++seed) {
        Simulation sim(seed, verbose);
        if (auto violation = sim.run(totals)) {
            std::printf("seed %" PRIu64 " FAILED: %s\n  replay: replication_sim --seed %" PRIu64 " -v\n", seed,
                        violation->c_str(), seed);
            ++failures;
        }
    }
    std::printf("seeds %" PRIu64 "-%" PRIu64 ": %d failed; flows %" PRIu64 ", adopted %" PRIu64 ", unsaved %" PRIu64
                ", resyncs %" PRIu64 ", crashes %" PRIu64 ", partitions %" PRIu64 ", datagrams %" PRIu64 "\n",
                first, last, failures, totals.flows, totals.adopted, totals.unsaved, totals.resyncs, totals.crashes,
                totals.partitions, totals.datagrams);
    return failures == 0 ? 0 : 1;
}
