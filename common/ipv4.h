// IPv4 addresses and prefixes as plain values (host byte order inside), parsed strictly.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringgate {

struct Ipv4Address {
    uint32_t value = 0;  // host byte order: 198.18.0.1 == 0xC6120001

    static std::optional<Ipv4Address> parse(std::string_view text);
    std::string toString() const;
    auto operator<=>(const Ipv4Address&) const = default;
};

struct Ipv4Prefix {
    Ipv4Address network;
    uint8_t length = 0;

    // "198.18.0.0/24"; host bits must be zero so that a typo is not silently widened.
    static std::optional<Ipv4Prefix> parse(std::string_view text);
    bool contains(Ipv4Address address) const;
    uint32_t mask() const { return length == 0 ? 0 : ~uint32_t{0} << (32 - length); }
    std::string toString() const;
    auto operator<=>(const Ipv4Prefix&) const = default;
};

// "198.18.0.1:7100"
struct Ipv4Endpoint {
    Ipv4Address address;
    uint16_t port = 0;

    static std::optional<Ipv4Endpoint> parse(std::string_view text);
    std::string toString() const;
    auto operator<=>(const Ipv4Endpoint&) const = default;
};

}  // namespace ringgate
