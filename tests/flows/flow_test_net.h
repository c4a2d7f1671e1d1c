// A few replicators on an instant in-memory network, for the unit tests: datagrams are
// delivered in order unless a filter drops, holds back or duplicates them.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "control/flows/flow_codec.h"
#include "control/flows/flow_replicator.h"

namespace ringgate::flows::testing {

struct InFlight {
    NodeId from = 0;
    Outgoing datagram;
    DatagramHeader header;  // decoded for filters (an unkeyed net)
};

class TestNet {
public:
    Time now{1'000'000};
    // Return true to drop a datagram.
    std::function<bool(const InFlight&)> drop;

    FlowReplicator& add(NodeId id, uint64_t incarnation = 1, ReplicatorOptions options = {}) {
        options.self = id;
        options.incarnation = incarnation;
        nodes_[id] = std::make_unique<FlowReplicator>(options);
        changes_[id].clear();
        return *nodes_[id];
    }
    FlowReplicator& at(NodeId id) { return *nodes_.at(id); }
    void remove(NodeId id) { nodes_.erase(id); }
    std::vector<Change>& changes(NodeId id) {
        collect();
        return changes_[id];
    }
    void setMembers(const std::vector<NodeId>& members) {
        for (NodeId n : members)
            if (nodes_.count(n)) nodes_[n]->setMembers(now, members);
    }

    // Everything the nodes produced, in production order.
    std::vector<InFlight> collect() {
        std::vector<InFlight> fresh;
        for (auto& [id, node] : nodes_) {
            for (Outgoing& o : node->takeOutgoing()) {
                InFlight f{id, std::move(o), {}};
                std::vector<WireRecord> scratch;
                decodeDatagram(f.datagram.bytes, cluster::AuthKey(), f.header, scratch);
                fresh.push_back(std::move(f));
            }
            for (Change& c : node->takeChanges()) changes_[id].push_back(std::move(c));
        }
        return fresh;
    }

    void deliver(const InFlight& f) {
        auto it = nodes_.find(f.datagram.peer);
        if (it != nodes_.end()) it->second->receive(now, f.from, f.datagram.bytes);
    }

    // Delivers until nothing more is produced (bounded: a livelock fails the test).
    size_t deliverAll(size_t maxRounds = 10000) {
        size_t delivered = 0;
        for (size_t round = 0; round < maxRounds; ++round) {
            auto batch = collect();
            if (batch.empty()) return delivered;
            for (const InFlight& f : batch) {
                if (drop && drop(f)) continue;
                deliver(f);
                ++delivered;
            }
        }
        ADD_FAILURE() << "the network never went quiet";
        return delivered;
    }

    // Flushes, acknowledges and resends: time passes in steps with every timer served.
    void run(Time duration, Time step = Time(1'000)) {
        Time end = now + duration;
        while (now < end) {
            now += step;
            for (auto& [id, node] : nodes_) node->tick(now);
            deliverAll();
        }
    }

private:
    std::map<NodeId, std::unique_ptr<FlowReplicator>> nodes_;
    std::map<NodeId, std::vector<Change>> changes_;
};

}  // namespace ringgate::flows::testing
