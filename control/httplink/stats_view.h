// Renders the HTTP path's statistics (http_stats.h) for `ringgatectl http-stats`: one
// model, two views.
#pragma once

#include <string>
#include <vector>

#include "control/httplink/http_stats.h"

namespace ringgate::httplink {

std::string renderStatsText(const std::vector<HttpServiceStats>& services);
std::string renderStatsJson(const std::vector<HttpServiceStats>& services);

}  // namespace ringgate::httplink
