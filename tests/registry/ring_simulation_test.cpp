// Many agents' cores against the real server table (SQLite or PostgreSQL, chosen by
// RINGGATE_TEST_STORE as in server_store_test.cpp) in a simulated network where
// messages are delivered in a random order, so that ServerReplace messages and registry
// answers cross each other: after kills (one, two neighbours, several), a normal shutdown
// and a rejoin, the table must be one ring of exactly the live servers, and every agent's
// buddy list must equal its table entry, within a bounded number of probe rounds.
// Partitions: half the agents cut off from everyone (their registry calls held and
// delivered after the heal, as RegistryClient's retries do), and an ICMP-only partition
// between two groups while the registry still reaches all: the registry judges death
// reports (death_judge.h) and confirms them with its own probe.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>
#include <set>

#include "control/registry/buddy_core.h"
#include "control/registry/registry_service.h"
#include "control/registry/ring_view.h"
#include "tests/registry/store_fixture.h"

namespace ringgate::registry::test {
namespace {

using namespace std::chrono_literals;

class Simulation {
public:
    // The store under test (RINGGATE_TEST_STORE), emptied first.
    explicit Simulation(uint64_t seed)
        : store_(StoreEnvironment::instance().open()), random_(seed),
          service_(*store_, [this] { return random_(); }) {
        EXPECT_TRUE(service_.load({}).ok());
        service_.setDeathPolicy({true, 0.5, 10000ms, 1});
    }

    // Links down: no probes, messages or registry calls in or out (calls are held).
    void cut(std::set<Ipv4Address> hosts) { cut_ = std::move(hosts); }
    // ICMP (the buddies' probes) blocked between the two groups; everything else flows.
    void blockIcmp(std::set<Ipv4Address> group) { icmpGroup_ = std::move(group); }
    void heal() {
        cut_.clear();
        icmpGroup_.clear();
        auto held = std::move(held_);
        held_.clear();
        for (auto& item : held) queue_.push_back(std::move(item));
    }
    size_t tableSize() { return tableServers().size(); }
    std::set<Ipv4Address> tableServers() {
        std::set<Ipv4Address> out;
        auto table = store_->snapshot();
        if (table)
            for (const auto& e : table->entries) out.insert(e.server);
        return out;
    }
    std::set<Ipv4Address> agents() const {
        std::set<Ipv4Address> out;
        for (const auto& [address, agent] : agents_) out.insert(address);
        return out;
    }

    void join(Ipv4Address address) {
        agents_[address] = std::make_unique<BuddyCore>(BuddyConfig{address, 3, 5000ms});
        enqueue(address, agents_[address]->start(now_));
    }
    void kill(Ipv4Address address) { agents_.erase(address); }
    void shutdown(Ipv4Address address) { enqueue(address, agents_[address]->shutdown()); }

    void round() {
        now_ += 500ms;
        for (auto& [address, agent] : agents_) enqueue(address, agent->tick(now_));
        drain();
    }

    // Rounds until the table and every list agree, at most `bound`; returns rounds used.
    int settle(int bound) {
        for (int rounds = 1; rounds <= bound; ++rounds) {
            round();
            if (consistent().empty()) return rounds;
        }
        return -1;
    }

    std::string consistent() {
        auto table = store_->snapshot();
        if (!table) return table.error().message;
        auto check = checkRing(table->entries);
        if (!check.ok) return "not one ring: " + check.problem;
        std::set<Ipv4Address> live;
        for (const auto& [address, agent] : agents_)
            if (agent->state() == BuddyCore::State::Running) live.insert(address);
        if (std::set<Ipv4Address>(check.order.begin(), check.order.end()) != live)
            return "ring has " + std::to_string(check.order.size()) + " servers, " + std::to_string(live.size()) +
                   " agents live";
        for (const auto& e : table->entries) {
            const auto& agent = *agents_[e.server];
            if (std::set{agent.buddyA(), agent.buddyB()} != std::set{e.buddyA, e.buddyB})
                return e.server.toString() + " lists " + agent.buddyA().toString() + "," + agent.buddyB().toString() +
                       " but the table says " + e.buddyA.toString() + "," + e.buddyB.toString();
        }
        return "";
    }

