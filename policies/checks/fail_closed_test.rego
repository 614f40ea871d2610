# A check never passes on evidence it cannot read: when a field its failure message needs is
# missing, the check has no result (the assembly reports it as missing), never a pass with an empty
# or borrowed message. Each case removes one field the failing branch reads.
package readiness.checks_test

import data.readiness.lib
import rego.v1

# Whether a check passes; undefined otherwise (a helper: a call under `not` is evaluated outside it).
passes(id, lane, inp) if status(id, lane, inp) == "pass"

# A totals-only coverage report at 10% whose line counts are missing: the failure message cannot
# be built, and the report must not pass on its totals.
test_a_failing_totals_report_without_line_counts_never_passes if {
	inp := patch("coverage", "unit", [
		{"op": "replace", "path": "/line_percent", "value": 10},
		{"op": "remove", "path": "/lines_covered"},
	])
	not passes("coverage.line", "production", inp)
}

test_a_totals_report_without_a_percentage_never_passes if {
	inp := patch("coverage", "unit", [{"op": "remove", "path": "/line_percent"}])
	not passes("coverage.line", "production", inp)
}

# Five failed unit tests in a report without its test count.
test_failed_tests_without_a_test_count_never_pass if {
	inp := patch("tests", "unit", [
		{"op": "replace", "path": "/totals/failed", "value": 5},
		{"op": "remove", "path": "/totals/tests"},
	])
	not passes("tests.unit", "candidate", inp)
}

# A critical finding whose location is missing.
test_a_critical_finding_without_a_line_never_passes if {
	finding := json.remove(object.union(medium_finding, {"severity": "critical", "tool": "semgrep"}), ["line"])
	not passes("security.sast", "candidate", set("sast", "semgrep", "/findings", [finding]))
}

# An input that names no module has nothing to compare the manifest with.
test_an_input_without_a_module_has_no_manifest_pass if {
	status("manifest.present", "candidate", json.remove(good, ["module"])) == "missing"
}

# No pass without a message: lib.verdict gives no result for an empty passing message.
test_no_pass_without_a_message if {
	not lib.verdict(set(), "", [])
	lib.verdict({"x"}, "", []).status == "fail"
}
