# Test-result checks
# A suite passes when it ran at least tests_min tests and none failed or errored; a lane that sets
# tests_skipped_max also fails a suite that skipped more tests than that (a skip hides a test that
# never ran: at 0, a missing component cannot pass as a skipped test). Expected failures (xfail)
# are counted apart and are not skips.
package readiness.checks

import data.readiness.lib
import rego.v1

suite_result(scope, lane) := suite_verdict(scope, lane, d.data.totals, [d.digest]) if {
	d := lib.doc_in_scope("tests", scope)
} else := lib.missing(sprintf("tests (scope %s)", [scope]))

suite_verdict(scope, lane, t, ev) := lib.verdict(
	suite_problems(scope, lane, t),
	sprintf("%s tests: %d passed, %d skipped, none failed", [scope, t.passed, t.skipped]),
	ev,
)

# One problem, the first that holds: failures, then too few tests, then too many skipped.
suite_problems(scope, lane, t) := {sprintf("%s tests: %d of %d failed or errored", [scope, t.failed + t.errors, t.tests])} if {
	t.failed + t.errors > 0
} else := {sprintf("%s tests: only %d tests ran, at least %d required", [scope, t.tests, lib.threshold(lane, "tests_min")])} if {
	t.tests < lib.threshold(lane, "tests_min")
} else := {sprintf("%s tests: %d skipped, at most %d allowed in this lane", [scope, t.skipped, lib.threshold(lane, "tests_skipped_max")])} if {
	too_many_skipped(lane, t)
} else := set() if {
	# Clean only when every count the problems read is there and clean: a report whose failure
	# message cannot be built (a count missing) has no result, never a pass.
	t.failed + t.errors == 0
	t.tests >= lib.threshold(lane, "tests_min")
	not too_many_skipped(lane, t)
}

# A helper, not an inline `not`: OPA evaluates a function call under `not` outside the negation,
# so an unset tests_skipped_max would make the inline form undefined instead of true.
too_many_skipped(lane, t) if t.skipped > lib.threshold(lane, "tests_skipped_max")

# METADATA
# title: Unit tests pass
# description: >-
#   The JUnit report ingested with scope unit ran at least the lane's tests_min tests, none
#   failed or errored, and no more were skipped than the lane's tests_skipped_max (where set).
# custom:
#   id: tests.unit
#   severity: high
#   remediation: >-
#     Fix the failing unit tests, then ingest the JUnit report with --scope unit.
result(id, lane) := suite_result("unit", lane) if id == "tests.unit"

# METADATA
# title: Integration smoke tests pass
# description: >-
#   The JUnit report ingested with scope smoke ran at least the lane's tests_min tests, none
#   failed or errored, and no more were skipped than the lane's tests_skipped_max (where set).
# custom:
#   id: tests.smoke
#   severity: high
#   remediation: >-
#     Run the smoke suite and ingest its JUnit report with --scope smoke.
result(id, lane) := suite_result("smoke", lane) if id == "tests.smoke"

# METADATA
# title: Full integration suite passes
# description: >-
#   The JUnit report ingested with scope integration ran at least the lane's tests_min tests,
#   none failed or errored, and no more were skipped than the lane's tests_skipped_max (where set).
# custom:
#   id: tests.integration
#   severity: high
#   remediation: >-
#     Run the full integration suite and ingest its JUnit report with --scope integration.
result(id, lane) := suite_result("integration", lane) if id == "tests.integration"
