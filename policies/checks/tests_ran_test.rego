# Tests of tests_min against the tests that ran: a skipped test or an expected failure (xfail)
# never ran to a verdict, so a suite of only those cannot meet "ran at least tests_min tests".
package readiness.checks_test

import rego.v1

# `good` whose unit suite has these totals (every count set, so nothing is left from `good`).
unit_suite(passed, skipped, xfailed, xpassed) := set("tests", "unit", "/totals", {
	"tests": ((passed + skipped) + xfailed) + xpassed,
	"passed": passed, "failed": 0, "errors": 0,
	"skipped": skipped, "xfailed": xfailed, "xpassed": xpassed,
})

test_a_suite_whose_every_test_was_skipped_fails if {
	r := res("tests.unit", "candidate", unit_suite(0, 3, 0, 0))
	r.status == "fail"
	r.message == "unit tests: only 0 of 3 test(s) ran (3 skipped, 0 expected to fail); this lane requires at least 1"
}

test_a_suite_of_only_expected_failures_fails if {
	r := res("tests.unit", "candidate", unit_suite(0, 0, 2, 0))
	r.status == "fail"
	r.message == "unit tests: only 0 of 2 test(s) ran (0 skipped, 2 expected to fail); this lane requires at least 1"
}

test_a_suite_where_enough_ran_passes_beside_skips_and_xfails if {
	r := res("tests.unit", "candidate", unit_suite(1, 2, 2, 0))
	r.status == "pass"
	r.message == "unit tests: 1 passed, 2 skipped, none failed"
}

test_an_unexpected_pass_ran if res("tests.unit", "candidate", unit_suite(0, 0, 0, 1)).status == "pass"

# A manifest raising tests_min to 4 counts 3 that ran, not the 6 in `tests`.
test_a_raised_minimum_counts_only_the_tests_that_ran if {
	inp := json.patch(unit_suite(3, 2, 1, 0), [{"op": "add", "path": "/manifest/thresholds", "value": {"candidate": {"tests_min": 4}}}])
	r := res("tests.unit", "candidate", inp)
	r.status == "fail"
	r.message == "unit tests: only 3 of 6 test(s) ran (2 skipped, 1 expected to fail); this lane requires at least 4"
}

# A document whose `tests` claims more cases than its outcomes account for: the claim does not run them.
test_a_tests_count_above_the_outcomes_does_not_count_as_run if {
	r := res("tests.unit", "candidate", set("tests", "unit", "/totals", {
		"tests": 412, "passed": 0, "failed": 0, "errors": 0, "skipped": 0, "xfailed": 0, "xpassed": 0,
	}))
	r.status == "fail"
	r.message == "unit tests: only 0 of 412 test(s) ran (0 skipped, 0 expected to fail); this lane requires at least 1"
}
