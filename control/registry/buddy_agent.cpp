#include "control/registry/buddy_agent.h"

#include "common/log.h"

namespace ringgate::registry {

BuddyAgent::BuddyAgent(boost::asio::io_context& io, BuddyAgentOptions options)
    : io_(io), options_(options), core_(options.core), prober_(io, options.probe, options.core.self),
      registry_(io, [&] {
          auto r = options.registry;
          r.source = options.core.self;
          return r;
      }()),
      acceptor_(io),
      accepts_(acceptor_, options.maxConnections, options.acceptPause,
               [this](tcp::socket socket, std::shared_ptr<void> ticket) { accepted(std::move(socket), std::move(ticket)); }),
      ticker_(io) {}

BuddyAgent::~BuddyAgent() { *alive_ = false; }

Expected<void> BuddyAgent::start() {
    Ipv4Address self = options_.core.self;
    if (auto opened = prober_.open([this](Ipv4Address from) { core_.answered(from); }); !opened) return opened;
    boost::system::error_code ec;
    tcp::endpoint where(boost::asio::ip::address_v4(self.value), options_.listenerPort);
    acceptor_.open(where.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(where, ec);
    if (!ec) acceptor_.listen(64, ec);
    if (ec) return makeError("listen on " + self.toString() + ":" + std::to_string(options_.listenerPort) + ": " + ec.message());
    accepts_.start();
    run(core_.start(std::chrono::steady_clock::now()));
    tick();
    return {};
}

void BuddyAgent::tick() {
    run(core_.tick(std::chrono::steady_clock::now()));
    ticker_.expires_after(options_.interval);
    ticker_.async_wait([this, alive = alive_](boost::system::error_code ec) {
        if (!ec && *alive && core_.state() != BuddyCore::State::Gone) tick();
    });
}

void BuddyAgent::run(Effects effects) {
    for (const auto& effect : effects) perform(effect);
}

void BuddyAgent::perform(const Effect& e) {
    auto alive = alive_;
    std::visit([&](const auto& action) {
        using T = std::decay_t<decltype(action)>;
        if constexpr (std::is_same_v<T, effect::Probe>) {
            prober_.probe(action.target, options_.interval);
        } else if constexpr (std::is_same_v<T, effect::Announce>) {
            registry_.call("ANNOUNCE " + core_.self().toString(), [this, alive, e](Expected<std::string> reply) {
                if (!*alive) return;
                auto parsed = answer(reply, "announce");
                if (!parsed) {
                    RG_WARN(Buddy, "announce failed: %s", parsed.error().message.c_str());
                    return core_.registryFailed(e);
                }
                RG_INFO(Buddy, "announced; buddies %s and %s (version %llu)", parsed->buddyA.toString().c_str(),
                        parsed->buddyB.toString().c_str(), static_cast<unsigned long long>(parsed->version));
                run(core_.announced(*parsed));
            });
        } else if constexpr (std::is_same_v<T, effect::Delete>) {
            // Leaving the ring (claims 15-16): delete self, then tell the buddies.
            registry_.call("DELETE " + core_.self().toString(), [this, alive](Expected<std::string> reply) {
                if (!*alive) return;
                auto parsed = answer(reply, "delete");
                if (!parsed) {
                    RG_WARN(Buddy, "leaving: delete failed: %s", parsed.error().message.c_str());
                    return run({effect::Exit{}});
                }
                run(core_.leftTable(*parsed));
            });
        } else if constexpr (std::is_same_v<T, effect::ReportDeath>) {
            Ipv4Address dead = action.server;
            ++counters_.deletesReported;
            RG_INFO(Buddy, "buddy %s is not answering: reporting it dead", dead.toString().c_str());
            protocol::Request report{protocol::Verb::Dead, dead, core_.self(), action.version};
            registry_.call(protocol::formatRequest(report, false), [this, alive, e, dead](Expected<std::string> reply) {
                if (!*alive) return;
                if (!reply) {
                    RG_WARN(Buddy, "report of %s failed: %s", dead.toString().c_str(), reply.error().message.c_str());
                    return core_.registryFailed(e);
                }
                auto parsed = protocol::parseBuddyReply(*reply);
                if (parsed && !answer(reply, "death report")) return core_.registryFailed(e);
                if (!parsed) {
                    // The registry did not believe the report (death_judge.h): watch on.
                    ++counters_.reportsRefused;
                    RG_INFO(Buddy, "report of %s refused: %s", dead.toString().c_str(), parsed.error().message.c_str());
                    return run(core_.reportRefused(dead));
                }
                run(core_.deleted(dead, *parsed));
            });
        } else if constexpr (std::is_same_v<T, effect::FetchEntry>) {
            registry_.call("ENTRY " + core_.self().toString(), [this, alive, e](Expected<std::string> reply) {
                if (!*alive) return;
                auto parsed = answer(reply, "entry");
                if (!parsed) return core_.registryFailed(e);
                run(core_.entryFetched(*parsed));
            });
        } else if constexpr (std::is_same_v<T, effect::SendReplace>) {
            protocol::Request request;
            request.verb = protocol::Verb::Replace;
            request.version = action.version;
            request.first = action.toReplace;
            request.second = action.replacement;
            bool farewell = core_.state() == BuddyCore::State::Gone;
            if (farewell) ++pendingFarewells_;
            Ipv4Address to = action.to;
            callOnce(io_, {to, options_.listenerPort}, protocol::formatRequest(request, true),
                     std::chrono::milliseconds(1000), [this, alive, to, farewell](Expected<std::string> reply) {
                if (!*alive) return;
                if (!reply || reply->rfind("OK", 0) != 0)
                    RG_DEBUG(Buddy, "ServerReplace to %s: %s", to.toString().c_str(),
                             reply ? reply->c_str() : reply.error().message.c_str());
                if (farewell && --pendingFarewells_ == 0 && onGone_) {
                    auto gone = std::move(onGone_);
                    onGone_ = nullptr;
                    gone();
                }
            }, core_.self(), options_.registry.key);
        } else if constexpr (std::is_same_v<T, effect::Exit>) {
            if (pendingFarewells_ == 0 && onGone_) {
                auto gone = std::move(onGone_);
                onGone_ = nullptr;
                boost::asio::post(io_, gone);
            }
        }
    }, e);
}

Expected<protocol::BuddyReply> BuddyAgent::answer(const Expected<std::string>& reply, const char* call) {
    if (!reply) return reply.error();
    auto parsed = protocol::parseBuddyReply(*reply);
    if (parsed && !core_.acceptTerm(parsed->term, std::chrono::steady_clock::now())) {
        ++counters_.staleTerm;
        RG_WARN(Buddy, "%s: answer from a stale primary (term %llu, below %llu): not taken", call,
                static_cast<unsigned long long>(parsed->term), static_cast<unsigned long long>(core_.highestTerm()));
        return makeError("stale primary");
    }
    return parsed;
}

void BuddyAgent::stop(std::function<void()> done) {
    onGone_ = std::move(done);
    RG_INFO(Buddy, "shutting down: leaving the ring");
    run(core_.shutdown());
}

void BuddyAgent::abandon() {
    *alive_ = false;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    accepts_.stop();
    ticker_.cancel();
}

void BuddyAgent::accepted(tcp::socket socket, std::shared_ptr<void> ticket) {
    auto connection = std::make_shared<LineConnection>(std::move(socket), protocol::kMaxRequestLine);
    connection->holdTicket(std::move(ticket));
    if (options_.registry.key) connection->authenticateAsServer(options_.registry.key, replay_);
    std::weak_ptr<LineConnection> weak = connection;
    auto alive = alive_;
    connection->start([this, alive, weak](std::string_view line) {
                          if (auto c = weak.lock(); c && *alive) onListenerLine(c, line);
                      },
                      [this, alive](CloseReason reason, const std::string&) {
                          if (*alive && (reason == CloseReason::LineTooLong || reason == CloseReason::Unauthenticated))
                              ++counters_.refused;
                      });
    connection->setIdleLimit(options_.idle);
}

std::string BuddyAgent::status() const {
    return "OK " + core_.self().toString() + " " + core_.buddyA().toString() + " " + core_.buddyB().toString() +
           " " + std::to_string(core_.version()) + " " + std::to_string(counters_.refused);
}

void BuddyAgent::onListenerLine(const std::shared_ptr<LineConnection>& connection, std::string_view line) {
    auto request = protocol::parseRequest(line, true);
    if (!request) {
        ++counters_.refused;
        RG_DEBUG(Buddy, "refused listener request from %s: %s", connection->peer().c_str(),
                 request.error().message.c_str());
        connection->send(protocol::formatError(request.error().message));
        return;
    }
    if (request->verb == protocol::Verb::Status) {
        connection->send(status());
        return;
    }
    auto outcome = core_.replaceRequested(request->version, request->first, request->second);
    if (!outcome.accepted) {
        ++counters_.replacesRejected;
        connection->send(protocol::formatError(outcome.reason));
    } else {
        ++counters_.replacesAccepted;
        RG_DEBUG(Buddy, "ServerReplace %s -> %s: buddies now %s %s", request->first.toString().c_str(),
                 request->second.toString().c_str(), core_.buddyA().toString().c_str(),
                 core_.buddyB().toString().c_str());
        connection->send("OK");
    }
    run(outcome.effects);
}

}  // namespace ringgate::registry
