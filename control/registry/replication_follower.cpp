#include "control/registry/replication_follower.h"

#include "common/log.h"

namespace ringgate::registry {

ReplicationFollower::ReplicationFollower(boost::asio::io_context& io, TableWorker& table, Ipv4Endpoint primary,
                                         LineKeyPtr key)
    : table_(table),
      primary_(primary),
      subscription_(io, "REPLICATE", std::chrono::milliseconds(1000),
                    LineSubscription::Callbacks{
                        [this] { return primary_; },
                        [this] { core_.connected(); },
                        [this](std::string_view line) { perform(core_.line(line)); },
                        [this](const std::string& why) {
                            RG_INFO(Registry, "replication stream from %s ended: %s", primary_.toString().c_str(),
                                    why.c_str());
                        },
                        [this](const std::string& why) {
                            RG_DEBUG(Registry, "cannot reach primary %s: %s", primary_.toString().c_str(), why.c_str());
                        },
                    },
                    std::move(key)) {}

ReplicationFollower::~ReplicationFollower() { *alive_ = false; }

void ReplicationFollower::start() { subscription_.start(); }

void ReplicationFollower::stop() { subscription_.stop(); }

void ReplicationFollower::perform(ReplicationFollowerCore::Effects effects) {
    for (const auto& warning : effects.warnings)
        RG_WARN(Registry, "replication from %s: %s", primary_.toString().c_str(), warning.c_str());
    for (const auto& line : effects.sends) subscription_.send(line);
    if (effects.close) return subscription_.close(CloseReason::Local, *effects.close);
    auto alive = alive_;
    if (effects.load) {
        size_t servers = effects.load->entries.size();
        uint64_t version = effects.load->version;
        table_.change<Expected<void>>(
            [snapshot = std::move(*effects.load)](RegistryService& service) {
                return TableWorker::Result<Expected<void>>{service.load(snapshot), true};
            },
            [this, alive, servers, version](Expected<void> loaded) {
                if (!*alive) return;
                if (loaded)
                    RG_INFO(Registry, "following the primary: %zu servers at version %llu", servers,
                            static_cast<unsigned long long>(version));
                perform(core_.loaded(loaded));
                if (loaded && changed_) changed_();
            });
    }
    if (effects.replay) {
        table_.change<Expected<uint64_t>>(
            [apply = *effects.replay](RegistryService& service) {
                return TableWorker::Result<Expected<uint64_t>>{service.replay(apply), true};
            },
            [this, alive](Expected<uint64_t> version) {
                if (!*alive) return;
                perform(core_.replayed(version));
                if (version && changed_) changed_();
            });
    }
}

}  // namespace ringgate::registry
