// The monitor's side of replication, the I/O shell: follows the primary's stream over the
// service address (LineSubscription) and carries out what ReplicationFollowerCore says —
// loads and replays on the store thread (TableWorker), acknowledgements on the stream.
#pragma once

#include "common/asio.h"

#include <functional>
#include <memory>

#include "control/registry/line_subscription.h"
#include "control/registry/replication_follower_core.h"
#include "control/registry/table_worker.h"

namespace ringgate::registry {

class ReplicationFollower {
public:
    ReplicationFollower(boost::asio::io_context& io, TableWorker& table, Ipv4Endpoint primary, LineKeyPtr key = {});
    ~ReplicationFollower();

    void start();
    void stop();
    // Called after the copy changed (a snapshot loaded, a change replayed): a monitor
    // tells its own live-list subscribers.
    void onCopyChanged(std::function<void()> changed) { changed_ = std::move(changed); }
    bool following() const { return subscription_.open(); }
    // Following AND holding this stream's snapshot.
    bool synced() const { return following() && core_.synced(); }
    // See ReplicationFollowerCore::copyCurrent.
    bool copyCurrent() const { return core_.copyCurrent(); }
    void expectNewPrimary() { core_.expectNewPrimary(); }
    uint64_t applied() const { return core_.applied(); }
    uint64_t version() const { return core_.version(); }
    uint32_t rank() const { return core_.rank(); }
    void setMinimumTerm(uint64_t term) { core_.setMinimumTerm(term); }
    uint64_t primaryTerm() const { return core_.primaryTerm(); }

private:
    void perform(ReplicationFollowerCore::Effects effects);

    TableWorker& table_;
    Ipv4Endpoint primary_;
    ReplicationFollowerCore core_;
    std::function<void()> changed_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    LineSubscription subscription_;  // last: its callbacks use the members above
};

}  // namespace ringgate::registry
