// Many agents' cores against the real server table (SQLite or PostgreSQL, chosen by
// RINGGATE_TEST_STORE as in server_store_test.cpp) in a simulated network where
// messages are delivered in a random order, so that ServerReplace messages and registry
// answers cross each other: after kills (one, two neighbours, several), a normal shutdown
// and a rejoin, the table must be one ring of exactly the live servers, and every agent's
// buddy list must equal its table entry, within a bounded number of probe rounds.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>

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
        EXPECT_TRUE(store_->load({}).ok());
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
        auto reply = protocol::parseBuddyReply(service_.handle(request, true, Role::Standalone).reply);
        EXPECT_TRUE(reply.ok());
        return *reply;
    }

    void perform(Ipv4Address who, const Effect& e) {
        auto it = agents_.find(who);
        if (it == agents_.end()) return;  // a dead agent does nothing
        BuddyCore& agent = *it->second;
        if (std::holds_alternative<effect::Announce>(e)) {
            enqueue(who, agent.announced(call(protocol::Verb::Announce, who)));
        } else if (auto* del = std::get_if<effect::Delete>(&e)) {
            auto reply = call(protocol::Verb::Delete, del->server);
            enqueue(who, del->server == who ? agent.leftTable(reply) : agent.deleted(del->server, reply));
        } else if (std::holds_alternative<effect::FetchEntry>(e)) {
            enqueue(who, agent.entryFetched(call(protocol::Verb::Entry, who)));
        } else if (auto* probe = std::get_if<effect::Probe>(&e)) {
            if (agents_.count(probe->target)) agent.answered(probe->target);
        } else if (auto* send = std::get_if<effect::SendReplace>(&e)) {
            auto target = agents_.find(send->to);
            if (target != agents_.end())
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

INSTANTIATE_TEST_SUITE_P(Seeds, RingSimulation, ::testing::Range<uint64_t>(1, 41));

}  // namespace
}  // namespace ringgate::registry::test
