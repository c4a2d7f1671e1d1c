// Logging: categories with levels settable at run time, one line per event on stderr.
// The fast path uses RG_FASTPATH_LOG, which compiles out unless RINGGATE_FASTPATH_DEBUG
// is defined: formatting a line costs more than forwarding a packet.
#pragma once

#include <array>
#include <atomic>
#include <cstdarg>
#include <optional>
#include <string_view>

namespace ringgate::log {

enum class Level : int { Error = 0, Warn = 1, Info = 2, Debug = 3 };

enum class Category : int {
    Main,
    Config,
    Cluster,
    Messaging,
    Vip,
    Dataplane,
    Registry,
    Buddy,
    Management,
    Http,  // the HTTP proxy (control/httplink)
    Flows,
    Monitor,  // local fault monitors (control/monitors)
    Count_,
};

std::string_view categoryName(Category category);
std::optional<Category> parseCategory(std::string_view name);
std::string_view levelName(Level level);
std::optional<Level> parseLevel(std::string_view name);

void setLevel(Category category, Level level);
void setAllLevels(Level level);
Level level(Category category);

// Applies a spec such as "info" or "cluster=debug,vip=warn"; returns false on a bad spec.
bool applySpec(std::string_view spec);

inline bool enabled(Category category, Level at);

// Prefix every line with this process's identity (e.g. "node 3").
void setIdentity(std::string_view identity);
// Whether stderr is systemd's journal stream (JOURNAL_STREAM); then every line starts
// with its syslog priority (<3> error, <4> warn, <6> info, <7> debug). Looked at before
// the first line; call again after redirecting stderr.
bool detectJournal();

void write(Category category, Level at, const char* format, ...) __attribute__((format(printf, 3, 4)));

namespace detail {
extern std::array<std::atomic<int>, static_cast<int>(Category::Count_)> levels;
}

inline bool enabled(Category category, Level at) {
    return static_cast<int>(at) <=
           detail::levels[static_cast<int>(category)].load(std::memory_order_relaxed);
}

}  // namespace ringgate::log

#define RG_LOG(category, lvl, ...)                                                          \
    do {                                                                                     \
        if (::ringgate::log::enabled(::ringgate::log::Category::category,                   \
                                     ::ringgate::log::Level::lvl))                          \
            ::ringgate::log::write(::ringgate::log::Category::category,                     \
                                   ::ringgate::log::Level::lvl, __VA_ARGS__);               \
    } while (0)

#define RG_ERROR(category, ...) RG_LOG(category, Error, __VA_ARGS__)
#define RG_WARN(category, ...) RG_LOG(category, Warn, __VA_ARGS__)
#define RG_INFO(category, ...) RG_LOG(category, Info, __VA_ARGS__)
#define RG_DEBUG(category, ...) RG_LOG(category, Debug, __VA_ARGS__)

#ifdef RINGGATE_FASTPATH_DEBUG
#define RG_FASTPATH_LOG(...) RG_DEBUG(Dataplane, __VA_ARGS__)
#else
#define RG_FASTPATH_LOG(...) do { } while (0)
#endif
