#include "dataplane/maglev.h"

#include <algorithm>
#include <numeric>

#include "dataplane/flow_hash.h"

namespace ringgate::dataplane {

std::vector<uint16_t> buildMaglevTable(std::span<const MaglevBackend> backends,
                                       uint32_t tableSize) {
    std::vector<uint16_t> table(tableSize, kMaglevNoBackend);
    // Fill in a canonical order (by address, port) so that the table does not depend on
    // the order in which a node happened to learn its back ends.
    std::vector<uint16_t> order;
    for (size_t i = 0; i < backends.size() && i < kMaglevNoBackend; ++i)
        if (backends[i].weight > 0) order.push_back(static_cast<uint16_t>(i));
    if (order.empty() || tableSize < 2) return table;
    std::sort(order.begin(), order.end(), [&](uint16_t a, uint16_t b) {
        const auto& x = backends[a];
        const auto& y = backends[b];
        return x.address != y.address ? x.address < y.address : x.port < y.port;
    });

    struct Walk {
        uint64_t offset, skip, next;
        uint32_t weight;
    };
    std::vector<Walk> walks;
    uint32_t maxWeight = 0;
    for (uint16_t index : order) {
        uint64_t identity = uint64_t{backends[index].address} << 16 | backends[index].port;
        uint64_t h1 = mix64(identity ^ 0x5bd1e995ULL);
        uint64_t h2 = mix64(identity ^ 0x27d4eb2f165667c5ULL);
        walks.push_back({h1 % tableSize, h2 % (tableSize - 1) + 1, 0, backends[index].weight});
        maxWeight = std::max(maxWeight, backends[index].weight);
    }

    // Weighted round robin over the permutations: in each round a back end of weight w
    // claims its next free preferred slot in w of the maxWeight sub-rounds.
    uint32_t filled = 0;
    while (true) {
        for (uint32_t turn = 0; turn < maxWeight; ++turn) {
            for (size_t i = 0; i < walks.size(); ++i) {
                Walk& walk = walks[i];
                if (turn >= walk.weight) continue;
                uint64_t slot;
                do {
                    slot = (walk.offset + walk.next * walk.skip) % tableSize;
                    ++walk.next;
                } while (table[slot] != kMaglevNoBackend);
                table[slot] = order[i];
                if (++filled == tableSize) return table;
            }
        }
    }
}

}  // namespace ringgate::dataplane
