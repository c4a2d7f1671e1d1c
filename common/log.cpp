#include "common/log.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

namespace ringgate::log {

namespace detail {
std::array<std::atomic<int>, static_cast<int>(Category::Count_)> levels;

namespace {
// Same translation unit as `levels`, so it runs after `levels` is constructed.
struct DefaultLevels {
    DefaultLevels() {
        for (auto& l : levels) l.store(static_cast<int>(Level::Info));
    }
} defaultLevels;
}  // namespace
}  // namespace detail

namespace {
constexpr std::array<std::string_view, static_cast<int>(Category::Count_)> kCategoryNames = {
    "main", "config", "cluster", "messaging", "vip", "dataplane", "registry", "buddy",
    "management", "http", "flows", "monitor"};
constexpr std::array<std::string_view, 4> kLevelNames = {"error", "warn", "info", "debug"};

std::mutex identityMutex;
std::string identity;

// sd-daemon(3) priority prefixes, so that `journalctl -p warning` finds our warnings.
constexpr std::array<std::string_view, 4> kJournalPrefixes = {"<3>", "<4>", "<6>", "<7>"};
std::atomic<int> journalPrefixes{-1};  // -1: not looked at yet
}  // namespace

bool detectJournal() {
    // systemd sets JOURNAL_STREAM=DEVICE:INODE of the stream it connected to stderr; a
    // redirected stderr no longer matches, and then the prefixes would only be noise.
    bool connected = false;
    if (const char* stream = std::getenv("JOURNAL_STREAM")) {
        struct stat st {};
        unsigned long long device = 0, inode = 0;
        if (std::sscanf(stream, "%llu:%llu", &device, &inode) == 2 && ::fstat(2, &st) == 0)
            connected = st.st_dev == device && st.st_ino == inode;
    }
    journalPrefixes.store(connected ? 1 : 0);
    return connected;
}

std::string_view categoryName(Category category) {
    return kCategoryNames[static_cast<int>(category)];
}

std::optional<Category> parseCategory(std::string_view name) {
    for (size_t i = 0; i < kCategoryNames.size(); ++i)
        if (kCategoryNames[i] == name) return static_cast<Category>(i);
    return std::nullopt;
}

std::string_view levelName(Level level) { return kLevelNames[static_cast<int>(level)]; }

std::optional<Level> parseLevel(std::string_view name) {
    for (size_t i = 0; i < kLevelNames.size(); ++i)
        if (kLevelNames[i] == name) return static_cast<Level>(i);
    return std::nullopt;
}

void setLevel(Category category, Level level) {
    detail::levels[static_cast<int>(category)].store(static_cast<int>(level));
}

void setAllLevels(Level level) {
    for (auto& l : detail::levels) l.store(static_cast<int>(level));
}

Level level(Category category) {
    return static_cast<Level>(detail::levels[static_cast<int>(category)].load());
}

bool applySpec(std::string_view spec) {
    // Validate the whole spec before changing anything, so a typo changes nothing.
    struct Change { std::optional<Category> category; Level level; };
    std::vector<Change> changes;
    while (!spec.empty()) {
        size_t comma = spec.find(',');
        std::string_view item = spec.substr(0, comma);
        spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
        size_t eq = item.find('=');
        if (eq == std::string_view::npos) {
            auto l = parseLevel(item);
            if (!l) return false;
            changes.push_back({std::nullopt, *l});
        } else {
            auto c = parseCategory(item.substr(0, eq));
            auto l = parseLevel(item.substr(eq + 1));
            if (!c || !l) return false;
            changes.push_back({c, *l});
        }
    }
    for (const auto& change : changes) {
        if (change.category)
            setLevel(*change.category, change.level);
        else
            setAllLevels(change.level);
    }
    return true;
}

void setIdentity(std::string_view id) {
    std::lock_guard lock(identityMutex);
    identity = id;
}

void write(Category category, Level at, const char* format, ...) {
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);

    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);

    if (journalPrefixes.load(std::memory_order_relaxed) < 0) detectJournal();
    const char* priority = journalPrefixes.load(std::memory_order_relaxed) == 1
                               ? kJournalPrefixes[static_cast<int>(at)].data()
                               : "";
    std::lock_guard lock(identityMutex);
    std::fprintf(stderr, "%s%s.%03lld %s%s%s %s: %s\n", priority, stamp, static_cast<long long>(ms % 1000),
                 identity.c_str(), identity.empty() ? "" : " ",
                 std::string(categoryName(category)).c_str(),
                 std::string(levelName(at)).c_str(), message);
}

}  // namespace ringgate::log
