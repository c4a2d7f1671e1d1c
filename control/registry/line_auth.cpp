#include "control/registry/line_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <chrono>
#include <fstream>
#include <random>

namespace ringgate::registry {
namespace {

constexpr size_t kTagHex = 64;
constexpr size_t kNonceHex = 16;

std::string hex64(uint64_t value) {
    char out[kNonceHex + 1];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(value));
    return out;
}

bool parseNumber(std::string_view text, uint64_t& value, int base) {
    if (text.empty() || text.size() > 20) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    return ec == std::errc() && end == text.data() + text.size();
}

// Splits "<body> @<a>.<b> <tag>" into its parts.
struct Suffix {
    std::string_view body, a, b, tag, signedPart;
};
Expected<Suffix> split(std::string_view line) {
    size_t space = line.rfind(' ');
    if (space == std::string_view::npos) return makeError("unauthenticated (no signature)");
    Suffix s;
    s.tag = line.substr(space + 1);
    s.signedPart = line.substr(0, space);
    size_t at = s.signedPart.rfind(" @");
    if (at == std::string_view::npos || s.tag.size() != kTagHex) return makeError("unauthenticated (no signature)");
    s.body = s.signedPart.substr(0, at);
    std::string_view stamp = s.signedPart.substr(at + 2);
    size_t dot = stamp.find('.');
    if (dot == std::string_view::npos) return makeError("unauthenticated (malformed signature)");
    s.a = stamp.substr(0, dot);
    s.b = stamp.substr(dot + 1);
    return s;
}

bool tagMatches(const std::string& expected, std::string_view tag) {
    return tag.size() == expected.size() && CRYPTO_memcmp(expected.data(), tag.data(), expected.size()) == 0;
}

}  // namespace

std::string LineKey::tag(std::string_view text) const {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
         reinterpret_cast<const unsigned char*>(text.data()), text.size(), out, &length);
    static const char* digits = "0123456789abcdef";
    std::string hex;
    hex.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
        hex += digits[out[i] >> 4];
        hex += digits[out[i] & 15];
    }
    return hex;
}

Expected<LineKey> loadLineKey(const std::string& path) {
    std::ifstream file(path);
    if (!file) return makeError("key file " + path + ": cannot read it");
    std::string secret;
    std::getline(file, secret);
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
    if (secret.size() < 16) return makeError("key file " + path + ": the key needs at least 16 characters");
    return LineKey(std::move(secret));
}

bool ReplayGuard::accept(uint64_t nowMs, uint64_t sentMs, uint64_t nonce) {
    if (sentMs + windowMs_ < nowMs || sentMs > nowMs + windowMs_) return false;
    // Forget what the window no longer admits anyway.
    while (!seen_.empty() && seen_.begin()->first + windowMs_ < nowMs) seen_.erase(seen_.begin());
    if (seen_.size() >= capacity_) return false;
    return seen_.insert({sentMs, nonce}).second;
}

std::string signRequest(const LineKey& key, std::string_view body, uint64_t nowMs, uint64_t nonce) {
    if (!key.enabled()) return std::string(body);
    std::string signedPart = std::string(body) + " @" + std::to_string(nowMs) + "." + hex64(nonce);
    return signedPart + " " + key.tag("rq " + signedPart);
}

Expected<VerifiedRequest> verifyRequest(const LineKey& key, std::string_view line, ReplayGuard& guard,
                                        uint64_t nowMs) {
    if (!key.enabled()) return VerifiedRequest{line, 0};
    auto parts = split(line);
    if (!parts) return parts.error();
    uint64_t sentMs = 0, nonce = 0;
    if (!parseNumber(parts->a, sentMs, 10) || parts->b.size() != kNonceHex || !parseNumber(parts->b, nonce, 16))
        return makeError("unauthenticated (malformed signature)");
    if (!tagMatches(key.tag("rq " + std::string(parts->signedPart)), parts->tag))
        return makeError("unauthenticated (wrong signature)");
    if (!guard.accept(nowMs, sentMs, nonce)) return makeError("unauthenticated (replayed or outside the time window)");
    return VerifiedRequest{parts->body, nonce};
}

std::string signReply(const LineKey& key, std::string_view body, uint64_t nonce, uint64_t seq) {
    if (!key.enabled()) return std::string(body);
    std::string signedPart = std::string(body) + " @" + hex64(nonce) + "." + std::to_string(seq);
    return signedPart + " " + key.tag("rp " + signedPart);
}

Expected<std::string_view> verifyReply(const LineKey& key, std::string_view line, uint64_t nonce, uint64_t seq) {
    if (!key.enabled()) return line;
    auto parts = split(line);
    if (!parts) return parts.error();
    uint64_t gotNonce = 0, gotSeq = 0;
    if (parts->a.size() != kNonceHex || !parseNumber(parts->a, gotNonce, 16) || !parseNumber(parts->b, gotSeq, 10))
        return makeError("unauthenticated reply (malformed signature)");
    if (!tagMatches(key.tag("rp " + std::string(parts->signedPart)), parts->tag))
        return makeError("unauthenticated reply (wrong signature)");
    if (gotNonce != nonce || gotSeq != seq) return makeError("unauthenticated reply (replayed or out of order)");
    return parts->body;
}

Expected<LineKeyPtr> keyFromOptions(const std::optional<std::string>& keyFile, bool noAuth) {
    if (noAuth && keyFile) return makeError("--no-auth and a key file exclude each other");
    if (noAuth) return LineKeyPtr(std::make_shared<const LineKey>());
    if (!keyFile || keyFile->empty())
        return makeError("every request is authenticated: give --key-file PATH (registry.key_file), "
                         "or --no-auth to run without (anyone on the segment can then change the pool)");
    auto key = loadLineKey(*keyFile);
    if (!key) return key.error();
    return LineKeyPtr(std::make_shared<const LineKey>(std::move(*key)));
}

uint64_t unixMillis() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

uint64_t randomNonce() {
    static thread_local std::mt19937_64 engine{std::random_device{}()};
    return engine();
}

}  // namespace ringgate::registry
