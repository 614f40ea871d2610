# Safety-control checks
# The module's safety control (named in the manifest) must be on by default, run in at least the
#   lane's mode (advisory, then strict), and a recent kill-switch drill must show it shutting
#   the module down.
# A check's `result` is one line, its body only the id equality OPA indexes, calling a rule or
#   function named after the check; never an else under it (see lib.lane_decision).
package readiness.checks

import data.readiness.lib
import rego.v1

safety := object.get(input.manifest, "safety", {})

control_name := object.get(safety, "control", "the safety control")

# METADATA
# title: Safety control enabled by default
# description: >-
#   The manifest's safety control is enabled by default (safety.enabled_by_default true).
# custom:
#   id: safety.default_on
#   severity: critical
#   remediation: >-
#     Ship the safety control switched on (manifest safety.enabled_by_default true) and name it in
#     safety.control.
result(id, _) := safety_default_on if id == "safety.default_on"

safety_default_on := lib.missing("manifest") if {
	not lib.has_manifest
} else := lib.verdict(
	{sprintf("%s is not enabled by default (manifest safety.enabled_by_default is %v)", [control_name, object.get(safety, "enabled_by_default", "absent")]) |
		object.get(safety, "enabled_by_default", null) != true
	},
	sprintf("%s is enabled by default", [control_name]),
	lib.digests(lib.docs("manifest")),
)

# METADATA
# title: "Safety control mode (advisory for candidate, strict from integration)"
# description: >-
#   The manifest's safety control runs in at least the lane's safety_mode_min (advisory, then
#   strict).
# custom:
#   id: safety.mode
#   severity: critical
#   remediation: >-
#     Run the safety control in the mode this lane requires and record it in manifest safety.mode.
result(id, lane) := safety_mode(lane) if id == "safety.mode"

safety_mode(lane) := lib.missing("manifest") if {
	not lib.has_manifest
} else := safety_mode_verdict(object.get(safety, "mode", "absent"), lib.threshold(lane, "safety_mode_min"))

# The message states the mode and the lane's floor either way: it is the problem when the mode is
# below the floor (or is no mode at all).
safety_mode_verdict(mode, required) := lib.verdict(
	{message | not lib.scales.safety_mode[mode] >= lib.scales.safety_mode[required]},
	message,
	lib.digests(lib.docs("manifest")),
) if {
	message := sprintf("%s runs in %s mode; this lane requires %s or stricter", [control_name, mode, required])
}

# METADATA
# title: Kill-switch drill evidenced
# description: >-
#   A recent, passed kill-switch drill exercised the safety control the manifest names.
# custom:
#   id: safety.killswitch_drill
#   severity: critical
#   remediation: >-
#     Run a kill-switch drill of the manifest's safety control and ingest a KillSwitchDrill record.
result(id, lane) := safety_killswitch_drill(lane) if id == "safety.killswitch_drill"

safety_killswitch_drill(lane) := lib.verdict(
	killswitch_problems(d, lane),
	sprintf("kill-switch drill of %s passed %s (fail closed in %v ms)", [detail(d, "safety_control"), d.data.performed_at, detail(d, "fail_closed_ms")]),
	[d.digest],
) if {
	d := lib.operation("killswitch-drill")
} else := lib.missing_operation("killswitch-drill")

killswitch_problems(d, lane) := drill_problems(d, lane) | {sprintf(
	"the drill exercised %s but the manifest names %s",
	[detail(d, "safety_control"), safety.control],
) |
	detail(d, "safety_control") != safety.control
}

# What makes any recorded drill unusable: it failed, or it is too old (or undated).
drill_problems(d, lane) := outcome_problems(d) | drill_age_problems(d, lane)

drill_age_problems(d, lane) := {sprintf("the %s was performed %d days ago; this lane accepts %v at most", [d.data.type, floor(age), limit]) |
	age := lib.age_days(d.data.performed_at)
	limit := lib.threshold(lane, "drill_age_days_max")
	age > limit
} if {
	lib.age_days(d.data.performed_at)
} else := {sprintf("the %s has no RFC 3339 performed_at time (%v)", [d.data.type, object.get(d.data, "performed_at", "absent")])}
