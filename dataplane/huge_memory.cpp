#include "dataplane/huge_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels refuse it and we touch the pages
#endif

namespace ringgate::dataplane {

Expected<HugeMemory> HugeMemory::map(size_t bytes, const std::string& what) {
    size_t size = (std::max<size_t>(bytes, 1) + kHugePage - 1) / kHugePage * kHugePage;
    // Map one huge page more and trim, so that the range starts on a 2 MiB boundary: only
    // aligned 2 MiB ranges can be huge pages.
    size_t span = size + kHugePage;
    void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return makeError("allocate " + std::to_string(size >> 20) + " MiB for " + what + ": " +
                         std::strerror(errno));
    auto start = reinterpret_cast<uintptr_t>(raw);
    uintptr_t aligned = (start + kHugePage - 1) & ~(uintptr_t{kHugePage} - 1);
    if (aligned > start) ::munmap(raw, aligned - start);
    size_t tail = start + span - (aligned + size);
    if (tail > 0) ::munmap(reinterpret_cast<void*>(aligned + size), tail);

    HugeMemory memory;
    memory.data_ = reinterpret_cast<void*>(aligned);
    memory.bytes_ = size;
    // Both are advice: without THP the table still works, on 4 KiB pages.
    ::madvise(memory.data_, size, MADV_HUGEPAGE);
    if (::madvise(memory.data_, size, MADV_POPULATE_WRITE) != 0) {
        if (errno == ENOMEM)
            return makeError("allocate " + std::to_string(size >> 20) + " MiB for " + what +
                             ": out of memory");
        auto* bytesOf = static_cast<volatile uint8_t*>(memory.data_);
        for (size_t at = 0; at < size; at += 4096) bytesOf[at] = 0;
    }
    return memory;
}

HugeMemory& HugeMemory::operator=(HugeMemory&& other) noexcept {
    if (this != &other) {
        if (data_) ::munmap(data_, bytes_);
        data_ = std::exchange(other.data_, nullptr);
        bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
}

HugeMemory::~HugeMemory() {
    if (data_) ::munmap(data_, bytes_);
}

}  // namespace ringgate::dataplane
