# Tests of tests_skipped_max: a lane that sets it fails a suite that skipped more tests than it
# allows, a lane without it keeps passing skips, and a manifest cannot loosen it.
package readiness.checks_test

import data.readiness.checks
import rego.v1

# The fixture configuration with the integration lane allowing no skipped test.
no_skips_config := json.patch(config, [{"op": "add", "path": "/lanes/integration/thresholds/tests_skipped_max", "value": 0}])

no_skips(id, lane, inp) := r if {
	r := checks.result(id, lane) with input as inp with data.readiness.config as no_skips_config
}

# `good` whose unit suite skipped 3 of its tests (the same number ran; fewer passed).
three_skipped := patch("tests", "unit", [
	{"op": "add", "path": "/totals/skipped", "value": 3},
	{"op": "add", "path": "/totals/passed", "value": good_unit_totals.passed - 3},
])

good_unit_totals := [d.data.totals | some d in good.evidence.tests; d.scope == "unit"][0]

test_a_skipped_test_fails_the_lane_that_allows_none if {
	r := no_skips("tests.unit", "integration", three_skipped)
	r.status == "fail"
	r.message == "unit tests: 3 skipped, at most 0 allowed in this lane"
}

test_no_skipped_test_passes_the_lane_that_allows_none if no_skips("tests.unit", "integration", good).status == "pass"

test_a_lower_lane_without_the_threshold_still_passes_skips if {
	r := no_skips("tests.unit", "candidate", three_skipped)
	r.status == "pass"
	r.message == sprintf("unit tests: %d passed, 3 skipped, none failed", [good_unit_totals.passed - 3])
}

test_a_manifest_cannot_loosen_the_skip_limit if {
	loosened := json.patch(three_skipped, [{"op": "add", "path": "/manifest/thresholds", "value": {"integration": {"tests_skipped_max": 10}}}])
	no_skips("tests.unit", "integration", loosened).status == "fail"
}

test_failures_are_reported_before_skips if {
	inp := patch("tests", "unit", [{"op": "add", "path": "/totals/skipped", "value": 3}, {"op": "add", "path": "/totals/failed", "value": 1}])
	no_skips("tests.unit", "integration", inp).message == sprintf("unit tests: 1 of %d failed or errored", [good_unit_totals.tests])
}
