// The start every program whose options are declared with CLI11 shares (the options,
// their checks and --help come from one declaration): --version and --log SPEC are added,
// --help is printed on stdout (exit 0), a usage error as "PROGRAM: message (see --help)"
// on stderr (exit 2), and --log is applied.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace ringgate::cli {

// Parses `argv` into `app`. An exit status means: return it from main now.
std::optional<int> parseApp(CLI::App& app, int argc, char** argv);

// Validators for option values (the message names what was expected).
extern const CLI::Validator kIpv4Address;   // 198.19.0.1
extern const CLI::Validator kIpv4Endpoint;  // 198.19.0.1:7300
extern const CLI::Validator kIpv4Prefix;    // 198.19.0.0/24

}  // namespace ringgate::cli
