# Lane manifest checks
# A check's `result` is one line, its body only the id equality OPA indexes, calling a rule or
#   function named after the check; never an else under it (see lib.lane_decision).
package readiness.checks

import data.readiness.lib
import rego.v1

# METADATA
# title: Lane manifest present
# description: >-
#   The lane manifest (module.lane.yaml) was ingested and describes this module; one that names
#   another module fails.
# custom:
#   id: manifest.present
#   severity: critical
#   remediation: >-
#     Add module.lane.yaml (module, owner, lanes, slo, telemetry, capacity) and ingest it.
result(id, _) := manifest_present if id == "manifest.present"

manifest_present := lib.verdict(
	{sprintf("the manifest describes module %q, not %q", [m.module, input.module]) | m.module != input.module},
	sprintf("manifest for %s owned by %s, target lane %s", [m.module, m.owner, m.target_lane]),
	lib.digests(lib.docs("manifest")),
) if {
	m := input.manifest
	is_string(m.module)
	is_string(input.module) # an input naming no module has nothing to compare the manifest with
} else := lib.missing("manifest")
