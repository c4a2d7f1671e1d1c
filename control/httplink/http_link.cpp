#include "control/httplink/http_link.h"

#include <sys/resource.h>

#include "common/log.h"
#include "control/httplink/service_proxy.h"

namespace ringgate::httplink {

bool HttpLink::needed(const config::Config& config) {
    for (const config::Service& service : config.services)
        if (service.mode == config::ServiceMode::Http) return true;
    return false;
}

HttpLink::HttpLink(const config::Config& config) {
    for (const config::Service& service : config.services)
        if (service.mode == config::ServiceMode::Http)
            if (const config::BackendPool* pool = config.findPool(service.pool))  // validated
                services_.push_back(std::make_unique<ServiceProxy>(service, *pool));
}

HttpLink::~HttpLink() { stop(); }

Expected<void> HttpLink::start() {
    // Each proxied connection holds two descriptors (client, back end): take the hard
    // limit, and say so when max_connections cannot fit even in that.
    uint64_t wanted = 64;
    for (const auto& service : services_) wanted += 2ull * service->settings().maxConnections;
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        (void)::setrlimit(RLIMIT_NOFILE, &files);
    }
    if (files.rlim_cur != RLIM_INFINITY && files.rlim_cur < wanted)
        RG_WARN(Http, "open-file limit %llu is below the %llu that max_connections needs; excess clients "
                      "wait in the listen queue", static_cast<unsigned long long>(files.rlim_cur),
                static_cast<unsigned long long>(wanted));
    for (auto& service : services_)
        if (auto started = service->start(); !started) return started;
    return {};
}

void HttpLink::stop() {
    for (auto& service : services_) service->stop();
}

void HttpLink::setLiveBackends(const std::string& pool, const std::vector<config::Backend>& live) {
    for (auto& service : services_)
        if (service->service().pool == pool) service->setLive(live);
}

HttpReport HttpLink::report() const {
    HttpReport out;
    for (const auto& service : services_) out.services.push_back(service->report());
    return out;
}

}  // namespace ringgate::httplink
