#include "config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace ringgate::config {

Position positionOf(const YAML::Node& node) {
    if (!node.IsDefined()) return {};
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) return {};
    return {mark.line + 1, mark.column + 1};
}

void Diagnostics::error(Position at, const std::string& path, std::string reason) {
    if (at.line == 0) at = Position{1, 1};  // no node to point at: the file as a whole
    errors_.push_back(ConfigError{file_, at.line, at.column, path, std::move(reason)});
}

void Diagnostics::errorAt(const std::string& path, std::string reason) {
    // Walk up "a.b[2].c" -> "a.b[2]" -> "a.b" -> "a" until a remembered position is found.
    std::string probe = path;
    while (!probe.empty()) {
        auto it = positions_.find(probe);
        if (it != positions_.end()) {
            error(it->second, path, std::move(reason));
            return;
        }
        size_t cut = probe.find_last_of(".[");
        if (cut == std::string::npos) break;
        probe.resize(cut);
    }
    error(Position{1, 1}, path, std::move(reason));
}

void Diagnostics::remember(const std::string& path, const YAML::Node& node) {
    Position at = positionOf(node);
    if (at.line > 0) positions_[path] = at;
}

std::vector<ConfigError> Diagnostics::take() {
    std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
        return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    return std::move(errors_);
}

std::optional<std::string> scalarOf(const YAML::Node& node, const std::string& path,
                                    Diagnostics& diag) {
    if (node.IsScalar()) return node.Scalar();
    const char* what = node.IsMap() ? "a mapping" : node.IsSequence() ? "a list" : "empty";
    diag.error(positionOf(node), path, std::string("expected a single value, found ") + what);
    return std::nullopt;
}

MapReader::MapReader(const YAML::Node& node, std::string path, Diagnostics& diag)
    : node_(node), path_(std::move(path)), diag_(diag) {
    if (!node.IsDefined() || node.IsNull()) {
        diag_.error(positionOf(node), path_, "expected a mapping, found nothing");
        return;
    }
    if (!node.IsMap()) {
        diag_.error(positionOf(node), path_,
                    node.IsSequence() ? "expected a mapping, found a list"
                                      : "expected a mapping, found '" + node.Scalar() + "'");
        return;
    }
    diag_.remember(path_, node);
    // yaml-cpp keeps both entries of a repeated key; a repeated key is almost always a
    // copy-paste slip, so it is an error rather than "last one wins".
    std::set<std::string> seen;
    for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
            diag_.error(positionOf(entry.first), path_, "keys must be plain names");
            continue;
        }
        if (!seen.insert(entry.first.Scalar()).second)
            diag_.error(positionOf(entry.first), childPath(entry.first.Scalar()),
                        "key appears twice");
    }
    valid_ = true;
}

std::string MapReader::childPath(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
}

YAML::Node MapReader::child(const std::string& key) {
    known_.push_back(key);
    if (!valid_) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node value = node_[key];
    if (value.IsDefined()) diag_.remember(childPath(key), value);
    return value;
}

bool MapReader::has(const std::string& key) {
    if (!valid_) return false;
    return node_[key].IsDefined() && !node_[key].IsNull();
}

bool MapReader::scalarText(const std::string& key, std::string& out, bool required) {
    if (!valid_) return false;
    YAML::Node value = child(key);
    if (!value.IsDefined() || value.IsNull()) {
        if (required) diag_.error(positionOf(node_), childPath(key), "required field is missing");
        return false;
    }
    auto text = scalarOf(value, childPath(key), diag_);
    if (!text) return false;
    out = *text;
    return true;
}

void MapReader::string(const std::string& key, std::string& out, bool required) {
    std::string text;
    if (!scalarText(key, text, required)) return;
    if (text.empty()) {
        diag_.error(positionOf(node_[key]), childPath(key), "must not be empty");
        return;
    }
    out = text;
}

