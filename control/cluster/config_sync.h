// Configuration sharing on the token, sans-I/O: the rule "the highest valid version wins"
// (WO 00/62502, the version control number shared via the state sharing token).
//
// While this node holds the token it reads the kClusterConfig carriage:
//   - none, or an older configuration (lower version; equal version and a smaller digest,
//     so that two contents under one version still converge): ours replaces it, chunk 0;
//   - ours: our next chunk goes on (each node cycles through its own), so nodes still
//     reassembling get the rest;
//   - a newer one: its chunk is kept; once every chunk is here and the digest matches,
//     onToken returns it for the shell to validate, which then calls adopted() or refused();
//     a refused (version, digest) is remembered and never offered again;
//   - a newer one that stops advancing (every node that had it died before anyone else had
//     all of it, or they are across a partition): counted as orphaned, and ours goes on
//     until a node that has it puts it back;
//   - undecodable, oversized or of another cluster: counted and replaced by ours; of a
//     future format: counted and left untouched (a newer ringgated reads it).
// The shell (the daemon) validates with the same rules as SIGHUP, writes the file and
// applies it; this core only decides what travels and what is offered.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "control/cluster/config_carriage.h"
#include "control/cluster/train.h"

namespace ringgate::cluster {

struct SharedConfig {
    uint64_t version = 0;
    ConfigDigest digest{};
    std::string text;
    static SharedConfig of(uint64_t version, std::string text);
};

struct ConfigSyncCounters {
    uint64_t handedOn = 0;       // our configuration replaced an older (or no) carriage
    uint64_t chunksReceived = 0; // chunks of a newer configuration kept for reassembly
    uint64_t offered = 0;        // complete newer configurations handed to the shell
    uint64_t adopted = 0;
    uint64_t conflicts = 0;      // same version, other content: the larger digest wins
    uint64_t refusedInvalid = 0; // complete, but the shell's validation refused it
    uint64_t refusedGarbled = 0; // undecodable carriage, or a reassembly whose digest is wrong
    uint64_t refusedOversized = 0;
    uint64_t refusedFutureFormat = 0;
    uint64_t refusedForeignCluster = 0;
    uint64_t orphaned = 0;       // a newer version that stopped advancing (its senders died): ours went on
};

class ConfigSync {
public:
    ConfigSync(std::string clusterName, SharedConfig local);

    // This node holds the token: reads and rewrites the carriage. Returns a complete newer
    // configuration the shell must judge now (adopted or refused).
    std::optional<SharedConfig> onToken(Carriages& carriages);
    void adopted(const SharedConfig& config);
    void refused(const SharedConfig& config);
    // A new local configuration (SIGHUP, config push): it goes on the token at the next visit.
    void setLocal(SharedConfig config);

    const SharedConfig& local() const { return local_; }
    const ConfigSyncCounters& counters() const { return counters_; }
    // The last event worth a log line ("node 3 ... conflict ..."), taken once.
    std::optional<std::string> takeNotice();

private:
    using Key = std::pair<uint64_t, ConfigDigest>;
    struct Assembly {
        Key key;
        uint32_t totalBytes = 0;
        std::vector<std::optional<std::vector<uint8_t>>> chunks;
        size_t have = 0;
        size_t idleVisits = 0;  // visits in a row that brought no new chunk
    };
    void put(Carriages& carriages);
    std::optional<SharedConfig> keep(const ConfigChunk& chunk);
    void remember(const Key& key);

    std::string clusterName_;
    SharedConfig local_;
    std::optional<Assembly> assembly_;
    std::set<Key> refused_;  // bounded: kMaxRemembered, the lowest forgotten first
    ConfigSyncCounters counters_;
    std::optional<std::string> notice_;
    uint64_t sent_ = 0;  // chunks of ours put on the token
};

}  // namespace ringgate::cluster
