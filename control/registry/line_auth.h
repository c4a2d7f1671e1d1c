// Authentication of the registry's and the agents' line protocols (HMAC-SHA256 with a
// shared pool key, as the cluster plane authenticates its datagrams; docs/REGISTRY.md,
// "Authentication"). Pure functions over lines, no I/O.
//
//   request (client -> server):  <body> @<unix-ms>.<nonce> <tag>
//       tag = HMAC(key, "rq " + body + " @" + unix-ms + "." + nonce); the server accepts
//       it once (nonce not seen before) and only while unix-ms lies within the replay
//       window of its own clock.
//   reply (server -> client):    <body> @<nonce>.<seq> <tag>
//       nonce: the first request's on this connection; seq: 0, 1, 2, ... per line sent.
//       A client accepts exactly the next seq of its own nonce, so replies cannot be
//       replayed, reordered or moved to another connection; stream lines (LIVE pushes,
//       replication) are replies to the SUBSCRIBE/REPLICATE that opened the stream.
// nonce and tag are lower-case hex (16 and 64 digits). Without a key (`--no-auth`) lines
// carry nothing and nothing is checked.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "common/expected.h"

namespace ringgate::registry {

class LineKey {
public:
    LineKey() = default;  // no authentication
    explicit LineKey(std::string secret) : secret_(std::move(secret)) {}
    bool enabled() const { return !secret_.empty(); }
    std::string tag(std::string_view text) const;  // 64 hex digits

private:
    std::string secret_;
};
using LineKeyPtr = std::shared_ptr<const LineKey>;

// Reads a key file: its first line, at least 16 characters.
Expected<LineKey> loadLineKey(const std::string& path);

constexpr uint64_t kReplayWindowMs = 30000;

// Remembers (time, nonce) of accepted requests for twice the window, bounded.
class ReplayGuard {
public:
    explicit ReplayGuard(uint64_t windowMs = kReplayWindowMs, size_t capacity = 200000)
        : windowMs_(windowMs), capacity_(capacity) {}
    // false: outside the window, seen before, or the guard is full of fresh nonces.
    bool accept(uint64_t nowMs, uint64_t sentMs, uint64_t nonce);

private:
    uint64_t windowMs_;
    size_t capacity_;
    std::set<std::pair<uint64_t, uint64_t>> seen_;  // (sent ms, nonce)
};

std::string signRequest(const LineKey& key, std::string_view body, uint64_t nowMs, uint64_t nonce);
struct VerifiedRequest {
    std::string_view body;
    uint64_t nonce = 0;
};
Expected<VerifiedRequest> verifyRequest(const LineKey& key, std::string_view line, ReplayGuard& guard,
                                        uint64_t nowMs);

std::string signReply(const LineKey& key, std::string_view body, uint64_t nonce, uint64_t seq);
Expected<std::string_view> verifyReply(const LineKey& key, std::string_view line, uint64_t nonce, uint64_t seq);

// The key of a program's command line: --key-file PATH (or the configuration's
// registry.key_file), or none with an explicit --no-auth; neither is an error.
Expected<LineKeyPtr> keyFromOptions(const std::optional<std::string>& keyFile, bool noAuth);

uint64_t unixMillis();
uint64_t randomNonce();

}  // namespace ringgate::registry