template <typename T>
void MapReader::unsignedField(const std::string& key, T& out, uint64_t min, uint64_t max,
                              bool required) {
    std::string text;
    if (!scalarText(key, text, required)) return;
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
        diag_.error(positionOf(node_[key]), childPath(key),
                    "expected a whole number, found '" + text + "'");
        return;
    }
    if (value < min || value > max) {
        diag_.error(positionOf(node_[key]), childPath(key),
                    std::to_string(value) + " is out of range [" + std::to_string(min) + ", " +
                        std::to_string(max) + "]");
        return;
    }
    out = static_cast<T>(value);
}

void MapReader::u64(const std::string& key, uint64_t& out, uint64_t min, uint64_t max,
                    bool required) {
    unsignedField(key, out, min, max, required);
}
void MapReader::u32(const std::string& key, uint32_t& out, uint32_t min, uint32_t max,
                    bool required) {
    unsignedField(key, out, min, max, required);
}
void MapReader::u16(const std::string& key, uint16_t& out, uint16_t min, uint16_t max,
                    bool required) {
    unsignedField(key, out, min, max, required);
}

void MapReader::boolean(const std::string& key, bool& out, bool required) {
    std::string text;
    if (!scalarText(key, text, required)) return;
    if (text == "true" || text == "yes" || text == "on") {
        out = true;
    } else if (text == "false" || text == "no" || text == "off") {
        out = false;
    } else {
        diag_.error(positionOf(node_[key]), childPath(key),
                    "expected true or false, found '" + text + "'");
    }
}

void MapReader::address(const std::string& key, Ipv4Address& out, bool required) {
    std::string text;
    if (!scalarText(key, text, required)) return;
    auto parsed = Ipv4Address::parse(text);
    if (!parsed) {
        diag_.error(positionOf(node_[key]), childPath(key),
                    "'" + text + "' is not an IPv4 address");
        return;
    }
    out = *parsed;
}

void MapReader::prefix(const std::string& key, Ipv4Prefix& out, bool required) {
    std::string text;
    if (!scalarText(key, text, required)) return;
    auto parsed = Ipv4Prefix::parse(text);
    if (!parsed) {
        diag_.error(positionOf(node_[key]), childPath(key),
                    "'" + text + "' is not an IPv4 prefix with zero host bits (a.b.c.d/len)");
        return;
    }
    out = *parsed;
}

void MapReader::endpoint(const std::string& key, Ipv4Endpoint& out, bool required) {
    std::string text;
    if (!scalarText(key, text, required)) return;
    auto parsed = Ipv4Endpoint::parse(text);
    if (!parsed) {
        diag_.error(positionOf(node_[key]), childPath(key),
                    "'" + text + "' is not an IPv4 address:port");
        return;
    }
    out = *parsed;
}

void MapReader::sequence(const std::string& key, bool required,
                         const std::function<void(const YAML::Node&, const std::string&)>& each) {
    if (!valid_) return;
    YAML::Node value = child(key);
    if (!value.IsDefined() || value.IsNull()) {
        if (required) diag_.error(positionOf(node_), childPath(key), "required list is missing");
        return;
    }
    if (!value.IsSequence()) {
        diag_.error(positionOf(value), childPath(key), "expected a list");
        return;
    }
    for (size_t i = 0; i < value.size(); ++i) {
        std::string itemPath = childPath(key) + "[" + std::to_string(i) + "]";
        diag_.remember(itemPath, value[i]);
        each(value[i], itemPath);
    }
}

void MapReader::finish() {
    if (!valid_) return;
    for (const auto& entry : node_) {
        if (!entry.first.IsScalar()) continue;
        const std::string& key = entry.first.Scalar();
        if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
            std::string known;
            for (const auto& k : known_) known += (known.empty() ? "" : ", ") + k;
            diag_.error(positionOf(entry.first), childPath(key),
                        "unknown field (known here: " + known + ")");
        }
    }
}

}  // namespace ringgate::config
