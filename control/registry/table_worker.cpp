#include "control/registry/table_worker.h"

#include "common/log.h"
#include "control/registry/ring_view.h"

namespace ringgate::registry {

TableWorker::TableWorker(boost::asio::io_context& io, RegistryService& service)
    : io_(io), service_(service), storeWork_(storeIo_.get_executor()) {
    adopt(reread(true));
    thread_ = std::thread([this] { storeIo_.run(); });
}

TableWorker::~TableWorker() {
    *alive_ = false;
    storeWork_.reset();
    storeIo_.stop();  // queued changes are dropped; the one in hand finishes
    if (thread_.joinable()) thread_.join();
}

protocol::LiveList TableWorker::live() const { return {table_.version, liveList(table_.entries)}; }

void TableWorker::post(std::function<std::function<void()>()> job) {
    boost::asio::post(storeIo_, [this, job = std::move(job), alive = alive_] {
        auto finish = job();
        boost::asio::post(io_, [alive, finish = std::move(finish)] {
            if (*alive) finish();
        });
    });
}

TableWorker::After TableWorker::reread(bool tableChanged) {
    After after;
    after.deaths = service_.deaths().counters();
    if (!tableChanged) return after;
    auto snapshot = service_.store().snapshot();
    if (snapshot) after.table = std::move(*snapshot);
    else RG_ERROR(Registry, "cannot read the table after a change: %s", snapshot.error().message.c_str());
    return after;
}

void TableWorker::adopt(const After& after) {
    if (after.table) table_ = *after.table;
    deaths_ = after.deaths;
}

}  // namespace ringgate::registry
