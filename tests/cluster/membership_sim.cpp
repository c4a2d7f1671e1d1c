// Deterministic simulation of the cluster protocol: 3-16 ClusterNode cores on a simulated
// network with a virtual clock. Faults (loss, duplication, delay and reordering, partitions
// and heals, a failing path, pauses, crashes and restarts, clean leaves) are all drawn from
// one seed, so a failing seed replays exactly:  membership_sim --seed N --verbose
//
// Invariants, checked after every step:
//   - a node's stamp never goes back within a ring, and its ring id never grows;
//   - no message is handed to the upper layer twice;
//   - once the network has been quiet for a bound: at most one node holds a token;
//   - within that bound after the faults stop, every live node's membership is exactly
//     the set of live nodes, all in one ring;
//   - at the end, every live node holds one configuration (config_sync.h: the same version
//     and digest, chunked on the token), no older than any live node started with.
//   - at every instant, at most one node answers each VIP (the VIP manager riding the token,
//     with leases: a node answers only while it holds one, a dropped owner's VIPs wait out
//     its lease; a claim of a VIP nobody was known to own first probes, as ARP does, and
//     succeeds only if no node it can reach answers or probes it meanwhile);
//   - within the bound after the faults stop, every open VIP is answered by one node.
// Faults include symmetric and one-way partitions, single dead links and lossy links.
// --traffic N measures the control traffic per node per second of a quiet N-node ring.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/cli.h"
#include "common/log.h"
#include "control/cluster/cluster_node.h"
#include "control/cluster/config_sync.h"
#include "control/cluster/riders.h"
#include "control/vip/vip_codec.h"
#include "control/vip/vip_manager.h"

namespace {

using namespace ringgate;
using namespace ringgate::cluster;
using namespace std::chrono_literals;

constexpr Time kChaos = 4s;          // faults happen in [0, kChaos)
constexpr Time kSettleBound = 6s;    // after the faults stop, the ring must be whole by then
constexpr Time kObserve = 3s;        // then it must stay whole and single-token this long

struct Failure {
    std::string what;
};

std::string text(const Stamp& s) {
    return "(generation " + std::to_string(s.generation) + ", producer " + std::to_string(s.producer) + ", seq " +
           std::to_string(s.seq) + ")";
}

struct InFlight {
    Time at;
    uint64_t order;
    NodeId from;
    NodeId to;
    uint8_t path;
    std::vector<uint8_t> bytes;
    bool operator>(const InFlight& o) const { return std::tie(at, order) > std::tie(o.at, o.order); }
};

// The configuration's rider, as ringgated's (control/daemon/config_rider.h) with every
// offered version valid.
class ConfigRider : public MembershipHooks {
public:
    explicit ConfigRider(SharedConfig local) : sync("sim", std::move(local)) {}
    void onTokenHeld(Time, Carriages& carriages, const std::vector<NodeId>&) override {
        if (auto offer = sync.onToken(carriages)) sync.adopted(*offer);
    }
    void onMembershipChanged(Time, const std::vector<NodeId>&) override {}
    ConfigSync sync;
};

// The VIP manager as ringgated runs it (vip_service.cpp), with the effects kept as the set
// of VIPs this node's actuator answers; probe-first claims wait for the simulated ARP probe.
class VipRider : public MembershipHooks {
public:
    // `leases` false: the VIP manager as it was before leases (the baseline of --no-lease).
    VipRider(NodeId self, const std::vector<NodeId>& nodeMap, vip::VipTable initial, const Membership& membership,
             bool leases)
        : manager(self, nodeMap, vip::LoadBalancing{false}), table(std::move(initial)), leases(leases),
          membership_(membership), self_(self) {
        if (leases) manager.onLease(vip::Clock::time_point{}, false);
    }
    void onTokenHeld(Time now, Carriages& carriages, const std::vector<NodeId>& members) override {
        std::string error;
        if (const auto* bytes = carriages.find(carriage::kVipTable))
            if (auto decoded = vip::decodeVipTable(*bytes, error)) table = std::move(*decoded);
        bool grew = !last_.empty() && std::any_of(members.begin(), members.end(), [&](NodeId m) {
            return std::find(last_.begin(), last_.end(), m) == last_.end();
        });
        last_ = members;
        vip::FenceOf fence = [&](NodeId owner) -> vip::Clock::duration { return membership_.fenceFor(owner, now); };
        vip::FenceOf granted = [&](NodeId owner) -> vip::Clock::duration { return membership_.grantedBy(owner, now); };
        if (!leases) {
            apply(now, manager.onToken(at(now), members, grew, {}, table, loads_));
        } else {
            manager.setProbeTakeovers(membership_.tie(members));
            apply(now, manager.onToken(at(now), members, grew, {}, table, loads_, fence, granted));
        }
        carriages.set(carriage::kVipTable, vip::encodeVipTable(table));
    }
    void onMembershipChanged(Time now, const std::vector<NodeId>& members) override {
        if (std::find(members.begin(), members.end(), self_) == members.end()) apply(now, manager.onLeftRing());
    }
    void onLease(Time now, bool valid) override {
        if (leases) apply(now, manager.onLease(at(now), valid));
    }
    std::optional<Time> nextDeadline() const override {
        auto d = manager.nextDeadline();
        if (!d) return std::nullopt;
        return std::chrono::duration_cast<Time>(d->time_since_epoch());
    }
    void onTimer(Time now) override { apply(now, manager.onTimer(at(now))); }

