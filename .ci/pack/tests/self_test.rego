# Tests of readypolicy's own pack (.ci/pack) with its real configuration: the CI gates in candidate,
# then the import contracts and a suite without skips in integration.
package readiness.self_test

import data.readiness.candidate
import data.readiness.checks
import data.readiness.checks_test
import data.readiness.integration
import data.readiness.lanes_test
import data.readiness.lib
import rego.v1

# `readypolicy policy test --pack .ci/pack` stages this pack as its bundle: its config is data.readiness.config.
config := data.readiness.config

# The fixture's ready input plus the ruff report this pack requires beside bandit and semgrep.
ruff := json.patch(checks_test.good.evidence.sast[0], [
	{"op": "add", "path": "/digest", "value": sprintf("sha256:%s", [crypto.sha256("ruff")])},
	{"op": "add", "path": "/data/tool", "value": "ruff"},
	{"op": "add", "path": "/data/findings", "value": []},
])

ready := json.patch(checks_test.good, [{"op": "add", "path": "/evidence/sast/-", "value": ruff}])

unit_totals(inp, totals) := json.patch(inp, [{"op": "add", "path": "/evidence/tests", "value": [t |
	some d in inp.evidence.tests
	t := patched_totals(d, totals)
]}])

patched_totals(d, totals) := json.patch(d, [{"op": "add", "path": "/data/totals", "value": object.union(d.data.totals, totals)}]) if {
	d.scope == "unit"
} else := d

architecture(kept, broken) := json.patch(ready, [{"op": "add", "path": "/evidence/architecture/0/data", "value": {
	"tool": "import-linter", "contracts_kept": count(kept), "contracts_broken": count(broken), "kept": kept, "broken": broken,
}}])

decide(lane, inp) := d if {
	some d in [candidate.decision, integration.decision] with input as inp with data.readiness.config as config
	d.lane == lane
}

failing(d) := {c.id | some c in d.checks; c.status != "pass"}

test_levels_accumulate if {
	lanes_test.lanes_accumulate(config)
	config.lane_order == ["candidate", "integration"]
	ids := lib.lane_checks("integration") with data.readiness.config as config
	ids == ["manifest.present", "tests.unit", "coverage.line", "security.sast", "architecture.imports"]
}

test_ready_input_passes_both_lanes if {
	every lane in ["candidate", "integration"] {
		d := decide(lane, ready)
		d.allow
		d.summary.pass == count(d.checks)
	}
}

test_a_skipped_test_blocks_integration_only if {
	inp := unit_totals(ready, {"skipped": 1, "passed": 411})
	decide("candidate", inp).allow
	d := decide("integration", inp)
	not d.allow
	failing(d) == {"tests.unit"}
	[c.message | some c in d.checks; c.id == "tests.unit"] == ["unit tests: 1 skipped, at most 0 allowed in this lane"]
}

test_an_expected_failure_is_not_a_skip if decide("integration", unit_totals(ready, {"xfailed": 2})).allow

# A suite that ran nothing (every test skipped, or every test expected to fail) meets tests_min in
# no lane, and in integration says so before counting the skips.
test_a_suite_that_ran_nothing_blocks_both_lanes if {
	every totals in [{"passed": 0, "skipped": 412}, {"passed": 0, "xfailed": 412}] {
		every lane in ["candidate", "integration"] {
			failing(decide(lane, unit_totals(ready, totals))) == {"tests.unit"}
		}
	}
	d := decide("integration", unit_totals(ready, {"passed": 0, "skipped": 412}))
	[c.message | some c in d.checks; c.id == "tests.unit"] == ["unit tests: only 0 of 412 test(s) ran (412 skipped, 0 expected to fail); this lane requires at least 1"]
}

test_ruff_is_required_beside_bandit_and_semgrep if {
	d := decide("candidate", checks_test.good)
	failing(d) == {"security.sast"}
	[c.message | some c in d.checks; c.id == "security.sast"] == ["no report from ruff, which this lane requires"]
}

test_fewer_than_three_contracts_block_integration if {
	d := decide("integration", architecture(["layers", "cli-on-top"], []))
	failing(d) == {"architecture.imports"}
	decide("candidate", architecture(["layers", "cli-on-top"], [])).allow
}

test_a_broken_contract_blocks_integration if {
	d := decide("integration", architecture(["layers", "cli-on-top"], ["policy-layers"]))
	[c.message | some c in d.checks; c.id == "architecture.imports"] == ["broken contract(s): policy-layers"]
}

test_no_import_report_is_missing_evidence if {
	inp := json.patch(ready, [{"op": "remove", "path": "/evidence/architecture"}])
	[c.status | some c in decide("integration", inp).checks; c.id == "architecture.imports"] == ["missing"]
}

test_coverage_must_be_above_80 if {
	r := checks.result("coverage.line", "integration") with input as json.patch(ready, [
		{"op": "add", "path": "/evidence/coverage/0/data/line_percent", "value": 80},
	])
		with data.readiness.config as config
	r.status == "fail"
}
