#include "common/cli.h"

#include <charconv>
#include <cstdio>

#include "common/log.h"

namespace ringgate::cli {

std::optional<std::string> Parsed::option(const std::string& name) const {
    auto it = options.find(name);
    if (it == options.end()) return std::nullopt;
    return it->second;
}

Expected<Parsed> parse(int argc, char** argv, const Spec& spec) {
    Parsed parsed;
    for (int i = 1; i < argc; ++i) {
        std::string word = argv[i];
        if (word.rfind("--", 0) != 0 || word == "--") {
            parsed.positional.push_back(word);
            continue;
        }
        std::string name = word.substr(2);
        std::optional<std::string> inlineValue;
        if (size_t eq = name.find('='); eq != std::string::npos) {
            inlineValue = name.substr(eq + 1);
            name.resize(eq);
        }
        if (spec.switches.count(name)) {
            if (inlineValue) return makeError("option --" + name + " takes no value");
            parsed.switches.insert(name);
        } else if (spec.options.count(name)) {
            if (parsed.options.count(name)) return makeError("option --" + name + " given twice");
            if (inlineValue) {
                parsed.options[name] = *inlineValue;
            } else {
                if (i + 1 >= argc) return makeError("option --" + name + " needs a value");
                parsed.options[name] = argv[++i];
            }
        } else {
            return makeError("unknown option '" + word + "' (see --help)");
        }
    }
    return parsed;
}

int usageError(const std::string& program, const std::string& message) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), message.c_str());
    return 2;
}

ProgramStart startProgram(const std::string& program, int argc, char** argv, Spec spec, const char* help,
                          bool positionalAllowed) {
    spec.switches.insert("help");
    spec.switches.insert("version");
    spec.options.insert("log");
    ProgramStart start;
    auto args = parse(argc, argv, spec);
    if (!args) {
        start.exitStatus = usageError(program, args.error().message);
        return start;
    }
    if (args->has("help")) {
        std::fputs(help, stdout);
        return start;
    }
    if (args->has("version")) {
        std::printf("%s %s\n", program.c_str(), RINGGATE_VERSION);
        return start;
    }
    if (!positionalAllowed && !args->positional.empty()) {
        start.exitStatus = usageError(program, "unexpected argument '" + args->positional[0] + "'");
        return start;
    }
    if (auto logSpec = args->option("log"); logSpec && !log::applySpec(*logSpec)) {
        start.exitStatus = usageError(program, "--log: bad spec '" + *logSpec + "'");
        return start;
    }
    start.args = std::move(*args);
    return start;
}

Expected<unsigned long> parseNumber(const std::string& option, const std::string& text,
                                    unsigned long min, unsigned long max) {
    unsigned long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < min ||
        value > max)
        return makeError("--" + option + ": expected a number from " + std::to_string(min) +
                         " to " + std::to_string(max) + ", got '" + text + "'");
    return value;
}

}  // namespace ringgate::cli
