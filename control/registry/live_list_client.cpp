#include "control/registry/live_list_client.h"

#include <cstdlib>

#include "common/log.h"

namespace ringgate::registry {

LiveListClient::LiveListClient(boost::asio::io_context& io, std::vector<Ipv4Endpoint> registry, OnChange onChange,
                               LineKeyPtr key, std::chrono::milliseconds termReset)
    : registry_(std::move(registry)),
      onChange_(std::move(onChange)),
      terms_(termReset),
      subscription_(io, "SUBSCRIBE", std::chrono::milliseconds(3000),
                    LineSubscription::Callbacks{
                        [this] { return registry_[next_++ % registry_.size()]; },
                        [this] { streamTermTaken_ = false; },
                        [this](std::string_view line) { onLine(line); },
                        [](const std::string& why) {
                            RG_DEBUG(Registry, "live-list subscription ended: %s", why.c_str());
                        },
                        nullptr,
                    },
                    std::move(key)) {}

void LiveListClient::onLine(std::string_view line) {
    if (line.rfind("TERM ", 0) == 0) {
        uint64_t term = std::strtoull(std::string(line.substr(5)).c_str(), nullptr, 10);
        streamTermTaken_ = terms_.accept(term, std::chrono::steady_clock::now());
        if (!streamTermTaken_) {
            RG_WARN(Registry, "live list from a stale primary (term %llu, below %llu): keeping the last list",
                    static_cast<unsigned long long>(term), static_cast<unsigned long long>(terms_.highest()));
            subscription_.close(CloseReason::Local, "stale primary");
        }
        return;
    }
    if (!streamTermTaken_) return;  // a list before its term: not ours to take
    auto list = protocol::parseLive(line);
    if (!list) {
        RG_WARN(Registry, "live list: %s", list.error().message.c_str());
        return;
    }
    lastVersion_ = list->version;
    onChange_(*list);
}

LiveListClient::~LiveListClient() = default;

void LiveListClient::start() {
    if (!registry_.empty()) subscription_.start();
}

void LiveListClient::stop() { subscription_.stop(); }

}  // namespace ringgate::registry
