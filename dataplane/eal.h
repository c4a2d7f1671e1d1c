// The DPDK Environment Abstraction Layer: its arguments built from the configuration
// (pure, tested), and its one-time initialisation for the process.
#pragma once

#include <string>
#include <vector>

#include "common/expected.h"
#include "config/config.h"

namespace ringgate::dataplane {

// EAL arguments for node `self`: cores (a main lcore for the control thread plus the
// configured workers), memory (--no-huge -m N without hugepages), a per-node file prefix
// so that several gateways share a machine, and --no-pci unless a port is PCI.
std::vector<std::string> ealArguments(const config::Config& config, config::NodeId self);

// Initialises the EAL once per process; later calls with any arguments return success.
Expected<void> initEal(const std::vector<std::string>& args);

// The device arguments (`--vdev` value) of a configured port, or empty for PCI ports.
std::string vdevArguments(const config::Port& port, size_t index, unsigned queues,
                          const std::string& xdpProgram);

}  // namespace ringgate::dataplane
