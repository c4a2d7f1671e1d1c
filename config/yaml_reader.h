// A strict walker over yaml-cpp nodes: typed fields, unknown keys refused, every error
// tied to the line and column of the node it is about. The schema code in loader.cpp
// reads through this; it never calls yaml-cpp's throwing conversions itself.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/ipv4.h"
#include "config/loader.h"

namespace ringgate::config {

struct Position {
    int line = 0;
    int column = 0;
};

// Collects errors and remembers where each field path was found, so that cross-field
// checks (validate.cpp) can point at the right line long after parsing.
class Diagnostics {
public:
    explicit Diagnostics(std::string file) : file_(std::move(file)) {}

    void error(Position at, const std::string& path, std::string reason);
    // Reports at the remembered position of `path` (or its nearest remembered parent).
    void errorAt(const std::string& path, std::string reason);
    void remember(const std::string& path, const YAML::Node& node);

    bool empty() const { return errors_.empty(); }
    std::vector<ConfigError> take();

private:
    std::string file_;
    std::vector<ConfigError> errors_;
    std::map<std::string, Position> positions_;
};

Position positionOf(const YAML::Node& node);

// One YAML mapping being read; `finish()` reports every key nobody asked for.
class MapReader {
public:
    MapReader(const YAML::Node& node, std::string path, Diagnostics& diag);

    bool valid() const { return valid_; }
    const std::string& path() const { return path_; }
    Diagnostics& diagnostics() { return diag_; }

    // Returns the child node (undefined if absent) and marks the key as known.
    YAML::Node child(const std::string& key);
    bool has(const std::string& key);
    std::string childPath(const std::string& key) const;

    // Typed fields. `required*` report a missing key; optional ones leave `out` alone.
    void string(const std::string& key, std::string& out, bool required);
    void u64(const std::string& key, uint64_t& out, uint64_t min, uint64_t max, bool required);
    void u32(const std::string& key, uint32_t& out, uint32_t min, uint32_t max, bool required);
    void u16(const std::string& key, uint16_t& out, uint16_t min, uint16_t max, bool required);
    void boolean(const std::string& key, bool& out, bool required);
    void address(const std::string& key, Ipv4Address& out, bool required);
    void prefix(const std::string& key, Ipv4Prefix& out, bool required);
    void endpoint(const std::string& key, Ipv4Endpoint& out, bool required);

    // An enumeration spelled as one of `names`; `out` takes the matching value.
    template <typename E>
    void choice(const std::string& key, E& out, const std::vector<std::pair<std::string, E>>& names,
                bool required) {
        std::string text;
        if (!scalarText(key, text, required)) return;
        for (const auto& [name, value] : names)
            if (name == text) { out = value; return; }
        std::string expected;
        for (const auto& entry : names) expected += (expected.empty() ? "" : ", ") + entry.first;
        diag_.error(positionOf(node_[key]), childPath(key),
                    "'" + text + "' is not one of: " + expected);
    }

    // A sequence of items; `each(node, path)` reads one item.
    void sequence(const std::string& key, bool required,
                  const std::function<void(const YAML::Node&, const std::string&)>& each);

    void finish();

private:
    bool scalarText(const std::string& key, std::string& out, bool required);
    template <typename T>
    void unsignedField(const std::string& key, T& out, uint64_t min, uint64_t max, bool required);

    YAML::Node node_;
    std::string path_;
    Diagnostics& diag_;
    bool valid_ = false;
    std::vector<std::string> known_;
};

// Reads a scalar node as text, reporting (and returning nullopt) for maps and sequences.
std::optional<std::string> scalarOf(const YAML::Node& node, const std::string& path,
                                    Diagnostics& diag);

}  // namespace ringgate::config
