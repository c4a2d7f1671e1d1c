// Writing a configuration file in place of the old one, atomically: a node that adopts the
// cluster's configuration (or is pushed one) rewrites its own file so that a restart starts
// from it, and a crash half-way must leave the old file or the new one, never a mix.
#pragma once

#include <string>
#include <string_view>

#include "common/expected.h"

namespace ringgate::config {

// Writes `text` to a temporary file beside `path` (same directory, so same file system),
// flushes it to disk, and renames it over `path`, keeping the old file's mode (0644 when
// there was none). On error the old file is untouched and the temporary file removed.
Expected<void> writeFileAtomically(const std::string& path, std::string_view text);

}  // namespace ringgate::config
