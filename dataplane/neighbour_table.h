// IPv4 -> MAC of hosts on the ports' subnets (back ends, peers, routers), learned from ARP
// and aged out. Fixed size, no allocation after construction; readers and writers on
// several workers at once without locks (a per-entry sequence counter: a reader retries
// a torn read, a writer that finds the entry busy skips, the next ARP teaches it again).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "dataplane/packet.h"

namespace ringgate::dataplane {

struct NeighbourTimers {
    uint32_t maxAgeMs = 300'000;   // an entry not confirmed for this long is gone
    uint32_t refreshMs = 60'000;   // older than this: ask again while still using it
    uint32_t requestGapMs = 1'000; // at most one ARP request per address per gap
};

class NeighbourTable {
public:
    explicit NeighbourTable(size_t capacity, NeighbourTimers timers = {});

    void learn(uint32_t ip, const MacAddress& mac, uint32_t nowMs);

    struct Found {
        MacAddress mac;
        bool needsRefresh = false;
        uint32_t ageMs = 0;  // since it was last learned
    };
    std::optional<Found> lookup(uint32_t ip, uint32_t nowMs) const;

    // Rate limit for ARP requests: true when the caller should send one for `ip` now.
    bool shouldRequest(uint32_t ip, uint32_t nowMs);

    struct Entry {
        uint32_t ip = 0;
        MacAddress mac;
        uint32_t ageMs = 0;
    };
    std::vector<Entry> list(uint32_t nowMs) const;  // control thread: resolved, unexpired entries
    size_t capacity() const { return mask_ + 1; }

private:
    struct Slot {
        std::atomic<uint32_t> seq{0};  // odd while a writer changes the slot
        std::atomic<uint32_t> ip{0};
        std::atomic<uint64_t> mac{0};  // 48 bits of MAC; bit 63: resolved
        std::atomic<uint32_t> updatedMs{0};
        std::atomic<uint32_t> requestedMs{0};
    };
    static constexpr uint64_t kResolved = 1ull << 63;
    static constexpr unsigned kProbe = 8;

    Slot* find(uint32_t ip) const;
    Slot* claim(uint32_t ip, uint32_t nowMs);
    bool expired(const Slot& slot, uint32_t nowMs) const;

    std::unique_ptr<Slot[]> slots_;
    size_t mask_;
    NeighbourTimers timers_;
};

}  // namespace ringgate::dataplane
