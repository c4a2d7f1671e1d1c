#include "control/management/catalogue.h"

#include <fmt/format.h>

namespace ringgate::management {

const CommandSpec* findCommand(std::string_view name) {
    for (const CommandSpec& spec : kGatewayCommands)
        if (name == spec.name) return &spec;
    return nullptr;
}

std::string usageLine(const CommandSpec& spec) {
    std::string synopsis = *spec.args ? fmt::format("{} {}", spec.name, spec.args) : spec.name;
    // Long synopses (vip) get the summary on a line of its own.
    if (synopsis.size() > 24) return fmt::format("{}\n{:24} {}", synopsis, "", spec.summary);
    return fmt::format("{:<24} {}", synopsis, spec.summary);
}

}  // namespace ringgate::management
