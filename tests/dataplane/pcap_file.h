// Classic pcap files (v2.4, Ethernet) for the tests that feed ports from files and read
// what they sent: enough of the format for net_pcap, nothing more.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ringgate::dataplane::test {

// A directory of its own for a test's pcap files (/tmp/rg-NAME-PID), removed at the end;
// ports() writes the configuration's two pcap ports (ext on subnet external, int on
// internal) reading DIR/<port>-in.pcap and writing DIR/<port>-out.pcap.
struct PcapDir {
    explicit PcapDir(const std::string& name) : path("/tmp/rg-" + name + "-" + std::to_string(::getpid())) {
        std::filesystem::create_directories(path);
    }
    ~PcapDir() { std::filesystem::remove_all(path); }
    PcapDir(const PcapDir&) = delete;
    PcapDir& operator=(const PcapDir&) = delete;

    // The `dataplane.ports` list; a non-empty name gives the port that exception interface.
    std::string ports(const std::string& extException = "", const std::string& intException = "") const {
        auto port = [&](const char* name, const char* subnet, const std::string& exception) {
            std::string line = std::string("    - { name: ") + name + ", subnet: " + subnet +
                               ", driver: pcap, pcap_rx: " + path + "/" + name + "-in.pcap, pcap_tx: " + path + "/" +
                               name + "-out.pcap";
            if (!exception.empty()) line += ", exception_interface: " + exception;
            return line + " }\n";
        };
        return "  ports:\n" + port("ext", "external", extException) + port("int", "internal", intException);
    }
    std::string operator/(const std::string& file) const { return path + "/" + file; }

    const std::string path;
};

inline void writePcap(const std::string& path, const std::vector<std::vector<uint8_t>>& frames) {
    std::ofstream out(path, std::ios::binary);
    uint32_t header[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};  // v2.4, Ethernet
    out.write(reinterpret_cast<const char*>(header), sizeof header);
    uint32_t second = 1;
    for (const auto& frame : frames) {
        uint32_t record[4] = {second++, 0, static_cast<uint32_t>(frame.size()), static_cast<uint32_t>(frame.size())};
        out.write(reinterpret_cast<const char*>(record), sizeof record);
        out.write(reinterpret_cast<const char*>(frame.data()), static_cast<std::streamsize>(frame.size()));
    }
}

inline std::vector<std::vector<uint8_t>> readPcap(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<std::vector<uint8_t>> frames;
    uint32_t header[6];
    if (!in.read(reinterpret_cast<char*>(header), sizeof header)) return frames;
    uint32_t record[4];
    while (in.read(reinterpret_cast<char*>(record), sizeof record)) {
        std::vector<uint8_t> frame(record[2]);
        in.read(reinterpret_cast<char*>(frame.data()), record[2]);
        frames.push_back(std::move(frame));
    }
    return frames;
}

}  // namespace ringgate::dataplane::test
