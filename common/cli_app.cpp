#include "common/cli_app.h"

#include <cstdio>

#include "common/ipv4.h"
#include "common/log.h"

namespace ringgate::cli {
namespace {

template <typename Parsed>
CLI::Validator parses(const char* what) {
    return CLI::Validator(
        [what](std::string& text) -> std::string {
            return Parsed::parse(text) ? std::string() : "'" + text + "' is not " + what;
        },
        what);
}

}  // namespace

const CLI::Validator kIpv4Address = parses<Ipv4Address>("an IPv4 address");
const CLI::Validator kIpv4Endpoint = parses<Ipv4Endpoint>("ADDR:PORT");
const CLI::Validator kIpv4Prefix = parses<Ipv4Prefix>("ADDR/LEN");

std::optional<int> parseApp(CLI::App& app, int argc, char** argv) {
    std::string program = app.get_name();
    app.set_version_flag("--version", program + " " + RINGGATE_VERSION);
    std::string logSpec;
    app.add_option("--log", logSpec, "log levels, e.g. \"debug\" or \"registry=debug\"");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::fputs(app.help().c_str(), stdout);
        return 0;
    } catch (const CLI::CallForVersion&) {
        std::puts(app.version().c_str());
        return 0;
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "%s: %s (see --help)\n", program.c_str(), e.what());
        return 2;
    }
    if (!logSpec.empty() && !log::applySpec(logSpec)) {
        std::fprintf(stderr, "%s: --log: bad spec '%s'\n", program.c_str(), logSpec.c_str());
        return 2;
    }
    return std::nullopt;
}

}  // namespace ringgate::cli
