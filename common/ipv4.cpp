#include "common/ipv4.h"

#include <charconv>

namespace ringgate {

namespace {
// Parses a decimal number in [0, max] that uses the whole of `text`, no leading zeros.
std::optional<uint32_t> parseDecimal(std::string_view text, uint32_t max) {
    if (text.empty() || text.size() > 10) return std::nullopt;
    if (text.size() > 1 && text[0] == '0') return std::nullopt;
    uint32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value > max)
        return std::nullopt;
    return value;
}
}  // namespace

std::optional<Ipv4Address> Ipv4Address::parse(std::string_view text) {
    uint32_t value = 0;
    for (int octet = 0; octet < 4; ++octet) {
        size_t dot = text.find('.');
        bool last = octet == 3;
        if (last != (dot == std::string_view::npos)) return std::nullopt;
        auto part = parseDecimal(text.substr(0, dot), 255);
        if (!part) return std::nullopt;
        value = value << 8 | *part;
        if (!last) text = text.substr(dot + 1);
    }
    return Ipv4Address{value};
}

std::string Ipv4Address::toString() const {
    return std::to_string(value >> 24) + '.' + std::to_string(value >> 16 & 0xff) + '.' +
           std::to_string(value >> 8 & 0xff) + '.' + std::to_string(value & 0xff);
}

std::optional<Ipv4Prefix> Ipv4Prefix::parse(std::string_view text) {
    size_t slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto address = Ipv4Address::parse(text.substr(0, slash));
    auto length = parseDecimal(text.substr(slash + 1), 32);
    if (!address || !length) return std::nullopt;
    Ipv4Prefix prefix{*address, static_cast<uint8_t>(*length)};
    if ((address->value & ~prefix.mask()) != 0) return std::nullopt;
    return prefix;
}

bool Ipv4Prefix::contains(Ipv4Address address) const {
    return (address.value & mask()) == network.value;
}

std::string Ipv4Prefix::toString() const {
    return network.toString() + '/' + std::to_string(length);
}

std::optional<Ipv4Endpoint> Ipv4Endpoint::parse(std::string_view text) {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto address = Ipv4Address::parse(text.substr(0, colon));
    auto port = parseDecimal(text.substr(colon + 1), 65535);
    if (!address || !port || *port == 0) return std::nullopt;
    return Ipv4Endpoint{*address, static_cast<uint16_t>(*port)};
}

std::string Ipv4Endpoint::toString() const {
    return address.toString() + ':' + std::to_string(port);
}

}  // namespace ringgate
