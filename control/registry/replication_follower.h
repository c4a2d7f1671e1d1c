// The monitor's side of replication: follows the primary's stream over the service
// address, loads its snapshot, replays every change on the local store and acknowledges
// it, so that the copy is current (seed 003 [0010], [0027]) when the monitor takes over.
#pragma once

#include "common/asio.h"

#include <functional>
#include <memory>

#include "control/registry/line_subscription.h"
#include "control/registry/registry_service.h"

namespace ringgate::registry {

class ReplicationFollower {
public:
    ReplicationFollower(boost::asio::io_context& io, RegistryService& service, Ipv4Endpoint primary,
                        LineKeyPtr key = {});
    ~ReplicationFollower();

    void start();
    void stop();
    bool following() const { return subscription_.open(); }
    // Following AND holding this stream's snapshot.
    bool synced() const { return following() && synced_; }
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
    // Place in line among the primary's monitors (1 = takes over first); 0 = unknown.
    uint32_t rank() const { return rank_; }
    // Streams from a primary with a lower term than this are refused (a stale primary).
    void setMinimumTerm(uint64_t term) { minimumTerm_ = term; }
    uint64_t primaryTerm() const { return term_; }

private:
    void onLine(std::string_view line);

    RegistryService& service_;
    Ipv4Endpoint primary_;
    uint64_t applied_ = 0;
    uint64_t version_ = 0;
    uint32_t rank_ = 0;
    uint64_t term_ = 0;
    uint64_t minimumTerm_ = 0;
    bool synced_ = false;
    bool everSynced_ = false;
    bool stale_ = false;
    LineSubscription subscription_;  // last: its callbacks use the members above
};

}  // namespace ringgate::registry
