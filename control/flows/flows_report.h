// What flows across the cluster report to operators (`ringgatectl flows`, /metrics):
// plain data rendered by control/management/render.h.
#pragma once

#include "common/report.h"

namespace ringgate::flows {

struct FlowsReport {
    report::Counts replication;  // the replicator: records, resyncs, adoptions, refusals by reason
    report::Counts fastPath;     // the workers (dataplane kFlowCounterFields, hold drops)
    report::Counts transport;    // the UDP shell
};

}  // namespace ringgate::flows
