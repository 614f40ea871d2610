# Checks of the priority pack: safe rollback, signed artifacts, SBOM and fuzzing.
# A check's `result` is one line, its body only the id equality OPA indexes, calling a rule or
#   function named after the check; never an else under it (see lib.lane_decision).
package readiness.checks

import data.readiness.lib
import rego.v1

# rollback-drill {rollback_seconds, data_loss: bool}: a release was rolled back without losing data.
# METADATA
# title: "P0: safe rollback drilled"
# description: >-
#   A recent, passed rollback drill rolled a release back within rollback_seconds_max without losing
#   data.
# custom:
#   id: rollback.drill
#   severity: critical
#   remediation: >-
#     Roll a release back in a drill, check nothing was lost, and ingest a RollbackDrill record.
result(id, lane) := rollback_drill(lane) if id == "rollback.drill"

rollback_drill(lane) := lib.verdict(
	((drill_problems(d, lane) | bounded(d, "rollback_seconds", lane, "rollback_seconds_max", "rollback time (s)")) | {"the rollback lost data" |
		object.get(details(d), "data_loss", true) != false
	}),
	sprintf("rolled back in %v s without data loss on %s", [detail(d, "rollback_seconds"), d.data.performed_at]),
	[d.digest],
) if {
	d := lib.operation("rollback-drill")
} else := lib.missing_operation("rollback-drill")

# artifact-signing {signed: bool, verified: bool, identity}: released policies and artifacts are
# signed and the signature was verified by someone other than the signer's tooling.
# METADATA
# title: "P1: policies and artifacts signed"
# description: >-
#   A passed artifact-signing record shows the released artifacts signed and the signature verified.
# custom:
#   id: supply.signed
#   severity: high
#   remediation: >-
#     Sign the released policy bundle and artifacts, verify the signatures, ingest an
#     ArtifactSigning record.
result(id, _) := supply_signed if id == "supply.signed"

supply_signed := lib.verdict(
	outcome_problems(d) | all_true(d, ["signed", "verified"]),
	sprintf("artifacts signed by %v and verified", [detail(d, "identity")]),
	[d.digest],
) if {
	d := lib.operation("artifact-signing")
} else := lib.missing_operation("artifact-signing")

sbom_docs := lib.docs("sbom")

sbom_problems(lane) := ({sbom_root_problem(s) |
	some s in sbom_docs
	sbom_root_problem(s)
} | {sprintf("%s: %d component(s) without a license; at most %v allowed", [s.scope, s.data.components_without_license, limit]) |
	limit := lib.threshold(lane, "sbom_unlicensed_max")
	some s in sbom_docs
	s.data.components_without_license > limit
}) | {sprintf("%s: the SBOM lists no component", [s.scope]) |
	some s in sbom_docs
	s.data.components == 0
}

sbom_root_problem(s) := sprintf("%s: no root component naming the module", [s.scope]) if {
	not s.data.has_root_component
} else := sprintf("%s: the root component %q does not name the module %q", [s.scope, s.data.root_component.name, input.module]) if {
	package_name(s.data.root_component.name) != package_name(input.module)
}

# Names compare as package indexes compare them (PEP 503): case-insensitive, runs of - _ . alike.
package_name(name) := regex.replace(lower(name), `[-_.]+`, "-")

# METADATA
# title: "P1: SBOM published"
# description: >-
#   Every SBOM lists components, has a root component naming the module, and at most
#   sbom_unlicensed_max components without a licence.
# custom:
#   id: supply.sbom
#   severity: medium
#   remediation: >-
#     Generate a CycloneDX or SPDX SBOM with a root component and licenses, and ingest it.
result(id, lane) := supply_sbom(lane) if id == "supply.sbom"

supply_sbom(lane) := lib.verdict(
	sbom_problems(lane),
	concat("; ", sort([sprintf("%s %s SBOM of %d component(s) for %v", [s.data.format, s.data.spec_version, s.data.components, s.data.root_component.name]) | some s in sbom_docs])),
	lib.digests(sbom_docs),
) if {
	count(sbom_docs) > 0
} else := lib.missing("sbom")

# fuzzing {duration_hours, crashes: int, targets: int}: a fuzzing campaign found no crash.
# METADATA
# title: "P2: fuzzing campaign without crashes"
# description: >-
#   A passed fuzzing campaign ran at least fuzz_hours_min hours with at most fuzz_crashes_max
#   crashes.
# custom:
#   id: security.fuzzing
#   severity: medium
#   remediation: >-
#     Fuzz the parsers and policy inputs long enough, fix every crash, ingest a Fuzzing record.
result(id, lane) := security_fuzzing(lane) if id == "security.fuzzing"

security_fuzzing(lane) := lib.verdict(
	((outcome_problems(d) | bounded(d, "duration_hours", lane, "fuzz_hours_min", "fuzzing time (hours)")) | bounded(d, "crashes", lane, "fuzz_crashes_max", "the number of crashes")),
	sprintf("fuzzed %v target(s) for %v hours without a crash", [detail(d, "targets"), detail(d, "duration_hours")]),
	[d.digest],
) if {
	d := lib.operation("fuzzing")
} else := lib.missing_operation("fuzzing")
