# Safety-control checks
# The module's safety control (named in the manifest) must be on by default, run in at least the
#   lane's mode (advisory, then strict), and a recent kill-switch drill must show it shutting
#   the module down.
package readiness.checks

import data.readiness.lib
import rego.v1

safety := object.get(input.manifest, "safety", {})

control_name := object.get(safety, "control", "the safety control")

result("safety.default_on", _) := lib.missing("manifest") if {
	not lib.has_manifest
} else := lib.pass(sprintf("%s is enabled by default", [control_name]), lib.digests(lib.docs("manifest"))) if {
	safety.enabled_by_default == true
} else := lib.fail(
	sprintf("%s is not enabled by default (manifest safety.enabled_by_default is %v)", [control_name, object.get(safety, "enabled_by_default", "absent")]),
	lib.digests(lib.docs("manifest")),
)

result("safety.mode", lane) := lib.missing("manifest") if {
	not lib.has_manifest
} else := safety_mode_verdict(object.get(safety, "mode", "absent"), lib.threshold(lane, "safety_mode_min"))

safety_mode_verdict(mode, required) := lib.pass(
	sprintf("%s runs in %s mode; this lane requires %s or stricter", [control_name, mode, required]),
	lib.digests(lib.docs("manifest")),
) if {
	lib.scales.safety_mode[mode] >= lib.scales.safety_mode[required]
} else := lib.fail(
	sprintf("%s runs in %s mode; this lane requires %s or stricter", [control_name, mode, required]),
	lib.digests(lib.docs("manifest")),
)

result("safety.killswitch_drill", lane) := lib.verdict(
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
