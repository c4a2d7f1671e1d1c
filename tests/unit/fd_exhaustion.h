// Test helper: drives a process to its open-file limit (EMFILE) and back, and measures
// the CPU time an io_context burns meanwhile — an accept loop that retries a failing
// accept at once spins at full speed.
#pragma once

#include <sys/resource.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <vector>

namespace ringgate::test {

class FdExhaustion {
public:
    // Lowers the soft limit to what is open now plus `spare`, then fills the spare.
    explicit FdExhaustion(int spare = 0) {
        getrlimit(RLIMIT_NOFILE, &saved_);
        int highest = 0;
        for (int fd = 0; fd < 4096; ++fd)
            if (::fcntl(fd, F_GETFD) != -1) highest = fd;
        rlimit lowered = saved_;
        lowered.rlim_cur = static_cast<rlim_t>(highest + 1 + spare);
        setrlimit(RLIMIT_NOFILE, &lowered);
        for (int fd; (fd = ::dup(0)) >= 0;) filler_.push_back(fd);
    }
    ~FdExhaustion() { release(); }
    void release() {
        for (int fd : filler_) ::close(fd);
        filler_.clear();
        setrlimit(RLIMIT_NOFILE, &saved_);
    }

private:
    rlimit saved_{};
    std::vector<int> filler_;
};

inline double cpuSeconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace ringgate::test
