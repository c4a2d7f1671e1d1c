// The registry's store calls on a thread of their own, so that the I/O thread never waits
// for SQLite or PostgreSQL: reads and subscriptions are answered from the copy of the
// table kept here (the table as of the last finished change), while a change runs on
// the store thread. Changes run one at a time in the order given; each one's result
// comes back to the I/O thread together with the table after it.
//
// Only the store thread touches the RegistryService (and through it the store) once the
// worker runs; only the I/O thread touches the copy.
#pragma once

#include "common/asio.h"

#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "control/registry/registry_service.h"

namespace ringgate::registry {

class TableWorker {
public:
    // Reads the table once, here, on the calling thread (start-up), then starts the thread.
    TableWorker(boost::asio::io_context& io, RegistryService& service);
    ~TableWorker();  // finishes the change in hand, then stops; results not yet delivered are dropped

    // The table as of the last finished change (I/O thread).
    const TableSnapshot& table() const { return table_; }
    protocol::LiveList live() const;
    const DeathJudge::Counters& deaths() const { return deaths_; }
    uint64_t term() const { return service_.term(); }  // atomic: safe on either thread

    // What a change job gives back: its own result, and whether the table may have changed
    // (then the store thread reads it again and the copy is replaced before `done` runs).
    template <typename R>
    struct Result {
        R value;
        bool tableChanged = false;
    };
    // Runs `work(service)` on the store thread; `done(value)` runs on the I/O thread.
    template <typename R>
    void change(std::function<Result<R>(RegistryService&)> work, std::function<void(R)> done) {
        post([this, work = std::move(work), done = std::move(done)]() mutable {
            auto result = std::make_shared<Result<R>>(work(service_));
            auto after = reread(result->tableChanged);
            return std::function<void()>([this, result, after = std::move(after), done = std::move(done)] {
                adopt(after);
                done(std::move(result->value));
            });
        });
    }

private:
    struct After {
        std::optional<TableSnapshot> table;
        DeathJudge::Counters deaths;
    };
    // Runs `job` on the store thread and the function it returns on the I/O thread.
    void post(std::function<std::function<void()>()> job);
    After reread(bool tableChanged);  // store thread
    void adopt(const After& after);   // I/O thread

    boost::asio::io_context& io_;
    RegistryService& service_;
    TableSnapshot table_;
    DeathJudge::Counters deaths_;
    boost::asio::io_context storeIo_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> storeWork_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // I/O thread only
    std::thread thread_;
};

}  // namespace ringgate::registry
