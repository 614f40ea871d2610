# Test-result checks
# A suite passes when it ran at least tests_min tests and none failed or errored.
package readiness.checks

import data.readiness.lib
import rego.v1

suite_result(scope, lane) := suite_verdict(scope, lane, d.data.totals, [d.digest]) if {
	d := lib.doc_in_scope("tests", scope)
} else := lib.missing(sprintf("tests (scope %s)", [scope]))

suite_verdict(scope, lane, t, ev) := lib.fail(sprintf("%s tests: %d of %d failed or errored", [scope, t.failed + t.errors, t.tests]), ev) if {
	t.failed + t.errors > 0
} else := lib.fail(sprintf("%s tests: only %d tests ran, at least %d required", [scope, t.tests, lib.threshold(lane, "tests_min")]), ev) if {
	t.tests < lib.threshold(lane, "tests_min")
} else := lib.pass(sprintf("%s tests: %d passed, %d skipped, none failed", [scope, t.passed, t.skipped]), ev)

result("tests.unit", lane) := suite_result("unit", lane)

result("tests.smoke", lane) := suite_result("smoke", lane)

result("tests.integration", lane) := suite_result("integration", lane)
