// A GoogleTest environment that starts the DPDK EAL the way fast-path tests may: no
// hugepages (which rules out --in-memory), a little memory, no PCI, no shared runtime
// files and a per-process file prefix so that parallel tests never meet.
#pragma once

#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dataplane/eal.h"

namespace ringgate::dataplane::test {

class EalEnvironment : public ::testing::Environment {
public:
    explicit EalEnvironment(std::vector<std::string> extra = {}, int memoryMb = 256)
        : extra_(std::move(extra)), memoryMb_(memoryMb) {}
    void SetUp() override {
        // A test may choose its lcores ("-l"); by default it gets lcore 0 alone.
        std::vector<std::string> args = {"test"};
        args.insert(args.end(), extra_.begin(), extra_.end());
        if (std::find(extra_.begin(), extra_.end(), "-l") == extra_.end()) args.insert(args.end(), {"-l", "0"});
        args.insert(args.end(), {"--no-huge", "-m",
                                         std::to_string(memoryMb_), "--no-pci", "--no-shconf", "--no-telemetry",
                                         "--file-prefix", "rgtest" + std::to_string(::getpid()),
                                         "--log-level", "lib.eal:error"});
        auto ok = initEal(args);
        if (!ok) {
            std::fprintf(stderr, "%s\n", ok.error().message.c_str());
            std::exit(1);  // a failure, not a skip: --no-huge needs nothing this machine lacks
        }
    }

private:
    std::vector<std::string> extra_;
    int memoryMb_;
};

// main() of a test that needs root and a network namespace of its own (TAPs, addresses on
// them): skips (77) without them, else runs every test with the EAL up. `needs` says why.
inline int runInPrivateNetwork(int argc, char** argv, const char* needs) {
    ::testing::InitGoogleTest(&argc, argv);
    if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
        std::fprintf(stderr, "needs root for %s; skipping\n", needs);
        return 77;
    }
    ::testing::AddGlobalTestEnvironment(new EalEnvironment({}, 256));
    return RUN_ALL_TESTS();
}

}  // namespace ringgate::dataplane::test
