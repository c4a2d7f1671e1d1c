#include "control/registry/replication_follower.h"

#include <cstdlib>

#include "common/log.h"

namespace ringgate::registry {

ReplicationFollower::ReplicationFollower(boost::asio::io_context& io, RegistryService& service, Ipv4Endpoint primary,
                                         LineKeyPtr key)
    : service_(service),
      primary_(primary),
      subscription_(io, "REPLICATE", std::chrono::milliseconds(1000),
                    LineSubscription::Callbacks{
                        [this] { return primary_; },
                        [this] { synced_ = false; },
                        [this](std::string_view line) { onLine(line); },
                        [this](const std::string& why) {
                            RG_INFO(Registry, "replication stream from %s ended: %s", primary_.toString().c_str(),
                                    why.c_str());
                        },
                        [this](const std::string& why) {
                            RG_DEBUG(Registry, "cannot reach primary %s: %s", primary_.toString().c_str(), why.c_str());
                        },
                    },
                    std::move(key)) {}

ReplicationFollower::~ReplicationFollower() = default;

void ReplicationFollower::start() { subscription_.start(); }

void ReplicationFollower::stop() { subscription_.stop(); }

void ReplicationFollower::onLine(std::string_view line) {
    if (line.rfind("DROPPED", 0) == 0) {
        stale_ = true;  // the primary goes on without us until we follow it again
        RG_WARN(Registry, "the primary dropped this monitor: %.80s", std::string(line).c_str());
        return subscription_.close(CloseReason::Local, "dropped by the primary");
    }
    if (line.rfind("TERM ", 0) == 0) {
        uint64_t term = std::strtoull(std::string(line.substr(5)).c_str(), nullptr, 10);
        if (term < minimumTerm_) {
            // A primary that missed a newer term (cut off, then back): its copy may
            // lack changes the newer primary acknowledged. Do not follow it.
            stale_ = true;
            synced_ = false;
            RG_WARN(Registry, "the primary at %s has term %llu, below %llu: not following a stale primary",
                    primary_.toString().c_str(), static_cast<unsigned long long>(term),
                    static_cast<unsigned long long>(minimumTerm_));
            return subscription_.close(CloseReason::Local, "stale primary");
        }
        term_ = term;
        return;
    }
    if (line.rfind("RANK ", 0) == 0) {
        rank_ = static_cast<uint32_t>(std::strtoul(std::string(line.substr(5)).c_str(), nullptr, 10));
        return;
    }
    if (line.rfind("SNAPSHOT", 0) == 0) {
        auto snapshot = protocol::parseTable(line);
        if (!snapshot) {
            RG_WARN(Registry, "bad snapshot from the primary: %s", snapshot.error().message.c_str());
            return subscription_.close(CloseReason::Local, "bad snapshot");
        }
        if (auto loaded = service_.load(*snapshot); !loaded) {
            RG_ERROR(Registry, "cannot store the primary's snapshot: %s", loaded.error().message.c_str());
            return subscription_.close(CloseReason::Local, "store failed");
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
            return subscription_.close(CloseReason::Local, "bad change");
        }
        auto version = service_.replay(*apply);
        if (!version || *version != apply->version) {
            // The copies disagree: reconnecting fetches a fresh snapshot.
            RG_WARN(Registry, "replaying version %llu gave %s: resynchronising",
                    static_cast<unsigned long long>(apply->version),
                    version ? std::to_string(*version).c_str() : version.error().message.c_str());
            stale_ = true;
            return subscription_.close(CloseReason::Local, "copy diverged");
        }
        version_ = *version;
        ++applied_;
        subscription_.send("ACK " + std::to_string(version_));
        return;
    }
    RG_WARN(Registry, "unexpected line from the primary: %.60s", std::string(line).c_str());
    subscription_.close(CloseReason::Local, "unexpected line");
}

}  // namespace ringgate::registry
