# Test-result checks
# A suite passes when at least tests_min of its tests ran and none failed or errored; a lane that
# sets tests_skipped_max also fails a suite that skipped more tests than that (a skip hides a test
# that never ran: at 0, a missing component cannot pass as a skipped test). Expected failures
# (xfail) are counted apart and are not skips, but neither counts towards tests_min: a suite whose
# every test was skipped or expected to fail has shown nothing, so it cannot meet "ran at least 1".
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
} else := {sprintf(
	"%s tests: only %d of %d test(s) ran (%d skipped, %d expected to fail); this lane requires at least %d",
	[scope, ran(t), t.tests, t.skipped, t.xfailed, lib.threshold(lane, "tests_min")],
)} if {
	ran(t) < lib.threshold(lane, "tests_min")
} else := {sprintf("%s tests: %d skipped, at most %d allowed in this lane", [scope, t.skipped, lib.threshold(lane, "tests_skipped_max")])} if {
	too_many_skipped(lane, t)
} else := set() if {
	# Clean only when every count the problems read is there and clean: a report whose failure
	# message cannot be built (a count missing) has no result, never a pass.
	t.failed + t.errors == 0
	ran(t) >= lib.threshold(lane, "tests_min")
	not too_many_skipped(lane, t)
}

# The tests that ran to an outcome: passed, failed, errored or passed unexpectedly (xpassed).
# Summed from the outcomes, never taken as `tests` minus what did not run: `tests` also counts
# skipped and expected-to-fail cases, and a document whose `tests` exceeds its outcomes must not
# make up the difference with tests that never ran.
ran(t) := ((t.passed + t.failed) + t.errors) + t.xpassed

# A helper, not an inline `not`: OPA evaluates a function call under `not` outside the negation,
# so an unset tests_skipped_max would make the inline form undefined instead of true.
too_many_skipped(lane, t) if t.skipped > lib.threshold(lane, "tests_skipped_max")

# METADATA
# title: Unit tests pass
# description: >-
#   The JUnit report ingested with scope unit ran at least the lane's tests_min tests
#   (skipped and expected-to-fail tests do not count), none failed or errored, and no more were
#   skipped than the lane's tests_skipped_max (where set).
# custom:
#   id: tests.unit
#   severity: high
#   remediation: >-
#     Fix the failing unit tests, then ingest the JUnit report with --scope unit.
result(id, lane) := suite_result("unit", lane) if id == "tests.unit"

# METADATA
# title: Integration smoke tests pass
# description: >-
#   The JUnit report ingested with scope smoke ran at least the lane's tests_min tests
#   (skipped and expected-to-fail tests do not count), none failed or errored, and no more were
#   skipped than the lane's tests_skipped_max (where set).
# custom:
#   id: tests.smoke
#   severity: high
#   remediation: >-
#     Run the smoke suite and ingest its JUnit report with --scope smoke.
result(id, lane) := suite_result("smoke", lane) if id == "tests.smoke"

# METADATA
# title: Full integration suite passes
# description: >-
#   The JUnit report ingested with scope integration ran at least the lane's tests_min tests
#   (skipped and expected-to-fail tests do not count), none failed or errored, and no more were
#   skipped than the lane's tests_skipped_max (where set).
# custom:
#   id: tests.integration
#   severity: high
#   remediation: >-
#     Run the full integration suite and ingest its JUnit report with --scope integration.
result(id, lane) := suite_result("integration", lane) if id == "tests.integration"
