// The monitor's side of replication without I/O: each line of the primary's stream in,
// what to do with the local copy out (load a snapshot, replay a change, acknowledge it,
// end the stream), so that the copy is current (seed 003 [0010], [0027]) when this
// monitor takes over. One store operation at a time: lines that arrive while one is in
// hand wait for it. ReplicationFollower is the shell (stream, store thread).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"
#include "control/registry/protocol.h"

namespace ringgate::registry {

class ReplicationFollowerCore {
public:
    struct Effects {
        std::optional<TableSnapshot> load;      // replace the copy, then loaded()
        std::optional<protocol::Apply> replay;  // apply on the copy, then replayed()
        std::vector<std::string> sends;         // to the primary
        std::optional<std::string> close;       // end this stream (it reconnects): why
        std::vector<std::string> warnings;      // for the log
    };

    // A new stream began: nothing of the old one is awaited any more.
    void connected();
    Effects line(std::string_view line);
    Effects loaded(const Expected<void>& result);
    // The version the replay produced (must equal the primary's for the copies to agree).
    Effects replayed(const Expected<uint64_t>& version);

    // Holding this stream's snapshot.
    bool synced() const { return synced_; }
    // The copy holds every change the primary acknowledged, as far as we know: we loaded
    // a snapshot and applied everything after it, and the primary never told us it
    // dropped us (after which it acknowledges changes without us). A stream that simply
    // ends — the primary died — leaves the copy current.
    bool copyCurrent() const { return everSynced_ && !stale_; }
    // Someone else now holds the service address: it may have acknowledged changes we
    // never saw, so the copy is stale until its snapshot arrives.
    void expectNewPrimary() { stale_ = true; }
    uint64_t applied() const { return applied_; }
    uint64_t version() const { return version_; }
    uint32_t rank() const { return rank_; }  // place in line (1 = takes over first); 0 = unknown
    // Streams from a primary with a lower term than this are refused (a stale primary).
    void setMinimumTerm(uint64_t term) { minimumTerm_ = term; }
    uint64_t primaryTerm() const { return term_; }

private:
    void drain(Effects& out);  // handles waiting lines until one needs the store
    void handle(std::string_view line, Effects& out);
    void end(const std::string& why, Effects& out);

    std::deque<std::string> waiting_;
    enum class Busy { No, Loading, Replaying } busy_ = Busy::No;
    bool oldStream_ = false;  // the operation in hand belongs to a stream that ended
    std::optional<TableSnapshot> loading_;
    uint64_t replaying_ = 0;  // the primary's version of the change in hand
    uint64_t applied_ = 0;
    uint64_t version_ = 0;
    uint32_t rank_ = 0;
    uint64_t term_ = 0;
    uint64_t minimumTerm_ = 0;
    bool synced_ = false;
    bool everSynced_ = false;
    bool stale_ = false;
};

}  // namespace ringgate::registry