    vip::VipManager manager;
    vip::VipTable table;
    bool leases;
    std::map<Ipv4Address, Time> probing;  // probe-first claims, since when

private:
    static vip::Clock::time_point at(Time now) { return vip::Clock::time_point{} + now; }
    void apply(Time now, const std::vector<vip::Effect>& effects) {
        for (const vip::Effect& e : effects) {
            RG_DEBUG(Vip, "%s %s%s", std::string(vip::toString(e.kind)).c_str(), e.vip.toString().c_str(),
                     e.probeFirst ? " (probe first)" : "");
            if (e.kind == vip::EffectKind::Claim && e.probeFirst) probing[e.vip] = now;
            if (e.kind == vip::EffectKind::Release) probing.erase(e.vip);
        }
    }
    vip::LoadTable loads_;
    const Membership& membership_;
    NodeId self_;
    std::vector<NodeId> last_;
};

struct Slot {
    NodeId id = 0;
    std::unique_ptr<ClusterNode> node;
    std::unique_ptr<ConfigRider> config;
    std::unique_ptr<VipRider> vips;
    std::unique_ptr<Riders> riders;
    uint64_t startedWith = 0;       // configuration version of the current incarnation
    bool departed = false;          // left cleanly
    std::optional<Time> pausedUntil;
    int group = 0;                  // partition group
    uint64_t incarnation = 0;
    // invariant state of the current incarnation
    uint64_t seenRing = 0;
    std::optional<Stamp> seenStamp;
    std::set<std::tuple<NodeId, uint64_t, uint64_t>> delivered;
};

class Simulation {
public:
    // `configBytes`: with faults, every incarnation draws its own configuration (0-3 KiB);
    // without (--traffic), every node carries one file of this size, none when 0.
    Simulation(uint64_t seed, int nodes, bool verbose, bool faults, size_t configBytes = 0, bool leases = true)
        : seed_(seed), random_(seed), verbose_(verbose), faults_(faults), configBytes_(configBytes), leases_(leases) {
        for (int i = 1; i <= nodes; ++i) nodeMap_.push_back(static_cast<NodeId>(i));
        slots_.resize(nodes);
        if (faults_) {
            loss_ = pick(0.0, 0.15);
            duplicate_ = pick(0.0, 0.05);
            jitter_ = Time(static_cast<int64_t>(pick(0, 20'000)));
            pathCount_ = 1 + random_() % 2;
            // Some links are worse than the rest (per direction): up to 20 % loss.
            for (int a = 1; a <= nodes; ++a)
                for (int b = 1; b <= nodes; ++b)
                    if (a != b && chance(0.2)) linkLoss_[{a, b}] = pick(0.0, 0.2);
        }
        for (int i = 0; i < nodes; ++i) {
            slots_[i].id = nodeMap_[i];
            boot(slots_[i], Time(static_cast<int64_t>(random_() % 200'000)));
        }
        if (faults_) planFaults();
        log("seed %llu: %d nodes, loss %.3f, duplication %.3f, jitter %lld us, %u path(s)",
            static_cast<unsigned long long>(seed), nodes, loss_, duplicate_,
            static_cast<long long>(jitter_.count()), pathCount_);
    }

    // Runs to the end; returns the first broken invariant.
    std::optional<Failure> run(Time end) {
        while (true) {
            Time next = end;
            if (!network_.empty()) next = std::min(next, network_.top().at);
            if (!events_.empty()) next = std::min(next, events_.begin()->first);
            for (auto& s : slots_) {
                if (!s.node) continue;
                if (s.pausedUntil) { next = std::min(next, *s.pausedUntil); continue; }
                if (auto d = s.node->nextDeadline()) next = std::min(next, std::max(*d, now_));
            }
            if (next >= end) break;
            // Progress: a core whose deadline stays in the past would spin here forever.
            sameInstant_ = next == now_ ? sameInstant_ + 1 : 0;
            if (sameInstant_ > 100'000) return Failure{"no progress at " + std::to_string(now_.count()) + " us" + stuck()};
            if (verbose_ && now_ / 100ms != next / 100ms) {
                std::string held;
                for (auto& sl : slots_)
                    if (sl.node && sl.node->membership().heldNow()) held += std::to_string(sl.id) + " ";
                log("in flight %zu, sent %llu, holding [%s]", network_.size(),
                    static_cast<unsigned long long>(datagramsSent_), held.c_str());
            }
            now_ = next;
            step();
            if (auto failure = check()) return failure;
        }
        now_ = end;
        return finalCheck();
    }

    std::string stuck() const {
        std::string text;
        for (const auto& s : slots_)
            if (s.node && !s.pausedUntil)
                if (auto d = s.node->nextDeadline(); d && *d <= now_)
                    text += "; node " + std::to_string(s.id) + " (" + std::string(toString(s.node->membership().phase())) +
                            ", holding " + std::to_string(s.node->membership().heldNow()) + ", messenger deadline " +
                            std::to_string(s.node->messenger().nextDeadline().value_or(Time(-1)).count()) + ")";
        return text;
    }

    uint64_t bytesSent() const { return bytesSent_; }
    uint64_t datagramsSent() const { return datagramsSent_; }
    std::map<std::string, uint64_t> totals() const {
        std::map<std::string, uint64_t> t;
        t["double_answer_ms"] = static_cast<uint64_t>(doubleAnswerTime_.count() / 1000);
        t["seeds_with_double_answers"] = doubleAnswerTime_.count() > 0;
        for (const auto& s : slots_) {
            if (!s.node) continue;
            t["regenerations"] += s.node->membership().counters().regenerations;
            t["emergencies"] += s.node->membership().counters().emergenciesSent;
            t["dropped"] += s.node->membership().counters().membersDropped;
            t["resends"] += s.node->messenger().counters().resends;
            t["lease_lapses"] += s.node->membership().counters().leaseLapses;
            if (s.vips) t["fenced_claims"] += s.vips->manager.counters().fencedClaims;
        }
        return t;
    }

private:
    double pick(double lo, double hi) { return lo + (hi - lo) * static_cast<double>(random_() % 1'000'001) / 1e6; }
    bool chance(double p) { return static_cast<double>(random_() % 1'000'000) < p * 1e6; }
    Time randomTime(Time lo, Time hi) {
        return lo + Time(static_cast<int64_t>(random_() % static_cast<uint64_t>((hi - lo).count() + 1)));
    }

    void log(const char* format, ...) __attribute__((format(printf, 2, 3))) {
        if (!verbose_) return;
        va_list args;
        va_start(args, format);
        std::printf("[%9.3f ms] ", static_cast<double>(now_.count()) / 1000.0);
        std::vprintf(format, args);
        std::printf("\n");
        va_end(args);
    }

    void boot(Slot& s, Time at) {
        Slot* slot = &s;
        events_.emplace(at, [this, slot] { launch(*slot); });
    }

    void launch(Slot& s) {
        ClusterNode::Options o;
        o.self = s.id;
        o.nodeMap = nodeMap_;
        o.epoch = ++epochs_;
        o.randomSeed = random_();
        o.pathCount = static_cast<uint8_t>(pathCount_);
        o.sharedKey = seed_ % 3 == 0 ? "simulation-shared-key" : "";
        s.node = std::make_unique<ClusterNode>(o);
        // Its own generator, so that the faults a seed draws stay what they were.
        if (faults_) {
            s.startedWith = 1 + configRandom_() % 4;
            std::string text = "version " + std::to_string(s.startedWith) + " of node " + std::to_string(s.id) +
                               "\n" + std::string(configRandom_() % 3000, 'x');
            s.config = std::make_unique<ConfigRider>(SharedConfig::of(s.startedWith, std::move(text)));
        } else if (configBytes_) {
            s.startedWith = 1;
            s.config = std::make_unique<ConfigRider>(SharedConfig::of(1, std::string(configBytes_, 'x')));
        }
        s.vips = std::make_unique<VipRider>(s.id, nodeMap_, vipTable(), s.node->membership(), leases_);
        s.riders = std::make_unique<Riders>();
        if (s.config) s.riders->add(s.config.get());
        s.riders->add(s.vips.get());
        s.node->membership().setHooks(s.riders.get());
        s.incarnation = o.epoch;
        s.seenRing = 0;
        s.seenStamp.reset();
        s.delivered.clear();
        s.pausedUntil.reset();
        Slot* slot = &s;
        s.node->deliveryObserver = [this, slot](const ReliableMessenger::Delivered& d) {
            if (!slot->delivered.emplace(d.peer, d.peerEpoch, d.messageId).second)
                duplicateDelivery_ = "node " + std::to_string(slot->id) + " got message " +
                                     std::to_string(d.messageId) + " of node " + std::to_string(d.peer) + " twice";
        };
        log("node %u starts (epoch %llu)", s.id, static_cast<unsigned long long>(s.incarnation));
        as(s);
        s.node->start(now_);
        collect(s);
    }

    void planFaults() {
        int count = 2 + static_cast<int>(random_() % 10);
        for (int i = 0; i < count; ++i) {
            Time at = randomTime(200ms, kChaos);
            size_t victim = random_() % slots_.size();
            switch (random_() % 7) {
                case 0:  // crash, maybe restart later
                    events_.emplace(at, [this, victim] {
                        Slot& s = slots_[victim];
                        if (!s.node || s.departed) return;
                        log("node %u crashes", s.id);
                        s.node.reset();
                    });
                    if (chance(0.6))
                        events_.emplace(at + randomTime(50ms, 2s), [this, victim] {
                            Slot& s = slots_[victim];
                            if (s.node || s.departed) return;
                            launch(s);
                        });
                    break;
                case 1:  // pause (a slow node), past the token timeout or not
                    events_.emplace(at, [this, victim] {
                        Slot& s = slots_[victim];
                        if (!s.node || s.pausedUntil) return;
                        s.pausedUntil = now_ + randomTime(50ms, 1500ms);
                        log("node %u pauses until %.3f ms", s.id, static_cast<double>(s.pausedUntil->count()) / 1000);
                    });
                    break;
                case 2:  // partition into two groups, both ways or one way only, heal later
                    events_.emplace(at, [this] {
                        std::string text;
                        oneWay_ = chance(0.5);
                        for (auto& s : slots_) {
                            s.group = static_cast<int>(random_() % 2);
                            text += std::to_string(s.id) + (s.group ? "B " : "A ");
                        }
                        log("%s partition: %s", oneWay_ ? "one-way (B cannot send to A)" : "", text.c_str());
                    });
                    events_.emplace(std::min(at + randomTime(100ms, 2s), kChaos), [this] {
                        log("partition heals");
                        for (auto& s : slots_) s.group = 0;
                    });
                    // One direction of one link dies for a while.
                    events_.emplace(at + randomTime(0ms, 500ms), [this] {
                        NodeId a = nodeMap_[random_() % nodeMap_.size()], b = nodeMap_[random_() % nodeMap_.size()];
                        if (a == b) return;
                        deadLinks_.insert({a, b});
                        log("link %u -> %u dead", a, b);
                    });
                    events_.emplace(std::min(at + randomTime(500ms, 3s), kChaos), [this] {
                        if (!deadLinks_.empty()) log("dead links work again");
                        deadLinks_.clear();
                    });
                    break;
                case 3:  // a path fails for a while (the other subnet carries on)
                    events_.emplace(at, [this] { pathDown_ = true; log("path 0 down"); });
                    events_.emplace(std::min(at + randomTime(100ms, 2s), kChaos), [this] { pathDown_ = false; log("path 0 up"); });
                    break;
                case 4:  // a clean leave (SIGTERM)
                    if (slots_.size() > 3 && chance(0.5))
                        events_.emplace(at, [this, victim] {
                            Slot& s = slots_[victim];
                            if (!s.node || s.pausedUntil || s.departed) return;
                            log("node %u leaves", s.id);
                            as(s);
                            s.node->leave(now_);
                            collect(s);
                        });
                    break;
                default:  // a burst of heavy loss
                    events_.emplace(at, [this] { burst_ = true; log("loss burst"); });
                    events_.emplace(std::min(at + randomTime(50ms, 500ms), kChaos), [this] { burst_ = false; log("burst over"); });
                    break;
            }
        }
        // The faults stop: heal, resume, calm the network.
        events_.emplace(kChaos, [this] {
            log("faults stop");
            quiet_ = true;
            pathDown_ = burst_ = false;
            for (auto& s : slots_) s.group = 0;
            deadLinks_.clear();
        });
    }

    void step() {
        for (auto& s : slots_)
            if (s.node && s.pausedUntil && *s.pausedUntil <= now_) {
                log("node %u resumes", s.id);
                s.pausedUntil.reset();
            }
        while (!events_.empty() && events_.begin()->first <= now_) {
            auto handler = std::move(events_.begin()->second);
            events_.erase(events_.begin());
            handler();
        }
        while (!network_.empty() && network_.top().at <= now_) {
            InFlight d = network_.top();
            network_.pop();
            Slot& to = slot(d.to);
            if (!to.node) continue;
            if (to.pausedUntil) {  // the socket buffers it until the process runs again
                d.at = *to.pausedUntil;
                d.order = ++order_;
                network_.push(std::move(d));
                continue;
            }
            as(to);
            to.node->onDatagram(now_, d.path, d.bytes);
            collect(to);
        }
        for (auto& s : slots_) {
            if (!s.node) continue;
            if (s.pausedUntil) continue;
            if (auto d = s.node->nextDeadline(); d && *d <= now_) {
                as(s);
                s.node->onTimer(now_);
                collect(s);
            }
        }
    }

    Slot& slot(NodeId id) { return slots_[id - 1]; }

    // The protocol's own log lines (--verbose) name the node they come from.
    void as(const Slot& s) {
        if (verbose_) log::setIdentity("node" + std::to_string(s.id) + " @" + std::to_string(now_.count() / 1000) + "ms");
    }

    void collect(Slot& s) {
        for (auto& d : s.node->takeOutgoing()) {
            ++datagramsSent_;
            bytesSent_ += d.bytes.size() + 28;  // + IPv4 and UDP headers
            if (d.peer == 0 || d.peer > slots_.size()) continue;
            if (!quiet_ && faults_) {
                if (!linked(s.id, d.peer)) continue;
                if (pathDown_ && d.path == 0) continue;
                auto link = linkLoss_.find({s.id, d.peer});
                if (chance(burst_ ? 0.6 : link != linkLoss_.end() ? std::max(loss_, link->second) : loss_)) continue;
            }
            Time delay = Time(100) + (faults_ && !quiet_ ? randomTime(Time(0), jitter_) : Time(static_cast<int64_t>(random_() % 200)));
            int copies = (!quiet_ && faults_ && chance(duplicate_)) ? 2 : 1;
            for (int c = 0; c < copies; ++c)
                network_.push(InFlight{now_ + delay + Time(c * 300), ++order_, s.id, d.peer, d.path, d.bytes});
        }
        if (s.node->left() && !s.departed) {
            log("node %u has left", s.id);
            s.departed = true;
            s.node.reset();
        }
    }

    // Whether datagrams from `from` reach `to` at all (partitions and dead links; not loss).
    bool linked(NodeId from, NodeId to) {
        if (quiet_ || !faults_) return true;
        int a = slot(from).group, b = slot(to).group;
        if (a != b && (!oneWay_ || a == 1)) return false;
        return !deadLinks_.count({from, to});
    }

    static vip::VipTable vipTable() {
        vip::VipTable t;
        t.version = 1;
        for (int i = 0; i < 5; ++i) {
            vip::VipEntry e;
            e.address = Ipv4Address{0xC6120100u + static_cast<uint32_t>(i) + 1};  // 198.18.1.x
            if (i == 0) {
                e.preferred = 1;
                e.persistence = config::Persistence::StickyPreferred;  // moves back to node 1
            }
            t.entries.push_back(e);
        }
        return t;
    }

    // What a node's actuator answers now: nothing without a lease (a paused node's data
    // plane is taken to stop at its lease deadline too), nor a VIP still being probed.
    std::set<Ipv4Address> answers(const Slot& s) const {
        std::set<Ipv4Address> out;
        if (!s.node || !s.vips || (s.vips->leases && !s.node->membership().leaseValid(now_))) return out;
        for (Ipv4Address a : s.vips->manager.answering())
            if (!s.vips->probing.count(a)) out.insert(a);
        return out;
    }

    // The ARP probe of a claim: it succeeds after 100 ms in which no node that can reach the
    // prober answered the VIP or probed it too; otherwise it starts again.
    void resolveProbes() {
        bool any = false;
        for (auto& s : slots_) any |= s.vips && !s.vips->probing.empty();
        if (!any) return;
        std::vector<std::set<Ipv4Address>> answering;
        for (auto& o : slots_) answering.push_back(answers(o));
        for (auto& s : slots_) {
            if (!s.node || !s.vips || s.pausedUntil) continue;
            for (auto it = s.vips->probing.begin(); it != s.vips->probing.end();) {
                bool contested = false;
                for (auto& o : slots_) {
                    if (&o == &s || !o.node || !o.vips || !linked(o.id, s.id)) continue;
                    if (answering[o.id - 1].count(it->first) ||
                        (o.vips->probing.count(it->first) && (!o.vips->leases || o.node->membership().leaseValid(now_))))
                        contested = true;
                }
                if (contested) {
                    it->second = now_;
                    ++it;
                } else if (now_ - it->second >= 100ms) {
                    it = s.vips->probing.erase(it);
                } else {
                    ++it;
                }
            }
        }
    }

    std::optional<Failure> vipCheck() {
        std::map<Ipv4Address, std::vector<NodeId>> answered;
        for (auto& s : slots_) {
            if (!s.node || !s.vips) continue;
            if (s.vips->leases && !s.pausedUntil && !s.node->membership().leaseValid(now_) &&
                !s.vips->manager.answering().empty())
                return Failure{"node " + std::to_string(s.id) + " has no lease but its actuator still answers"};
            for (Ipv4Address a : answers(s)) answered[a].push_back(s.id);
        }
        // Two answers for one VIP: measured while the faults last (several tokens of one
        // ring can travel at once then, each with its own VIP table: docs/CLUSTER.md, "One
        // answer per VIP"), a failure once the network has been quiet for the bound.
        if (doubleSince_) doubleAnswerTime_ += now_ - *doubleSince_;
        doubleSince_.reset();
        for (auto& [vip, nodes] : answered)
            if (nodes.size() > 1) {
                std::string who;
                for (NodeId n : nodes) who += std::to_string(n) + " ";
                if (now_ >= kChaos + kSettleBound && leases_)
                    return Failure{vip.toString() + " answered by nodes " + who + "at once, " +
                                   std::to_string((now_ - kChaos).count() / 1000) + " ms after the faults stopped"};
                if (!doubleLogged_) log("double answer: %s by nodes %s", vip.toString().c_str(), who.c_str());
                doubleLogged_ = true;
                doubleSince_ = now_;
            }
        if (now_ >= kChaos + kSettleBound && !vipsSettledChecked_) {
            vipsSettledChecked_ = true;
            for (const auto& e : vipTable().entries)
                if (!answered.count(e.address))
                    return Failure{e.address.toString() + " answered by nobody " +
                                   std::to_string((now_ - kChaos).count() / 1000) + " ms after the faults stopped"};
        }
        return std::nullopt;
    }

    std::optional<Failure> check() {
        if (!duplicateDelivery_.empty()) return Failure{duplicateDelivery_};
        resolveProbes();
        if (auto f = vipCheck()) return f;
        int holders = 0;
        for (auto& s : slots_) {
            if (!s.node) continue;
            const Membership& m = s.node->membership();
            if (m.heldNow()) ++holders;
            uint64_t ring = m.ringId();
            if (ring == 0) continue;
            if (s.seenRing != 0 && ring > s.seenRing)
                return Failure{"node " + std::to_string(s.id) + " moved to a higher ring id"};
            auto stamp = m.lastStamp();
            if (ring == s.seenRing && s.seenStamp && stamp && newer(*s.seenStamp, *stamp))
                return Failure{"node " + std::to_string(s.id) + ": stamp went back from " + text(*s.seenStamp) +
                               " to " + text(*stamp)};
            if (ring != s.seenRing) log("node %u is in ring %016llx", s.id, static_cast<unsigned long long>(ring));
            s.seenRing = ring;
            s.seenStamp = stamp;
        }
        if (now_ >= kChaos + kSettleBound && holders > 1)
            return Failure{std::to_string(holders) + " nodes hold a token at once, " +
                           std::to_string((now_ - kChaos).count() / 1000) + " ms after the faults stopped"};
        if (now_ >= kChaos + kSettleBound && !settledChecked_) {
            settledChecked_ = true;
            if (auto f = membershipCheck("within the bound after the faults stopped")) return f;
        }
        return std::nullopt;
    }

    std::optional<Failure> membershipCheck(const std::string& when) {
        std::vector<NodeId> live;
        for (auto& s : slots_)
            if (s.node) live.push_back(s.id);
        std::optional<uint64_t> ring;
        for (auto& s : slots_) {
            if (!s.node) continue;
            const Membership& m = s.node->membership();
            std::string view;
            for (NodeId id : m.members()) view += std::to_string(id) + " ";
            if (m.phase() != Phase::Member || m.members() != live || (ring && *ring != m.ringId())) {
                std::string expected;
                for (NodeId id : live) expected += std::to_string(id) + " ";
                return Failure{"node " + std::to_string(s.id) + " (" + std::string(toString(m.phase())) +
                               ") sees [" + view + "], live nodes are [" + expected + "] " + when};
            }
            ring = m.ringId();
        }
        return std::nullopt;
    }

    std::optional<Failure> finalCheck() {
        if (!faults_) return std::nullopt;
        if (auto f = membershipCheck("at the end")) return f;
        return configCheck();
    }

    std::string configViews() const {
        std::string text;
        for (const auto& s : slots_)
            if (s.node)
                text += "; node " + std::to_string(s.id) + " started with " + std::to_string(s.startedWith) +
                        ", holds " + std::to_string(s.config->sync.local().version) + " " +
                        shortHex(s.config->sync.local().digest) + " (offered " +
                        std::to_string(s.config->sync.counters().offered) + ", chunks " +
                        std::to_string(s.config->sync.counters().chunksReceived) + ")";
        return text;
    }

    std::optional<Failure> configCheck() {
        const SharedConfig* first = nullptr;
        uint64_t newestStart = 0;
        for (auto& s : slots_)
            if (s.node) newestStart = std::max(newestStart, s.startedWith);
        for (auto& s : slots_) {
            if (!s.node) continue;
            const SharedConfig& c = s.config->sync.local();
            if (digestOf(c.text) != c.digest)
                return Failure{"node " + std::to_string(s.id) + " holds a configuration whose digest does not match"};
            if (c.version < newestStart)
                return Failure{"node " + std::to_string(s.id) + " holds configuration version " +
                               std::to_string(c.version) + ", a live node started with " + std::to_string(newestStart) +
                               configViews()};
            if (first && (c.version != first->version || c.digest != first->digest))
                return Failure{"nodes hold different configurations at the end: node " + std::to_string(s.id) +
                               " version " + std::to_string(c.version) + " " + shortHex(c.digest) + ", another " +
                               std::to_string(first->version) + " " + shortHex(first->digest) + configViews()};
            first = &c;
        }
        return std::nullopt;
    }

    uint64_t seed_;
    std::mt19937_64 random_;
    std::mt19937_64 configRandom_{seed_ ^ 0x5eed0c0f1bULL};
    bool verbose_;
    bool faults_;
    size_t configBytes_ = 0;
    bool leases_ = true;
    std::vector<NodeId> nodeMap_;
    std::vector<Slot> slots_;
    std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> network_;
    std::multimap<Time, std::function<void()>> events_;
    Time now_{0};
    uint64_t order_ = 0;
    uint64_t epochs_ = 0;
    double loss_ = 0, duplicate_ = 0;
    Time jitter_{0};
    unsigned pathCount_ = 1;
    bool pathDown_ = false, burst_ = false, quiet_ = false, settledChecked_ = false, vipsSettledChecked_ = false;
    bool oneWay_ = false;
    std::map<std::pair<NodeId, NodeId>, double> linkLoss_;
    std::optional<Time> doubleSince_;
    Time doubleAnswerTime_{0};
    bool doubleLogged_ = false;
    std::set<std::pair<NodeId, NodeId>> deadLinks_;
    std::string duplicateDelivery_;
    uint64_t bytesSent_ = 0, datagramsSent_ = 0;
    uint64_t sameInstant_ = 0;
};

int nodesForSeed(uint64_t seed) { return 3 + static_cast<int>(seed % 14); }

constexpr const char* kHelp = R"(usage: membership_sim --seed N [--nodes K] [--verbose]
       membership_sim --seeds FIRST-LAST [--no-lease]
       membership_sim --traffic K [--seconds S] [--config-bytes B]

Deterministic simulation of the ringgate cluster protocol (reliable messaging + token
train membership) under faults drawn from the seed; every invariant is checked after every
step. A failing seed prints the command that replays it. --traffic measures control
traffic per node per second of a fault-free K-node ring (one JSON line); with
--config-bytes, every node carries a configuration file of B bytes on the token. The
last line (JSON) totals double_answer_ms, the time two nodes answered one VIP at once while
the faults lasted; --no-lease runs the VIP manager without leases, as before them (the
baseline of that figure; two answers after the faults stop are then not checked).
Exit status: 0 all invariants held, 1 a seed failed, 2 usage error.
)";

}  // namespace

int main(int argc, char** argv) {
    auto args = cli::parse(argc, argv, {{"seed", "seeds", "nodes", "traffic", "seconds", "config-bytes"}, {"verbose", "help", "no-lease"}});
    if (!args) {
        std::fprintf(stderr, "membership_sim: %s\n", args.error().message.c_str());
        return 2;
    }
    if (args->has("help")) {
        std::fputs(kHelp, stdout);
        return 0;
    }
    bool verbose = args->has("verbose");
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    log::setAllLevels(verbose ? log::Level::Debug : log::Level::Error);

    if (auto traffic = args->option("traffic")) {
        auto n = cli::parseNumber("traffic", *traffic, 2, 64);
        auto seconds = cli::parseNumber("seconds", args->option("seconds").value_or("20"), 1, 3600);
        auto configBytes = cli::parseNumber("config-bytes", args->option("config-bytes").value_or("0"), 0, 1 << 20);
        if (!n || !seconds || !configBytes) {
            std::fprintf(stderr, "membership_sim: bad --traffic/--seconds/--config-bytes\n");
            return 2;
        }
        Simulation warm(1, static_cast<int>(*n), false, false, static_cast<size_t>(*configBytes));
        Simulation sim(1, static_cast<int>(*n), false, false, static_cast<size_t>(*configBytes));
        Time warmup = 2s, total = warmup + std::chrono::seconds(*seconds);
        warm.run(warmup);
        sim.run(total);
        double perNodeSecond = static_cast<double>(*n) * static_cast<double>(*seconds);
        double bytes = static_cast<double>(sim.bytesSent() - warm.bytesSent()) / perNodeSecond;
        double datagrams = static_cast<double>(sim.datagramsSent() - warm.datagramsSent()) / perNodeSecond;
        std::printf("{\"nodes\":%llu,\"config_bytes\":%llu,\"bytes_per_node_per_s\":%.1f,"
                    "\"datagrams_per_node_per_s\":%.1f}\n",
                    static_cast<unsigned long long>(*n), static_cast<unsigned long long>(*configBytes), bytes, datagrams);
        return 0;
    }

    uint64_t first = 0, last = 0;
    if (auto seed = args->option("seed")) {
        auto n = cli::parseNumber("seed", *seed, 0, UINT32_MAX);
        if (!n) { std::fprintf(stderr, "membership_sim: %s\n", n.error().message.c_str()); return 2; }
        first = last = *n;
    } else if (auto range = args->option("seeds")) {
        auto dash = range->find('-');
        auto a = cli::parseNumber("seeds", range->substr(0, dash), 0, UINT32_MAX);
        auto b = cli::parseNumber("seeds", dash == std::string::npos ? *range : range->substr(dash + 1), 0, UINT32_MAX);
        if (!a || !b || *b < *a) { std::fprintf(stderr, "membership_sim: --seeds FIRST-LAST\n"); return 2; }
        first = *a;
        last = *b;
    } else {
        std::fprintf(stderr, "membership_sim: --seed, --seeds or --traffic is required (see --help)\n");
        return 2;
    }
    std::optional<int> nodes;
    if (auto text = args->option("nodes")) {
        auto n = cli::parseNumber("nodes", *text, 2, 64);
        if (!n) { std::fprintf(stderr, "membership_sim: %s\n", n.error().message.c_str()); return 2; }
        nodes = static_cast<int>(*n);
    }
    std::map<std::string, uint64_t> totals;
    for (uint64_t seed = first; seed <= last; ++seed) {
        int n = nodes.value_or(nodesForSeed(seed));
        Simulation sim(seed, n, verbose, true, 0, !args->has("no-lease"));
        auto failure = sim.run(kChaos + kSettleBound + kObserve);
        if (failure) {
            std::printf("FAIL seed %llu (%d nodes): %s\nreplay: membership_sim --seed %llu --nodes %d --verbose\n",
                        static_cast<unsigned long long>(seed), n, failure->what.c_str(),
                        static_cast<unsigned long long>(seed), n);
            return 1;
        }
        for (auto& [k, v] : sim.totals()) totals[k] += v;
    }
    std::printf("{\"seeds\":%llu,\"first\":%llu,\"last\":%llu", static_cast<unsigned long long>(last - first + 1),
                static_cast<unsigned long long>(first), static_cast<unsigned long long>(last));
    for (auto& [k, v] : totals) std::printf(",\"%s\":%llu", k.c_str(), static_cast<unsigned long long>(v));
    std::printf(",\"result\":\"all invariants held\"}\n");
    return 0;
}
