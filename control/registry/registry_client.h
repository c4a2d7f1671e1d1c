// Calls to the registry's service address(es) from agents and tools: one request line,
// one reply line, retried across the listed endpoints until a deadline, so that a call
// made while the monitor takes over the address succeeds once the new primary serves.
#pragma once

#include "common/asio.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "common/ipv4.h"
#include "control/registry/line_auth.h"

namespace ringgate::registry {

struct RegistryClientOptions {
    std::vector<Ipv4Endpoint> endpoints;
    std::optional<Ipv4Address> source;                  // bind calls to this address
    std::chrono::milliseconds attemptTimeout{1000};
    std::chrono::milliseconds retryPause{100};
    std::chrono::milliseconds deadline{20000};
    LineKeyPtr key;                                     // the pool's key (line_auth.h)
};

class RegistryClient {
public:
    RegistryClient(boost::asio::io_context& io, RegistryClientOptions options);
    ~RegistryClient() { *alive_ = false; }  // calls in flight end silently

    // `done` gets the reply line ("OK ..." or a final "ERR ..." that is not a refusal by
    // a non-primary), or an error once the deadline passes.
    void call(std::string request, std::function<void(Expected<std::string>)> done);

private:
    struct Attempt;
    void attempt(std::shared_ptr<Attempt> call);

    boost::asio::io_context& io_;
    RegistryClientOptions options_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringgate::registry
