#include "control/registry/address_control.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

extern char** environ;

namespace ringgate::registry {

Expected<int> runProgram(const std::vector<std::string>& argv, bool quietErrors) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (quietErrors) posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return makeError("run " + argv[0] + ": " + std::strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return makeError("wait for " + argv[0] + ": " + std::strerror(errno));
    if (!WIFEXITED(status)) return makeError(argv[0] + " was killed");
    return WEXITSTATUS(status);
}

Expected<bool> AddressControl::inUse() const {
    // DAD mode: exit 0 when nobody answered within a second.
    auto status = runProgram({"arping", "-q", "-D", "-c", "2", "-w", "1", "-I", interface_, address_.toString()});
    if (!status) return status.error();
    if (*status == 2) return makeError("arping -D " + address_.toString() + " on " + interface_ + " failed");
    return *status != 0;
}

AddressControl::~AddressControl() { stopGuard(); }

void AddressControl::stopGuard() {
    if (guardPipe_ >= 0) ::close(guardPipe_);  // the guard removes the address and exits
    guardPipe_ = -1;
    if (guardPid_ > 0) {
        int status = 0;
        while (::waitpid(guardPid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    guardPid_ = -1;
}

Expected<void> AddressControl::take() {
    auto added = runProgram({"ip", "-4", "addr", "replace", address_.toString() + "/32", "dev", interface_});
    if (!added) return added.error();
    if (*added != 0) return makeError("ip addr add " + address_.toString() + " dev " + interface_ + " failed");
    stopGuard();
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return makeError(std::string("guard pipe: ") + std::strerror(errno));
    std::string cidr = address_.toString() + "/32";
    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        return makeError(std::string("fork the address guard: ") + std::strerror(errno));
    }
    if (pid == 0) {
        // The guard: only async-signal-safe calls until exec. It holds nothing of the
        // registry's (no listening socket) and waits for the pipe to close.
        ::dup2(fds[0], 0);
        ::syscall(SYS_close_range, 3u, ~0u, 0u);
        int devnull = ::open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            ::dup2(devnull, 1);
            ::dup2(devnull, 2);
        }
        char byte;
        while (::read(0, &byte, 1) != 0) {
        }
        ::execlp("ip", "ip", "-4", "addr", "del", cidr.c_str(), "dev", interface_.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(fds[0]);
    guardPipe_ = fds[1];
    guardPid_ = pid;
    // Unsolicited ARP: neighbours that cached the old primary's MAC learn ours now. The
    // first one goes out at once; arping then lingers a second, so it runs on its own
    // thread while the registry already serves.
    // Three, a second apart: a neighbour ignores an update within a second (locktime) of
    // its last one.
    std::thread([argv = std::vector<std::string>{"arping", "-q", "-U", "-c", "3", "-w", "3", "-I", interface_,
                                                  address_.toString()}] { (void)runProgram(argv); })
        .detach();
    return {};
}

void AddressControl::forgetNeighbour() const {
    (void)runProgram({"ip", "-4", "neigh", "flush", "to", address_.toString(), "dev", interface_}, true);
}

Expected<void> AddressControl::release() {
    stopGuard();
    // Usually not there (nothing to release): that failure is expected and quiet.
    auto removed = runProgram({"ip", "-4", "addr", "del", address_.toString() + "/32", "dev", interface_}, true);
    if (!removed) return removed.error();
    return {};
}

}  // namespace ringgate::registry
