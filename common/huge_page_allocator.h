// An allocator for large, randomly accessed arrays (hash indexes, slabs of millions of
// entries): blocks of 2 MiB and more are 2 MiB-aligned and marked MADV_HUGEPAGE, so that
// the kernel backs them with transparent huge pages where it allows them ("madvise" mode,
// Debian's default). At a million entries a random lookup otherwise misses the TLB as well
// as the cache, and a page walk costs as much as the miss (more under virtualisation).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>

namespace ringgate {

template <typename T>
struct HugePageAllocator {
    using value_type = T;
    static constexpr size_t kHugePage = size_t{2} << 20;

    HugePageAllocator() = default;
    template <typename U>
    HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

    T* allocate(size_t n) {
        size_t bytes = n * sizeof(T);
        if (bytes < kHugePage) {
            if (void* p = std::malloc(bytes)) return static_cast<T*>(p);
            throw std::bad_alloc();
        }
        size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
        void* p = std::aligned_alloc(kHugePage, rounded);
        if (!p) throw std::bad_alloc();
        (void)::madvise(p, rounded, MADV_HUGEPAGE);  // advice: refused, it is small pages
        return static_cast<T*>(p);
    }
    void deallocate(T* p, size_t) noexcept { std::free(p); }

    template <typename U>
    bool operator==(const HugePageAllocator<U>&) const noexcept { return true; }
};

}  // namespace ringgate
