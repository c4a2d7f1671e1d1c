#include "control/registry/registry_client.h"

#include "control/registry/line_connection.h"

namespace ringgate::registry {

struct RegistryClient::Attempt {
    std::string request;
    std::function<void(Expected<std::string>)> done;
    std::chrono::steady_clock::time_point deadline;
    size_t next = 0;
    std::string lastError;
    std::unique_ptr<boost::asio::steady_timer> pause;
};

RegistryClient::RegistryClient(boost::asio::io_context& io, RegistryClientOptions options)
    : io_(io), options_(std::move(options)) {}

void RegistryClient::call(std::string request, std::function<void(Expected<std::string>)> done) {
    auto call = std::make_shared<Attempt>();
    call->request = std::move(request);
    call->done = std::move(done);
    call->deadline = std::chrono::steady_clock::now() + options_.deadline;
    call->pause = std::make_unique<boost::asio::steady_timer>(io_);
    attempt(call);
}

void RegistryClient::attempt(std::shared_ptr<Attempt> call) {
    if (options_.endpoints.empty()) return call->done(makeError("no registry endpoint configured"));
    Ipv4Endpoint to = options_.endpoints[call->next++ % options_.endpoints.size()];
    callOnce(io_, to, call->request, options_.attemptTimeout, [this, alive = alive_, call](Expected<std::string> reply) {
        if (!*alive) return;
        // A monitor answering on the address (mid-takeover) refuses changes: try again.
        bool retry = !reply || reply->rfind("ERR not the primary", 0) == 0;
        if (!retry) return call->done(std::move(reply));
        call->lastError = reply ? *reply : reply.error().message;
        if (std::chrono::steady_clock::now() + options_.retryPause >= call->deadline)
            return call->done(makeError("registry unreachable: " + call->lastError));
        call->pause->expires_after(options_.retryPause);
        call->pause->async_wait([this, alive, call](boost::system::error_code ec) {
            if (!ec && *alive) attempt(call);
        });
    }, options_.source, options_.key);
}

}  // namespace ringgate::registry
