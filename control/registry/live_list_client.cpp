#include "control/registry/live_list_client.h"

#include "common/log.h"

namespace ringgate::registry {

LiveListClient::LiveListClient(boost::asio::io_context& io, std::vector<Ipv4Endpoint> registry, OnChange onChange,
                               LineKeyPtr key)
    : registry_(std::move(registry)),
      onChange_(std::move(onChange)),
      subscription_(io, "SUBSCRIBE", std::chrono::milliseconds(3000),
                    LineSubscription::Callbacks{
                        [this] { return registry_[next_++ % registry_.size()]; },
                        nullptr,
                        [this](std::string_view line) {
                            auto list = protocol::parseLive(line);
                            if (!list) {
                                RG_WARN(Registry, "live list: %s", list.error().message.c_str());
                                return;
                            }
                            lastVersion_ = list->version;
                            onChange_(*list);
                        },
                        [](const std::string& why) {
                            RG_DEBUG(Registry, "live-list subscription ended: %s", why.c_str());
                        },
                        nullptr,
                    },
                    std::move(key)) {}

LiveListClient::~LiveListClient() = default;

void LiveListClient::start() {
    if (!registry_.empty()) subscription_.start();
}

void LiveListClient::stop() { subscription_.stop(); }

}  // namespace ringgate::registry