    std::vector<Ipv4Address> ringOrder() { return checkRing(store_->snapshot()->entries).order; }
    bool hasAgent(Ipv4Address address) const { return agents_.count(address) > 0; }

private:
    void enqueue(Ipv4Address who, Effects effects) {
        for (auto& e : effects) queue_.push_back({who, std::move(e)});
    }

    void drain() {
        while (!queue_.empty()) {
            // Deliver a random pending message: crossing messages are the hard case.
            size_t index = random_() % queue_.size();
            auto [who, e] = queue_[index];
            queue_.erase(queue_.begin() + static_cast<long>(index));
            perform(who, e);
        }
    }

    protocol::BuddyReply call(protocol::Verb verb, Ipv4Address address) {
        protocol::Request request{verb, address, {}, 0};
        auto reply = protocol::parseBuddyReply(service_.handle(request, true, Role::Standalone, time()).reply);
        EXPECT_TRUE(reply.ok());
        return *reply;
    }

    RegistryService::Time time() const { return RegistryService::Time{} + (now_ - BuddyCore::Time{}); }
    bool reachable(Ipv4Address a, Ipv4Address b) const { return !cut_.count(a) && !cut_.count(b); }
    bool probeAnswers(Ipv4Address from, Ipv4Address to) const {
        return agents_.count(to) && reachable(from, to) &&
               (icmpGroup_.empty() || icmpGroup_.count(from) == icmpGroup_.count(to));
    }

    // DEAD through the registry's judge; its own probe reaches every agent not cut off.
    Effects report(BuddyCore& agent, Ipv4Address who, const effect::ReportDeath& dead) {
        protocol::Request request{protocol::Verb::Dead, dead.server, who, dead.version};
        auto outcome = service_.handle(request, true, Role::Standalone, time());
        if (outcome.confirm) {
            bool alive = agents_.count(dead.server) && !cut_.count(dead.server);
            outcome = service_.confirmed(request, alive, time());
        }
        auto reply = protocol::parseBuddyReply(outcome.reply);
        if (!reply) return agent.reportRefused(dead.server);
        return agent.deleted(dead.server, *reply);
    }

    void perform(Ipv4Address who, const Effect& e) {
        auto it = agents_.find(who);
        if (it == agents_.end()) return;  // a dead agent does nothing
        BuddyCore& agent = *it->second;
        bool registryCall = std::holds_alternative<effect::Announce>(e) || std::holds_alternative<effect::Delete>(e) ||
                            std::holds_alternative<effect::ReportDeath>(e) ||
                            std::holds_alternative<effect::FetchEntry>(e);
        if (registryCall && cut_.count(who)) {
            held_.push_back({who, e});  // retried until the link is back
            return;
        }
        if (std::holds_alternative<effect::Announce>(e)) {
            enqueue(who, agent.announced(call(protocol::Verb::Announce, who)));
        } else if (auto* del = std::get_if<effect::Delete>(&e)) {
            auto reply = call(protocol::Verb::Delete, del->server);
            enqueue(who, del->server == who ? agent.leftTable(reply) : agent.deleted(del->server, reply));
        } else if (auto* dead = std::get_if<effect::ReportDeath>(&e)) {
            enqueue(who, report(agent, who, *dead));
        } else if (std::holds_alternative<effect::FetchEntry>(e)) {
            enqueue(who, agent.entryFetched(call(protocol::Verb::Entry, who)));
        } else if (auto* probe = std::get_if<effect::Probe>(&e)) {
            if (probeAnswers(who, probe->target)) agent.answered(probe->target);
        } else if (auto* send = std::get_if<effect::SendReplace>(&e)) {
            auto target = agents_.find(send->to);
            if (target != agents_.end() && reachable(who, send->to))
                enqueue(send->to, target->second->replaceRequested(send->version, send->toReplace, send->replacement).effects);
        } else if (std::holds_alternative<effect::Exit>(e)) {
            agents_.erase(who);
        }
    }

