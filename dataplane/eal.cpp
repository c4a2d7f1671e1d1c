#include "dataplane/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>

#include <algorithm>
#include <mutex>
#include <thread>

namespace ringgate::dataplane {

std::vector<std::string> ealArguments(const config::Config& config, config::NodeId self) {
    const config::Dataplane& dp = config.dataplane;
    std::vector<uint32_t> workers = dp.lcores;
    // The main lcore (the control thread) takes the first CPU no worker uses; on a machine
    // with fewer CPUs than that it shares CPU 0 (EAL's --lcores maps lcore ids to CPUs).
    uint32_t main = 0;
    while (std::find(workers.begin(), workers.end(), main) != workers.end()) ++main;
    unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
    std::string lcores = std::to_string(main) + "@" + std::to_string(main % cpus);
    for (uint32_t w : workers) lcores += "," + std::to_string(w) + "@" + std::to_string(w % cpus);

    std::vector<std::string> args = {"ringgated", "--lcores", lcores, "--main-lcore",
                                      std::to_string(main)};
    if (!dp.hugepages) {
        args.insert(args.end(), {"--no-huge", "-m", std::to_string(dp.memoryMb)});
    } else {
        args.insert(args.end(), {"--socket-mem", std::to_string(dp.memoryMb)});
    }
    args.insert(args.end(), {"--file-prefix", "ringgate-" + config.cluster.name + "-" + std::to_string(self)});
    bool pci = std::any_of(dp.ports.begin(), dp.ports.end(),
                           [](const config::Port& p) { return p.driver == config::PortDriver::Pci; });
    if (!pci) args.push_back("--no-pci");
    for (const config::Port& port : dp.ports)
        if (port.driver == config::PortDriver::Pci) args.insert(args.end(), {"-a", port.pciAddress});
    args.insert(args.end(), {"--log-level", "lib.eal:warning"});
    return args;
}

Expected<void> initEal(const std::vector<std::string>& args) {
    static std::once_flag once;
    static std::string failure;
    std::call_once(once, [&] {
        std::vector<char*> argv;
        std::vector<std::string> copy = args;  // rte_eal_init may permute argv
        for (auto& a : copy) argv.push_back(a.data());
        argv.push_back(nullptr);
        if (rte_eal_init(static_cast<int>(copy.size()), argv.data()) < 0)
            failure = std::string("EAL initialisation failed: ") + rte_strerror(rte_errno);
    });
    if (!failure.empty()) return makeError(failure);
    return {};
}

std::string vdevArguments(const config::Port& port, size_t index, unsigned queues,
                          const std::string& xdpProgram) {
    std::string n = std::to_string(index);
    std::string q = std::to_string(queues);
    switch (port.driver) {
        case config::PortDriver::AfXdp: {
            std::string args = "net_af_xdp" + n + ",iface=" + port.interface +
                               ",start_queue=0,queue_count=" + q;
            if (!xdpProgram.empty()) args += ",xdp_prog=" + xdpProgram;
            return args;
        }
        case config::PortDriver::AfPacket:
            return "net_af_packet" + n + ",iface=" + port.interface + ",qpairs=" + q;
        case config::PortDriver::Pcap:
            return "net_pcap" + n + ",rx_pcap=" + port.pcapRx + ",tx_pcap=" + port.pcapTx;
        case config::PortDriver::Ring:
            return "net_ring" + n;
        case config::PortDriver::Pci:
            return "";
    }
    return "";
}

}  // namespace ringgate::dataplane
