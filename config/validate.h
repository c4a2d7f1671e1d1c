// Cross-field rules of a configuration: the checks no single field can make alone.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace ringgate::config {

void validate(const Config& config, Diagnostics& diag);

}  // namespace ringgate::config
