#include "control/management/password.h"

#include <crypt.h>

#include <memory>

namespace ringgate::management {

Expected<std::string> hashPassword(const std::string& password) {
    if (password.empty()) return makeError("an empty password is not allowed");
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    // count 0: libxcrypt's default cost; nullptr: salt from the kernel's CSPRNG.
    if (!::crypt_gensalt_rn("$y$", 0, nullptr, 0, setting, sizeof setting))
        return makeError("crypt_gensalt: yescrypt is not available in this libcrypt");
    auto data = std::make_unique<crypt_data>();
    const char* hash = ::crypt_r(password.c_str(), setting, data.get());
    if (!hash || hash[0] == '*') return makeError("crypt: hashing failed");
    return std::string(hash);
}

bool checkPassword(const std::string& password, const std::string& hash) {
    auto data = std::make_unique<crypt_data>();
    const char* computed = ::crypt_r(password.c_str(), hash.c_str(), data.get());
    if (!computed || computed[0] == '*') return false;  // libxcrypt's failure tokens
    std::string_view a(computed), b(hash);
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

void checkNobody(const std::string& password) {
    // A fixed yescrypt hash at the default cost of no real password.
    static const std::string kDecoy = [] {
        auto made = hashPassword("ringgate-decoy");
        return made ? *made : std::string("*");
    }();
    (void)checkPassword(password, kDecoy);
}

}  // namespace ringgate::management
