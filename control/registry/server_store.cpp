#include "control/registry/server_store.h"

#include <random>

namespace ringgate::registry {

PickSource randomPickSource() {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine] { return (*engine)(); };
}

}  // namespace ringgate::registry