    std::unique_ptr<ServerStore> store_;
    std::mt19937_64 random_;
    RegistryService service_;
    std::map<Ipv4Address, std::unique_ptr<BuddyCore>> agents_;
    std::deque<std::pair<Ipv4Address, Effect>> queue_;
    std::vector<std::pair<Ipv4Address, Effect>> held_;
    std::set<Ipv4Address> cut_, icmpGroup_;
    BuddyCore::Time now_{};
};

// Bound: 3 silent probes to declare a death, a round for the repair messages, a round
// for the confirmations, and slack for chains of deaths discovered one after another.
constexpr int kBound = 15;

class RingSimulation : public ::testing::TestWithParam<uint64_t> {};

TEST_P(RingSimulation, TwentyServersSurviveKillsShutdownAndRejoin) {
    Simulation sim(GetParam());
    for (uint32_t k = 1; k <= 20; ++k) sim.join(server(k));  // all at once
    ASSERT_GT(sim.settle(kBound), 0) << sim.consistent();

    sim.kill(server(7));  // one
    ASSERT_GT(sim.settle(kBound), 0) << "after one kill: " << sim.consistent();

    auto order = sim.ringOrder();  // two neighbours
    sim.kill(order[3]);
    sim.kill(order[4]);
    ASSERT_GT(sim.settle(kBound), 0) << "after two neighbours: " << sim.consistent();

    order = sim.ringOrder();  // several at once, including three in a row
    for (size_t i : {0, 1, 2, 6, 10}) sim.kill(order[i]);
    ASSERT_GT(sim.settle(kBound), 0) << "after five: " << sim.consistent();

    order = sim.ringOrder();  // a normal shutdown
    sim.shutdown(order[2]);
    ASSERT_GT(sim.settle(kBound), 0) << "after a shutdown: " << sim.consistent();
    EXPECT_EQ(sim.ringOrder().size(), 11u);  // 20 - 1 - 2 - 5 - 1

    sim.join(server(7));  // a server that comes back
    sim.join(server(21));
    ASSERT_GT(sim.settle(kBound), 0) << "after rejoins: " << sim.consistent();
    EXPECT_EQ(sim.ringOrder().size(), 13u);
}

// Half the segment's links down for 5 s (10 rounds) and healed: the cut half is removed
// (the registry cannot reach it either), and after the heal every one of them is back in
// the table within two detection periods (2 x 3 rounds), the ring whole soon after.
// Before the fix an agent that found itself absent could stop re-reading for good.
TEST_P(RingSimulation, HalfTheSegmentCutOffAndHealed) {
    Simulation sim(GetParam());
    for (uint32_t k = 1; k <= 20; ++k) sim.join(server(k));
    ASSERT_GT(sim.settle(kBound), 0) << sim.consistent();
    std::set<Ipv4Address> half;
    for (uint32_t k = 1; k <= 20; k += 2) half.insert(server(k));
    sim.cut(half);
    for (int r = 0; r < 10; ++r) sim.round();
    sim.heal();
    int rounds = 0;
    while (sim.tableServers() != sim.agents() && rounds < 6) {
        sim.round();
        ++rounds;
    }
    EXPECT_EQ(sim.tableServers(), sim.agents()) << "live list incomplete " << rounds << " rounds after the heal";
    ASSERT_GT(sim.settle(kBound), 0) << "after the heal: " << sim.consistent();
    EXPECT_EQ(sim.tableSize(), 20u);
}

// ICMP blocked between two groups for 40 s (80 rounds) while the registry reaches all:
// every agent reports its buddies in the other group, and the registry, which still
// hears them, removes nobody. Before the fix the pool went to zero in half a second.
TEST_P(RingSimulation, AnIcmpPartitionBetweenBackEndsRemovesNobody) {
    Simulation sim(GetParam());
    for (uint32_t k = 1; k <= 20; ++k) sim.join(server(k));
    ASSERT_GT(sim.settle(kBound), 0) << sim.consistent();
    std::set<Ipv4Address> group;
    for (uint32_t k = 1; k <= 10; ++k) group.insert(server(k));
    sim.blockIcmp(group);
    for (int r = 0; r < 80; ++r) {
        sim.round();
        ASSERT_EQ(sim.tableSize(), 20u) << "a live server was removed in round " << r;
    }
    sim.heal();
    ASSERT_GT(sim.settle(kBound), 0) << "after the heal: " << sim.consistent();
    EXPECT_EQ(sim.tableSize(), 20u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, RingSimulation, ::testing::Range<uint64_t>(1, 41));

}  // namespace
}  // namespace ringgate::registry::test
