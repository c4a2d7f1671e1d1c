#include "dataplane/neighbour_table.h"

#include "dataplane/flow_hash.h"

namespace ringgate::dataplane {

namespace {
uint64_t packMac(const MacAddress& mac) {
    uint64_t value = 0;
    for (uint8_t byte : mac.bytes) value = value << 8 | byte;
    return value;
}
MacAddress unpackMac(uint64_t value) {
    MacAddress mac;
    for (int i = 5; i >= 0; --i) {
        mac.bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(value);
        value >>= 8;
    }
    return mac;
}
size_t roundUpPowerOfTwo(size_t n) {
    size_t p = 16;
    while (p < n) p <<= 1;
    return p;
}
}  // namespace

NeighbourTable::NeighbourTable(size_t capacity, NeighbourTimers timers)
    : slots_(new Slot[roundUpPowerOfTwo(capacity)]),
      mask_(roundUpPowerOfTwo(capacity) - 1),
      timers_(timers) {}

bool NeighbourTable::expired(const Slot& slot, uint32_t nowMs) const {
    uint32_t last = std::max(slot.updatedMs.load(std::memory_order_relaxed),
                             slot.requestedMs.load(std::memory_order_relaxed));
    return nowMs - last > timers_.maxAgeMs;
}

NeighbourTable::Slot* NeighbourTable::find(uint32_t ip) const {
    size_t start = mix64(ip) & mask_;
    for (unsigned i = 0; i < kProbe; ++i) {
        Slot& slot = slots_[(start + i) & mask_];
        uint32_t held = slot.ip.load(std::memory_order_acquire);
        if (held == ip) return &slot;
        if (held == 0) return nullptr;
    }
    return nullptr;
}

// The slot for `ip`: its own, else an empty or expired one in its probe window, else the
// window's stalest. Returns it locked (odd sequence), or null when another writer holds it.
NeighbourTable::Slot* NeighbourTable::claim(uint32_t ip, uint32_t nowMs) {
    Slot* chosen = find(ip);
    if (!chosen) {
        size_t start = mix64(ip) & mask_;
        uint32_t stalest = 0;
        for (unsigned i = 0; i < kProbe; ++i) {
            Slot& slot = slots_[(start + i) & mask_];
            uint32_t held = slot.ip.load(std::memory_order_acquire);
            if (held == 0 || expired(slot, nowMs)) {
                chosen = &slot;
                break;
            }
            uint32_t age = nowMs - slot.updatedMs.load(std::memory_order_relaxed);
            if (!chosen || age > stalest) {
                chosen = &slot;
                stalest = age;
            }
        }
    }
    uint32_t seq = chosen->seq.load(std::memory_order_relaxed);
    if ((seq & 1) || !chosen->seq.compare_exchange_strong(seq, seq + 1, std::memory_order_acquire))
        return nullptr;
    std::atomic_thread_fence(std::memory_order_release);
    if (chosen->ip.load(std::memory_order_relaxed) != ip) {
        chosen->mac.store(0, std::memory_order_relaxed);
        chosen->requestedMs.store(nowMs - timers_.requestGapMs - 1, std::memory_order_relaxed);
        chosen->updatedMs.store(nowMs - timers_.maxAgeMs, std::memory_order_relaxed);
        chosen->ip.store(ip, std::memory_order_release);
    }
    return chosen;
}

void NeighbourTable::learn(uint32_t ip, const MacAddress& mac, uint32_t nowMs) {
    if (ip == 0) return;
    Slot* slot = claim(ip, nowMs);
    if (!slot) return;
    slot->mac.store(packMac(mac) | kResolved, std::memory_order_relaxed);
    slot->updatedMs.store(nowMs, std::memory_order_relaxed);
    slot->seq.fetch_add(1, std::memory_order_release);
}

std::optional<NeighbourTable::Found> NeighbourTable::lookup(uint32_t ip, uint32_t nowMs) const {
    for (int attempt = 0; attempt < 4; ++attempt) {
        Slot* slot = find(ip);
        if (!slot) return std::nullopt;
        uint32_t before = slot->seq.load(std::memory_order_acquire);
        if (before & 1) continue;
        uint64_t mac = slot->mac.load(std::memory_order_relaxed);
        uint32_t updated = slot->updatedMs.load(std::memory_order_relaxed);
        uint32_t held = slot->ip.load(std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (slot->seq.load(std::memory_order_relaxed) != before) continue;
        if (held != ip || !(mac & kResolved) || nowMs - updated > timers_.maxAgeMs)
            return std::nullopt;
        return Found{unpackMac(mac), nowMs - updated > timers_.refreshMs, nowMs - updated};
    }
    return std::nullopt;
}

bool NeighbourTable::shouldRequest(uint32_t ip, uint32_t nowMs) {
    Slot* slot = claim(ip, nowMs);
    if (!slot) return false;
    bool due = nowMs - slot->requestedMs.load(std::memory_order_relaxed) >= timers_.requestGapMs;
    if (due) slot->requestedMs.store(nowMs, std::memory_order_relaxed);
    slot->seq.fetch_add(1, std::memory_order_release);
    return due;
}

std::vector<NeighbourTable::Entry> NeighbourTable::list(uint32_t nowMs) const {
    std::vector<Entry> out;
    for (size_t i = 0; i <= mask_; ++i) {
        const Slot& slot = slots_[i];
        uint32_t ip = slot.ip.load(std::memory_order_acquire);
        if (ip == 0) continue;
        auto found = lookup(ip, nowMs);
        if (found) out.push_back({ip, found->mac, nowMs - slot.updatedMs.load(std::memory_order_relaxed)});
    }
    return out;
}

}  // namespace ringgate::dataplane
