#include "control/registry/registry_server.h"

#include <algorithm>

#include "common/log.h"

namespace ringgate::registry {

using protocol::Verb;

RegistryServer::RegistryServer(boost::asio::io_context& io, TableWorker& table,
                               std::chrono::milliseconds replicationTimeout, LineKeyPtr key, RegistryLimits limits)
    : io_(io), table_(table), acceptor_(io),
      key_(key ? std::move(key) : std::make_shared<const LineKey>()), limits_(limits),
      accepts_(acceptor_, limits.maxConnections, limits.acceptPause,
               [this](tcp::socket socket, std::shared_ptr<void> ticket) { accepted(std::move(socket), std::move(ticket)); }),
      ackTimer_(io), heartbeatTimer_(io), replication_(replicationTimeout) {}

const RegistryCounters& RegistryServer::counters() const {
    counters_.accepts = accepts_.counters();
    counters_.replicated = replication_.counters().replicated;
    counters_.monitorDropped = replication_.counters().monitorDropped;
    return counters_;
}

Expected<void> RegistryServer::listen(Ipv4Endpoint endpoint) {
    boost::system::error_code ec;
    auto where = toAsio(endpoint);
    acceptor_.open(where.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(where, ec);
    if (!ec) acceptor_.listen(256, ec);
    if (ec) return makeError("listen on " + endpoint.toString() + ": " + ec.message());
    accepts_.start();
    heartbeat();
    return {};
}

uint16_t RegistryServer::port() const {
    boost::system::error_code ec;
    auto local = acceptor_.local_endpoint(ec);
    return ec ? 0 : local.port();
}

void RegistryServer::close() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    accepts_.stop();
    ackTimer_.cancel();
    heartbeatTimer_.cancel();
    for (auto [id, monitor] : std::map(monitors_)) monitor->close(CloseReason::Local, "registry stopping");
    for (auto subscriber : std::set(subscribers_)) subscriber->close(CloseReason::Local, "registry stopping");
}

void RegistryServer::setRole(Role role) {
    if (role == role_) return;
    RG_INFO(Registry, "role %s -> %s", roleName(role_), roleName(role));
    role_ = role;
}

void RegistryServer::accepted(tcp::socket socket, std::shared_ptr<void> ticket) {
    auto connection = std::make_shared<LineConnection>(std::move(socket), protocol::kMaxRequestLine);
    connection->holdTicket(std::move(ticket));
    connection->authenticateAsServer(key_, replay_);
    std::weak_ptr<LineConnection> weak = connection;
    connection->start(
        [this, weak](std::string_view line) {
            if (auto c = weak.lock()) onLine(c, line);
        },
        [this, weak](CloseReason reason, const std::string& detail) {
            auto c = weak.lock();
            if (reason == CloseReason::LineTooLong) ++counters_.refused;
            if (reason == CloseReason::Unauthenticated) ++counters_.unauthenticated;
            if (reason == CloseReason::Idle) ++counters_.idleClosed;
            if (reason == CloseReason::LineTooLong || reason == CloseReason::Unauthenticated)
                RG_DEBUG(Registry, "refused %s: %s", c ? c->peer().c_str() : "?", detail.c_str());
            if (c) subscribers_.erase(c);
            counters_.subscribers = subscribers_.size();
        });
    connection->setIdleLimit(limits_.idle);
}

void RegistryServer::onLine(const std::shared_ptr<LineConnection>& connection, std::string_view line) {
    ++counters_.requests;
    auto id = reinterpret_cast<Monitor>(connection.get());
    if (monitors_.count(id)) {
        uint64_t bad = replication_.counters().badLines;
        perform(replication_.line(id, line));
        if (replication_.counters().badLines != bad) {
            ++counters_.refused;
            RG_WARN(Registry, "monitor %s sent '%.*s'", connection->peer().c_str(),
                    static_cast<int>(std::min<size_t>(line.size(), 60)), line.data());
        }
        return;
    }
    auto request = protocol::parseRequest(line, false);
    if (!request) {
        ++counters_.refused;
        RG_DEBUG(Registry, "refused request from %s: %s", connection->peer().c_str(), request.error().message.c_str());
        connection->send(protocol::formatError(request.error().message));
        return;
    }
    bool serving = role_ == Role::Primary || role_ == Role::Standalone;
    switch (request->verb) {
    case Verb::Announce:
    case Verb::Delete:
    case Verb::Dead:
    case Verb::Replace:
        if (!serving) return connection->send(refuseChange(role_));
        changes_.push_back({connection, *request, std::nullopt});
        runNextChange();
        return;
    case Verb::Subscribe: {
        subscribers_.insert(connection);
        counters_.subscribers = subscribers_.size();
        connection->setIdleLimit(std::chrono::milliseconds(0));  // listens only; heartbeats keep it honest
        auto live = table_.live();
        connection->send("TERM " + std::to_string(table_.term()));  // a subscriber refuses a stale primary
        connection->send(protocol::formatLive("LIVE", live.version, live.servers));
        return;
    }
    case Verb::Replicate:
        if (role_ != Role::Primary) {
            connection->send(protocol::formatError(std::string("not the primary (") + roleName(role_) + ")"));
            return;
        }
        attachMonitor(connection);
        return;
    default:
        // Reads: from the table as of the last finished change, never behind a write.
        connection->send(answerRead(*request, table_.table(), role_, table_.term()));
        return;
    }
}

void RegistryServer::runNextChange() {
    if (changing_ || changes_.empty()) return;
    current_ = changes_.front();
    changes_.pop_front();
    changing_ = true;
    bool serving = role_ == Role::Primary || role_ == Role::Standalone;
    Role role = role_;
    table_.change<RegistryService::Outcome>(
        [job = current_, serving, role](RegistryService& service) {
            auto outcome = job.alive ? service.confirmed(job.request, *job.alive)
                                     : service.handle(job.request, serving, role);
            bool changed = outcome.replicate.has_value();
            return TableWorker::Result<RegistryService::Outcome>{std::move(outcome), changed};
        },
        [this, alive = alive_](RegistryService::Outcome outcome) {
            if (*alive) changeDone(std::move(outcome));
        });
}

void RegistryServer::changeDone(RegistryService::Outcome outcome) {
    if (outcome.confirm) {
        // Look at the server ourselves, outside the queue (it takes a few probe
        // intervals); the report comes back as a change once the look is done.
        Job report = std::move(current_);
        current_ = {};
        changing_ = false;
        if (!confirm_) {
            report.alive = true;  // nothing to look with: believe the server alive
            changes_.push_back(std::move(report));
        } else {
            confirm_(*outcome.confirm, [this, alive = alive_, report](bool isAlive) mutable {
                if (!*alive) return;
                report.alive = isAlive;
                changes_.push_back(std::move(report));
                runNextChange();
            });
        }
        boost::asio::post(io_, [this, alive = alive_] {
            if (*alive) runNextChange();
        });
        return;
    }
    if (!outcome.replicate) return finishChange(outcome.reply, outcome.liveChanged);
    ++counters_.changes;
    currentReply_ = outcome.reply;
    currentLiveChanged_ = outcome.liveChanged;
    perform(replication_.replicate(*outcome.replicate, std::chrono::steady_clock::now()));
}

void RegistryServer::finishChange(const std::string& reply, bool liveChanged) {
    ackTimer_.cancel();
    if (auto client = current_.client.lock()) client->send(reply);
    current_ = {};
    changing_ = false;
    if (liveChanged) publishLive();
    boost::asio::post(io_, [this, alive = alive_] {
        if (*alive) runNextChange();
    });
}

void RegistryServer::publishLive() {
    if (subscribers_.empty()) return;
    auto live = table_.live();
    std::string term = "TERM " + std::to_string(table_.term());  // it changes with a takeover
    std::string line = protocol::formatLive("LIVE", live.version, live.servers);
    for (const auto& subscriber : subscribers_) {
        subscriber->send(term);
        subscriber->send(line);
    }
}

std::string RegistryServer::monitorPeer() const {
    std::string out;
    for (Monitor id : replication_.inLine())
        if (auto it = monitors_.find(id); it != monitors_.end()) out += (out.empty() ? "" : ",") + it->second->peer();
    return out;
}

void RegistryServer::attachMonitor(const std::shared_ptr<LineConnection>& connection) {
    auto id = reinterpret_cast<Monitor>(connection.get());
    monitors_[id] = connection;
    connection->setIdleLimit(std::chrono::milliseconds(0));  // ACKs only when there are changes
    RG_INFO(Registry, "monitor %s attached at version %llu (%zu in line)", connection->peer().c_str(),
            static_cast<unsigned long long>(table_.table().version), replication_.inLine().size() + 1);
    perform(replication_.attach(id, table_.table(), table_.term()));
}

void RegistryServer::perform(ReplicationSourceCore::Effects effects) {
    for (const auto& send : effects.sends)
        if (auto it = monitors_.find(send.to); it != monitors_.end()) it->second->send(send.line);
    for (const auto& drop : effects.drops) {
        auto it = monitors_.find(drop.monitor);
        if (it == monitors_.end()) continue;
        RG_WARN(Registry, "monitor %s dropped: %s", it->second->peer().c_str(), drop.why.c_str());
        // Its copy is stale from now on; it follows again with a fresh snapshot.
        it->second->sendAndClose("DROPPED " + drop.why, CloseReason::Local, drop.why);
        monitors_.erase(it);
    }
    if (effects.ackDeadline) {
        ackTimer_.expires_at(*effects.ackDeadline);
        ackTimer_.async_wait([this](boost::system::error_code ec) {
            if (!ec) perform(replication_.expire(std::chrono::steady_clock::now()));
        });
    }
    if (effects.acknowledged) finishChange(currentReply_, currentLiveChanged_);
}

void RegistryServer::heartbeat() {
    // A heartbeat lets a monitor tell a live primary from a silent stream; a closed
    // monitor connection ends a pending wait at once instead of at the timeout.
    for (auto [id, monitor] : std::map(monitors_)) {
        if (monitor->open()) continue;
        monitors_.erase(id);
        perform(replication_.closed(id));
    }
    perform(replication_.heartbeat());
    // Subscribers hear from us at least once a second, so that a subscriber whose
    // registry's host died (no FIN, no RST) notices the silence and goes elsewhere.
    if (++beats_ % 10 == 0)
        for (const auto& subscriber : subscribers_) subscriber->send("HEARTBEAT");
    heartbeatTimer_.expires_after(std::chrono::milliseconds(100));
    heartbeatTimer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) heartbeat();
    });
}

}  // namespace ringgate::registry
