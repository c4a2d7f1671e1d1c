// Command-line parsing shared by ringgated, ringgatectl and the other programs:
// "--name VALUE" or "--name=VALUE" options, "--flag" switches, and positional words.
// Errors are one line naming the option; callers print them and exit 2.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/expected.h"

namespace ringgate::cli {

struct Spec {
    std::set<std::string> options;   // take a value, e.g. "config"
    std::set<std::string> switches;  // no value, e.g. "json"
};

struct Parsed {
    std::map<std::string, std::string> options;
    std::set<std::string> switches;
    std::vector<std::string> positional;

    bool has(const std::string& name) const { return switches.count(name) > 0; }
    std::optional<std::string> option(const std::string& name) const;
};

Expected<Parsed> parse(int argc, char** argv, const Spec& spec);

// A whole number in [min, max], or an error naming the option.
Expected<unsigned long> parseNumber(const std::string& option, const std::string& text,
                                    unsigned long min, unsigned long max);

}  // namespace ringgate::cli
