// Large zeroed memory for the fast path's tables, on transparent huge pages where the
// kernel has them, faulted in before the workers start.
//
// Why not rte_malloc: the connection table is read only by CPU threads (no device ever
// DMAs into it), and with the EAL on `--no-huge` DPDK memory is 4 KiB pages, so every
// random table access would also miss the TLB. An anonymous mapping with
// MADV_HUGEPAGE gets 2 MiB pages without reserving hugepages, and it does not count
// against `dataplane.memory_mb`. MADV_POPULATE_WRITE faults it all in at setup, so no
// packet ever waits for a page fault (or a 2 MiB page being zeroed).
#pragma once

#include <cstddef>
#include <string>

#include "common/expected.h"

namespace ringgate::dataplane {

class HugeMemory {
public:
    static constexpr size_t kHugePage = size_t{2} << 20;

    // `what` names the memory in the error message.
    static Expected<HugeMemory> map(size_t bytes, const std::string& what);

    HugeMemory() = default;
    HugeMemory(HugeMemory&& other) noexcept { *this = std::move(other); }
    HugeMemory& operator=(HugeMemory&& other) noexcept;
    HugeMemory(const HugeMemory&) = delete;
    HugeMemory& operator=(const HugeMemory&) = delete;
    ~HugeMemory();

    void* data() const { return data_; }
    // What the mapping holds (the request rounded up to whole huge pages).
    size_t bytes() const { return bytes_; }

private:
    void* data_ = nullptr;
    size_t bytes_ = 0;
};

}  // namespace ringgate::dataplane
