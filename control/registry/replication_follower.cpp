#include "control/registry/replication_follower.h"

#include <cstdlib>

#include "common/log.h"

namespace ringgate::registry {

ReplicationFollower::ReplicationFollower(boost::asio::io_context& io, RegistryService& service, Ipv4Endpoint primary)
    : io_(io), service_(service), primary_(primary), retry_(io), watchdog_(io, std::chrono::milliseconds(1000)) {}

ReplicationFollower::~ReplicationFollower() {
    *alive_ = false;
    stop();
}

void ReplicationFollower::start() {
    if (running_) return;
    running_ = true;
    connect();
}

void ReplicationFollower::stop() {
    running_ = false;
    retry_.cancel();
    watchdog_.stop();
    if (connection_) connection_->close("stopped following");
    connection_.reset();
}

void ReplicationFollower::retryLater() {
    if (!running_) return;
    retry_.expires_after(std::chrono::milliseconds(200));
    retry_.async_wait([this, alive = alive_](boost::system::error_code ec) {
        if (!ec && *alive && running_) connect();
    });
}

void ReplicationFollower::connect() {
    auto socket = std::make_shared<tcp::socket>(io_);
    auto timer = std::make_shared<boost::asio::steady_timer>(io_);
    timer->expires_after(std::chrono::milliseconds(1000));
    timer->async_wait([socket](boost::system::error_code ec) {
        if (!ec) {
            boost::system::error_code ignored;
            socket->close(ignored);
        }
    });
    socket->async_connect(toAsio(primary_), [this, alive = alive_, socket, timer](boost::system::error_code ec) {
        timer->cancel();
        if (!*alive || !running_) return;
        if (ec) {
            RG_DEBUG(Registry, "cannot reach primary %s: %s", primary_.toString().c_str(), ec.message().c_str());
            return retryLater();
        }
        synced_ = false;
        connection_ = std::make_shared<LineConnection>(std::move(*socket), protocol::kMaxReplyLine);
        connection_->start([this, alive](std::string_view line) { if (*alive) onLine(line); },
                           [this, alive](const std::string& why) {
                               if (!*alive) return;
                               RG_INFO(Registry, "replication stream from %s ended: %s", primary_.toString().c_str(),
                                       why.c_str());
                               retryLater();
                           });
        connection_->send("REPLICATE");
        watchdog_.watch(connection_);
    });
}

void ReplicationFollower::onLine(std::string_view line) {
    watchdog_.heard();
    if (line == "HEARTBEAT") return;
    if (line.rfind("DROPPED", 0) == 0) {
        stale_ = true;  // the primary goes on without us until we follow it again
        RG_WARN(Registry, "the primary dropped this monitor: %.80s", std::string(line).c_str());
        return connection_->close("dropped by the primary");
    }
    if (line.rfind("RANK ", 0) == 0) {
        rank_ = static_cast<uint32_t>(std::strtoul(std::string(line.substr(5)).c_str(), nullptr, 10));
        return;
    }
    if (line.rfind("SNAPSHOT", 0) == 0) {
        auto snapshot = protocol::parseTable(line);
        if (!snapshot) {
            RG_WARN(Registry, "bad snapshot from the primary: %s", snapshot.error().message.c_str());
            return connection_->close("bad snapshot");
        }
        if (auto loaded = service_.store().load(*snapshot); !loaded) {
            RG_ERROR(Registry, "cannot store the primary's snapshot: %s", loaded.error().message.c_str());
            return connection_->close("store failed");
        }
        version_ = snapshot->version;
        synced_ = everSynced_ = true;
        stale_ = false;
        RG_INFO(Registry, "following the primary: %zu servers at version %llu", snapshot->entries.size(),
                static_cast<unsigned long long>(version_));
        return;
    }
    if (line.rfind("APPLY", 0) == 0) {
        auto apply = protocol::parseApply(line);
        if (!apply) {
            RG_WARN(Registry, "bad change from the primary: %s", apply.error().message.c_str());
            stale_ = true;
            return connection_->close("bad change");
        }
        auto version = service_.replay(*apply);
        if (!version || *version != apply->version) {
            // The copies disagree: reconnecting fetches a fresh snapshot.
            RG_WARN(Registry, "replaying version %llu gave %s: resynchronising",
                    static_cast<unsigned long long>(apply->version),
                    version ? std::to_string(*version).c_str() : version.error().message.c_str());
            stale_ = true;
            return connection_->close("copy diverged");
        }
        version_ = *version;
        ++applied_;
        connection_->send("ACK " + std::to_string(version_));
        return;
    }
    RG_WARN(Registry, "unexpected line from the primary: %.60s", std::string(line).c_str());
    connection_->close("unexpected line");
}

}  // namespace ringgate::registry
