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

    // true: some other host answered ARP for the address.
    Expected<bool> inUse() const;
    Expected<void> take() const;
    Expected<void> release() const;
    // Drops this host's ARP entry for the address. After a takeover the entry may still
    // name the dead holder's MAC, and a neighbour that keeps using an entry ignores
    // gratuitous ARP within its locktime; without the entry the next packet asks anew.
    void forgetNeighbour() const;

private:
    std::string interface_;
    Ipv4Address address_;
};

// Runs a program with arguments (no shell); returns its exit status. Its output goes to
// /dev/null, and so do its errors when `quietErrors` (an expected failure).
Expected<int> runProgram(const std::vector<std::string>& argv, bool quietErrors = false);

}  // namespace ringgate::registry
