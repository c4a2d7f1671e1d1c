// The HTTP path of a gateway (WO 00/62502 §5, "Highly Available Internet Link"): one
// ServiceProxy per `mode: http` service, each on its own threads. ringgated owns one
// HttpLink when any service is in mode http; the control thread only starts it, hands it
// the pools' live back ends and reads its statistics.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/expected.h"
#include "config/config.h"
#include "control/httplink/http_report.h"

namespace ringgate::httplink {

class ServiceProxy;

class HttpLink {
public:
    static bool needed(const config::Config& config);

    explicit HttpLink(const config::Config& config);
    ~HttpLink();

    // Binds every HTTP service's VIP:port and starts its threads.
    Expected<void> start();
    void stop();

    // The live back ends of `pool` changed (registry live list); services on it follow.
    void setLiveBackends(const std::string& pool, const std::vector<config::Backend>& live);

    HttpReport report() const;

private:
    std::vector<std::unique_ptr<ServiceProxy>> services_;
};

}  // namespace ringgate::httplink
