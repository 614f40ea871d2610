# Architecture checks
# Import contracts (import-linter layers/forbidden/independence) encode "no upward lane
#   dependencies"; every report must keep all of them, and at least one contract must exist.
# A check's `result` is one line, its body only the id equality OPA indexes, calling a rule or
#   function named after the check; never an else under it (see lib.lane_decision).
package readiness.checks

import data.readiness.lib
import rego.v1

architecture_docs := lib.docs("architecture")

# METADATA
# title: Import contracts kept (no upward lane dependencies)
# description: >-
#   Every import-linter report keeps all its contracts, and at least the lane's
#   architecture_contracts_min contracts were checked.
# custom:
#   id: architecture.imports
#   severity: high
#   remediation: >-
#     Run import-linter with the module's contracts, fix the broken imports and ingest its output.
result(id, lane) := architecture_imports(lane) if id == "architecture.imports"

architecture_imports(lane) := lib.verdict(
	{sprintf("broken contract(s): %s", [concat(", ", sort(d.data.broken))]) |
		some d in architecture_docs
		d.data.contracts_broken > 0
	} | {sprintf("%d import contract(s) checked; at least %v required", [kept, minimum]) |
		kept := sum([n | some d in architecture_docs; n := d.data.contracts_kept + d.data.contracts_broken])
		minimum := lib.threshold(lane, "architecture_contracts_min")
		kept < minimum
	},
	sprintf("%d import contract(s) kept", [sum([d.data.contracts_kept | some d in architecture_docs])]),
	lib.digests(architecture_docs),
) if {
	count(architecture_docs) > 0
} else := lib.missing("architecture")
