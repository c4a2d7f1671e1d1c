// The web console's files (control/management/console/), compiled into ringgated by
// embed_assets.py at build time: the listener serves them with no path to configure and
// nothing fetched from elsewhere at run time.
#pragma once

#include <vector>

#include "control/management/remote_api.h"

namespace ringgate::management {

std::vector<Asset> consoleAssets();

}  // namespace ringgate::management
