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

// Prints "PROGRAM: MESSAGE" on stderr; returns 2, the exit status of a usage error.
int usageError(const std::string& program, const std::string& message);

// The start every ringgate program shares: parses `argv` (adding the --help and --version
// switches and the --log SPEC option to `spec`), prints `help` for --help, the program's
// name and version for --version, refuses positional words
// unless `positionalAllowed`, and applies --log. `exitStatus` is set when the program
// should return at once: 0 after --help or --version, 2 after a usage error (already printed).
struct ProgramStart {
    std::optional<Parsed> args;
    int exitStatus = 0;
};
ProgramStart startProgram(const std::string& program, int argc, char** argv, Spec spec, const char* help,
                          bool positionalAllowed = false);

// A whole number in [min, max], or an error naming the option.
Expected<unsigned long> parseNumber(const std::string& option, const std::string& text,
                                    unsigned long min, unsigned long max);

}  // namespace ringgate::cli
