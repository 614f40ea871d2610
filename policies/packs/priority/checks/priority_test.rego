# Tests of the priority pack: its own checks and its levels, with its real configuration.
package readiness.priority_test

import data.readiness.candidate
import data.readiness.checks
import data.readiness.checks_test
import data.readiness.integration
import data.readiness.lanes_test
import data.readiness.lib
import data.readiness.production
import rego.v1

# This pack's own configuration, wherever it was loaded: `readypolicy policy test` stages the pack
# as its bundle (data.readiness.config), `opa test policies/` loads every pack at once, each data
# file at its directory's path (policies/packs/priority/config → data.packs.priority.config). Everything
# below evaluates `with data.readiness.config as config`, so both runs test this pack's values.
config := data.packs.priority.config if {
	is_object(data.packs.priority.config)
} else := data.readiness.config

lane_checks(lane) := ids if {
	ids := lib.lane_checks(lane) with data.readiness.config as config
}

waivable(id, lane) if {
	lib.waivable(id, lane) with data.readiness.config as config
}

record(type, details) := {
	"digest": sprintf("sha256:%s", [crypto.sha256(type)]),
	"scope": type, "format": "readypolicy-operations", "producer": {"tool": "fixture", "version": "1"},
	"collected_at": "2026-11-20T12:00:00Z",
	"data": {"type": type, "result": "passed", "performed_at": "2026-11-18T09:00:00Z", "details": details},
}

sbom := {
	"digest": sprintf("sha256:%s", [crypto.sha256("sbom")]),
	"scope": "cyclonedx", "format": "cyclonedx-json", "producer": {"tool": "fixture", "version": "1"},
	"collected_at": "2026-11-20T12:00:00Z",
	"data": {
		"format": "cyclonedx", "spec_version": "1.6", "components": 57, "has_root_component": true,
		"root_component": {"name": "payments", "version": "4.2.0"}, "licenses": ["Apache-2.0", "MIT"],
		"components_without_license": 0,
	},
}

extra := [
	record("rollback-drill", {"rollback_seconds": 95, "data_loss": false}),
	record("artifact-signing", {"signed": true, "verified": true, "identity": "release@payments"}),
	record("fuzzing", {"duration_hours": 8, "crashes": 0, "targets": 3}),
	record("health-endpoints", {"endpoints": {"health": {"path": "/healthz", "ok": true}, "ready": {"path": "/readyz", "ok": true}}}),
]

ready := json.patch(checks_test.good, [
	{"op": "add", "path": "/evidence/operations", "value": array.concat(checks_test.good.evidence.operations, extra)},
	{"op": "add", "path": "/evidence/sbom", "value": [sbom]},
])

with_details(type, details) := json.patch(ready, [{"op": "add", "path": "/evidence/operations", "value": array.concat(
	[d | some d in ready.evidence.operations; d.scope != type],
	[record(type, details)],
)}])

without_operation(type) := json.patch(ready, [{"op": "add", "path": "/evidence/operations", "value": [d | some d in ready.evidence.operations; d.scope != type]}])

res(id, lane, inp) := r if {
	r := checks.result(id, lane) with input as inp with data.readiness.config as config
}

# Levels

test_levels_accumulate if {
	lanes_test.lanes_accumulate(config)
	every id in lane_checks("candidate") {
		id in lane_checks("production")
	}
}

test_every_check_is_in_the_catalog if {
	every id in lane_checks("production") {
		config.checks[id].title
	}
}

test_ready_input_passes_every_level if {
	decisions := [candidate.decision, integration.decision, production.decision] with input as ready with data.readiness.config as config
	every d in decisions {
		d.allow
		d.summary.pass == count(d.checks)
	}
}

test_p0_does_not_need_p1_evidence if {
	inp := json.patch(ready, [{"op": "remove", "path": "/evidence/sbom"}])
	candidate.decision.allow with input as inp with data.readiness.config as config
	not integration.decision.allow with input as inp with data.readiness.config as config
}

