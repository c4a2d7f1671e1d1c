// The service address on this host, through iproute2 and iputils-arping: probe whether
// another host holds it (ARP duplicate address detection), add it with gratuitous ARP so
// that neighbours update their caches at once, and remove it on clean shutdown.
#pragma once

#include <string>
#include <vector>

#include "common/expected.h"
#include "common/ipv4.h"

namespace ringgate::registry {

class AddressControl {
public:
    AddressControl(std::string interface, Ipv4Address address) : interface_(std::move(interface)), address_(address) {}
    ~AddressControl();

    // true: some other host answered ARP for the address.
    Expected<bool> inUse() const;
    // Adds the address and starts a guard process that removes it when this process
    // ends in any way (also SIGKILL): a registry that dies leaves no address behind on a
    // host that still answers ARP and ICMP, so that a monitor can take over.
    Expected<void> take();
    Expected<void> release();
    // Drops this host's ARP entry for the address. After a takeover the entry may still
    // name the dead holder's MAC, and a neighbour that keeps using an entry ignores
    // gratuitous ARP within its locktime; without the entry the next packet asks anew.
    void forgetNeighbour() const;

private:
    void stopGuard();

    std::string interface_;
    Ipv4Address address_;
    int guardPipe_ = -1;  // write end; the guard removes the address at its EOF
    int guardPid_ = -1;
};

// Runs a program with arguments (no shell); returns its exit status. Its output goes to
// /dev/null, and so do its errors when `quietErrors` (an expected failure).
Expected<int> runProgram(const std::vector<std::string>& argv, bool quietErrors = false);

}  // namespace ringgate::registry
