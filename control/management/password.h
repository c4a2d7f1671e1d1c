// Passwords of remote management users: salted, deliberately slow hashes in crypt(3) form
// (libxcrypt). `ringgatectl passwd` makes them; the HTTPS listener checks them off the
// control thread (a yescrypt check takes milliseconds of CPU on purpose).
#pragma once

#include <string>

#include "common/expected.h"

namespace ringgate::management {

// A new yescrypt hash of `password` with a fresh random salt ("$y$...").
Expected<std::string> hashPassword(const std::string& password);

// Whether `password` matches `hash` (any method libxcrypt knows); compared in constant time.
bool checkPassword(const std::string& password, const std::string& hash);

// Spends as long as a check against a real hash, for names that are no user's, so that
// timing does not tell which user names exist.
void checkNobody(const std::string& password);

}  // namespace ringgate::management
