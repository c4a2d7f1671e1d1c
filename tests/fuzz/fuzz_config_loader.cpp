// libFuzzer target: any bytes as a configuration file (config/loader.*). A node reads its
// own file, and the file other nodes share on the token (kClusterConfig), so the loader
// is a parser of outside input. Beyond "no crash": a file is either a configuration or a
// list of errors, never both and never neither; every error names a position inside the
// text; loading is deterministic (the same bytes give the same verdict, which is how
// every node of the cluster must judge a shared file).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/log.h"
#include "config/loader.h"

using namespace ringgate::config;

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static bool quiet = [] {
        ringgate::log::setAllLevels(ringgate::log::Level::Error);
        return true;
    }();
    (void)quiet;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    LoadResult first = loadString(text, "fuzz.yaml");
    require(first.config.has_value() == first.errors.empty());
    size_t lines = 1;
    for (char c : text) lines += c == '\n';
    for (const auto& error : first.errors) {
        require(!error.reason.empty());
        require(error.line >= 0 && static_cast<size_t>(error.line) <= lines + 1);
        require(error.file == "fuzz.yaml");
    }
    LoadResult second = loadString(text, "fuzz.yaml");
    require(second.config == first.config);
    require(second.errors.size() == first.errors.size());
    return 0;
}
