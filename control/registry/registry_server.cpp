#include "control/registry/registry_server.h"

#include <algorithm>

#include "common/log.h"

namespace ringgate::registry {

using protocol::Verb;

RegistryServer::RegistryServer(boost::asio::io_context& io, RegistryService& service,
                               std::chrono::milliseconds replicationTimeout, LineKeyPtr key, RegistryLimits limits)
    : io_(io), service_(service), replicationTimeout_(replicationTimeout), acceptor_(io),
      key_(key ? std::move(key) : std::make_shared<const LineKey>()), limits_(limits),
      accepts_(acceptor_, limits.maxConnections, limits.acceptPause,
               [this](tcp::socket socket, std::shared_ptr<void> ticket) { accepted(std::move(socket), std::move(ticket)); }),
      ackTimer_(io), heartbeatTimer_(io) {}

const RegistryCounters& RegistryServer::counters() const {
    counters_.accepts = accepts_.counters();
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
    for (auto monitor : std::vector(monitors_)) monitor->close(CloseReason::Local, "registry stopping");
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
    if (std::find(monitors_.begin(), monitors_.end(), connection) != monitors_.end())
        return onMonitorLine(connection, line);
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
        if (!serving) break;  // answered below with the refusal
        changes_.push_back({connection, *request, std::nullopt});
        runNextChange();
        return;
    case Verb::Subscribe: {
        auto live = service_.live();
        if (!live) {
            connection->send(protocol::formatError(live.error().message));
            return;
        }
        subscribers_.insert(connection);
        counters_.subscribers = subscribers_.size();
        connection->setIdleLimit(std::chrono::milliseconds(0));  // listens only; heartbeats keep it honest
        connection->send(protocol::formatLive("LIVE", live->version, live->servers));
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
        break;
    }
    connection->send(service_.handle(*request, serving, role_).reply);
}

void RegistryServer::runNextChange() {
    if (changing_ || changes_.empty()) return;
    current_ = changes_.front();
    changes_.pop_front();
    changing_ = true;
    bool serving = role_ == Role::Primary || role_ == Role::Standalone;
    auto outcome = current_.alive ? service_.confirmed(current_.request, *current_.alive)
                                  : service_.handle(current_.request, serving, role_);
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
    if (outcome.replicate) ++counters_.changes;
    if (outcome.replicate && monitorAttached()) {
        currentReply_ = outcome.reply;
        currentLiveChanged_ = outcome.liveChanged;
        awaitingAck_ = outcome.replicate->version;
        std::string apply = protocol::formatApply(*outcome.replicate);
        for (const auto& monitor : monitors_) {
            awaiting_.insert(monitor.get());
            monitor->send(apply);
        }
        ackTimer_.expires_after(replicationTimeout_);
        ackTimer_.async_wait([this](boost::system::error_code ec) {
            if (ec || !awaitingAck_) return;
            RG_WARN(Registry, "%zu monitor(s) did not acknowledge version %llu in %lld ms: going on without them",
                    awaiting_.size(), static_cast<unsigned long long>(awaitingAck_),
                    static_cast<long long>(replicationTimeout_.count()));
            for (auto monitor : std::vector(monitors_))
                if (awaiting_.count(monitor.get())) detachMonitor(monitor, "acknowledgement timeout");
        });
        return;
    }
    finishChange(outcome.reply, outcome.liveChanged);
}

void RegistryServer::finishChange(const std::string& reply, bool liveChanged) {
    awaitingAck_ = 0;
    awaiting_.clear();
    ackTimer_.cancel();
    if (auto client = current_.client.lock()) client->send(reply);
    current_ = {};
    changing_ = false;
    if (liveChanged) publishLive();
    boost::asio::post(io_, [this] { runNextChange(); });
}

void RegistryServer::publishLive() {
    if (subscribers_.empty()) return;
    auto live = service_.live();
    if (!live) {
        RG_WARN(Registry, "cannot read the live list for subscribers: %s", live.error().message.c_str());
        return;
    }
    std::string line = protocol::formatLive("LIVE", live->version, live->servers);
    for (const auto& subscriber : subscribers_) subscriber->send(line);
}

std::string RegistryServer::monitorPeer() const {
    std::string out;
    for (const auto& monitor : monitors_) out += (out.empty() ? "" : ",") + monitor->peer();
    return out;
}

void RegistryServer::attachMonitor(const std::shared_ptr<LineConnection>& connection) {
    auto snapshot = service_.store().snapshot();
    if (!snapshot) {
        connection->send(protocol::formatError(snapshot.error().message));
        return;
    }
    std::string line = protocol::formatTable(*snapshot);
    line.replace(0, 2, "SNAPSHOT");
    connection->send(line);
    connection->send("TERM " + std::to_string(service_.term()));  // a follower refuses a lower one
    // The snapshot already holds a change that is waiting for the other monitors' ACKs,
    // so the newcomer owes no ACK for it.
    monitors_.push_back(connection);
    connection->setIdleLimit(std::chrono::milliseconds(0));  // ACKs only when there are changes
    RG_INFO(Registry, "monitor %s attached at version %llu (%zu in line)", connection->peer().c_str(),
            static_cast<unsigned long long>(snapshot->version), monitors_.size());
    sendRanks();
}

void RegistryServer::detachMonitor(const std::shared_ptr<LineConnection>& connection, const char* why) {
    auto it = std::find(monitors_.begin(), monitors_.end(), connection);
    if (it == monitors_.end()) return;
    monitors_.erase(it);
    bool wasAwaited = awaiting_.erase(connection.get()) > 0;
    if (awaitingAck_ && wasAwaited) ++counters_.monitorDropped;
    RG_WARN(Registry, "monitor %s dropped: %s", connection->peer().c_str(), why);
    connection->sendAndClose(std::string("DROPPED ") + why, CloseReason::Local, why);  // its copy is stale from now on
    sendRanks();
    if (awaitingAck_ && awaiting_.empty()) finishChange(currentReply_, currentLiveChanged_);
}

void RegistryServer::sendRanks() {
    for (size_t i = 0; i < monitors_.size(); ++i) monitors_[i]->send("RANK " + std::to_string(i + 1));
}

void RegistryServer::onMonitorLine(const std::shared_ptr<LineConnection>& connection, std::string_view line) {
    auto w = protocol::words(line);
    if (w.size() == 2 && w[0] == "ACK") {
        if (awaitingAck_ && w[1] == std::to_string(awaitingAck_) && awaiting_.erase(connection.get())) {
            if (awaiting_.empty()) {
                ++counters_.replicated;
                finishChange(currentReply_, currentLiveChanged_);
            }
            return;
        }
    }
    ++counters_.refused;
    RG_WARN(Registry, "monitor %s sent '%.*s' (awaiting ACK %llu)", connection->peer().c_str(),
            static_cast<int>(std::min<size_t>(line.size(), 60)), line.data(),
            static_cast<unsigned long long>(awaitingAck_));
    detachMonitor(connection, "bad acknowledgement");
}

void RegistryServer::heartbeat() {
    // A heartbeat lets a monitor tell a live primary from a silent stream; a closed
    // monitor connection ends a pending wait at once instead of at the timeout.
    for (auto monitor : std::vector(monitors_))
        if (!monitor->open()) detachMonitor(monitor, "connection closed");
    for (const auto& monitor : monitors_) monitor->send("HEARTBEAT");
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