slow_rollback := with_details("rollback-drill", {"rollback_seconds": 900, "data_loss": false})

rollback_waiver(lane) := json.patch(slow_rollback, [{"op": "add", "path": "/waivers", "value": [{
	"check": "rollback.drill", "module": "payments", "lane": lane, "reason": "r",
	"approver": "a", "created": "2026-11-18T00:00:00Z", "expires": "2026-11-24T00:00:00Z",
}]}])

test_rollback_drill_cannot_be_waived_at_p2 if {
	not production.decision.allow with input as rollback_waiver("production") with data.readiness.config as config
	candidate.decision.allow == false with input as rollback_waiver("production") with data.readiness.config as config
	candidate.decision.allow with input as rollback_waiver("candidate") with data.readiness.config as config
}

test_waivability_and_lifetimes_come_from_the_catalog if {
	{id | some id in lane_checks("production"); not waivable(id, "production")} == {"manifest.present", "safety.default_on", "safety.killswitch_drill", "rollback.drill"}
	every id in lane_checks("integration") {
		waivable(id, "integration")
	}
	config.waivers.lifetime_days_max == {"candidate": 30, "integration": 14, "production": 7}
}

# rollback.drill

test_rollback_pass if res("rollback.drill", "candidate", ready).message == "rolled back in 95 s without data loss on 2026-11-18T09:00:00Z"

test_rollback_fail_slow if {
	r := res("rollback.drill", "candidate", with_details("rollback-drill", {"rollback_seconds": 900, "data_loss": false}))
	r.status == "fail"
	r.message == "rollback time (s) is 900; this lane requires at most 300"
}

test_rollback_fail_data_loss if res("rollback.drill", "candidate", with_details("rollback-drill", {"rollback_seconds": 10})).message == "the rollback lost data"

test_rollback_missing if res("rollback.drill", "candidate", without_operation("rollback-drill")).status == "missing"

# supply.signed

test_signed_pass if res("supply.signed", "integration", ready).message == "artifacts signed by release@payments and verified"

test_signed_fail_unverified if {
	r := res("supply.signed", "integration", with_details("artifact-signing", {"signed": true, "verified": false}))
	r.status == "fail"
	r.message == "verified is not shown (false)"
}

test_signed_missing if res("supply.signed", "integration", without_operation("artifact-signing")).status == "missing"

# supply.sbom

test_sbom_pass if res("supply.sbom", "integration", ready).message == "cyclonedx 1.6 SBOM of 57 component(s) for payments"

test_sbom_fail if {
	inp := json.patch(ready, [
		{"op": "add", "path": "/evidence/sbom/0/data/components_without_license", "value": 3},
		{"op": "add", "path": "/evidence/sbom/0/data/has_root_component", "value": false},
		{"op": "add", "path": "/evidence/sbom/0/data/components", "value": 0},
	])
	r := res("supply.sbom", "integration", inp)
	r.status == "fail"
	r.message == "cyclonedx: 3 component(s) without a license; at most 0 allowed; cyclonedx: no root component naming the module; cyclonedx: the SBOM lists no component"
}

test_sbom_missing if res("supply.sbom", "integration", checks_test.good).status == "missing"

# security.fuzzing

test_fuzzing_pass if res("security.fuzzing", "production", ready).message == "fuzzed 3 target(s) for 8 hours without a crash"

test_fuzzing_fail if {
	r := res("security.fuzzing", "production", with_details("fuzzing", {"duration_hours": 1, "crashes": 2}))
	r.status == "fail"
	r.message == "fuzzing time (hours) is 1; this lane requires at least 4; the number of crashes is 2; this lane requires at most 0"
}

test_fuzzing_missing if res("security.fuzzing", "production", without_operation("fuzzing")).status == "missing"

# health.endpoints with this pack's required set (health and ready)

test_health_needs_only_health_and_ready if res("health.endpoints", "candidate", ready).message == "health (/healthz), ready (/readyz) endpoint(s) answer"
