// Building blocks of the reports components return to the management layer, which alone
// renders them (text, JSON, Prometheus, the web console; control/management/render.h).
//
// A group of counters is a list of named values rather than struct members, so that a new
// counter is one line where the component fills the list (usually a {name, member} table
// beside the counters themselves) and every view shows it without further changes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringgate::report {

struct Count {
    // snake_case, unique in its group: the JSON key and the Prometheus name's tail.
    std::string name;
    uint64_t value = 0;
    // A gauge goes up and down (a table's size); a counter only grows (packets).
    bool gauge = false;
};

using Counts = std::vector<Count>;

// The value named `name`, or nothing.
inline std::optional<uint64_t> find(const Counts& counts, std::string_view name) {
    for (const Count& c : counts)
        if (c.name == name) return c.value;
    return std::nullopt;
}

}  // namespace ringgate::report
