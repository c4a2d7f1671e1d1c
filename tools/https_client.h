// ringgatectl's side of remote management: one request to a node's HTTPS listener
// (management.listen), with the server's certificate checked against a CA file (or the
// system's trust store) and the host name or IP address in the URL.
#pragma once

#include <string>

#include "common/expected.h"

namespace ringgate::remote {

struct Target {
    std::string host;  // name or IPv4 address
    std::string port = "443";
};

// "https://HOST[:PORT][/]"; anything else (plain http:// included) is refused.
Expected<Target> parseUrl(const std::string& url);

struct Credentials {
    std::string user;
    std::string password;
};

struct Answer {
    int status = 0;
    std::string body;
};

// POSTs `body` (JSON) to `path` with HTTP Basic credentials.
Expected<Answer> post(const Target& target, const std::string& caFile, const Credentials& credentials,
                      const std::string& path, const std::string& body, unsigned long timeoutMs);

}  // namespace ringgate::remote
