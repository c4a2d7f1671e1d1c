// Loads and validates a cluster configuration. Nothing starts from a file that fails here.
// Errors carry the file, line and column of the offending YAML node and the field path,
// printed as `FILE:LINE:COLUMN: field.path: reason` (docs/CONFIGURATION.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace ringgate::config {

struct ConfigError {
    std::string file;
    int line = 0;    // 1-based
    int column = 0;  // 1-based
    std::string path;    // "subnets[0].vips[2].preferred_host"
    std::string reason;
    std::string toString() const;
};

struct LoadResult {
    std::optional<Config> config;     // set only when `errors` is empty
    std::vector<ConfigError> errors;  // in file order
    std::string text;                 // the file's content, when it loaded (shared on the token)

    // What every program prints for a refused file: each error on its own line, then
    // "PROGRAM: N errors in FILE".
    std::string report(std::string_view program) const;
};

// Files larger than this are refused before parsing: no real cluster needs more, and
// a runaway file should not exhaust the daemon's memory.
constexpr size_t kMaxConfigBytes = 4 * 1024 * 1024;

LoadResult loadFile(const std::string& path);
LoadResult loadString(std::string_view text, const std::string& name);

}  // namespace ringgate::config
