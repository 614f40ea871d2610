# Coverage checks
# Unit-test coverage is the report ingested with scope `unit`, else the one in the default scope.
package readiness.checks

import data.readiness.lib
import rego.v1

coverage_doc := lib.doc_in_scope("coverage", "unit") if {
	lib.doc_in_scope("coverage", "unit")
} else := lib.doc_in_scope("coverage", "default")

result("coverage.line", lane) := coverage_verdict(coverage_doc, lib.threshold(lane, "coverage_line_min")) if {
	coverage_doc
} else := lib.missing("coverage")

coverage_verdict(d, minimum) := lib.pass(
	sprintf("line coverage %s%% is above the %v%% this lane requires (%d/%d lines)", [lib.two_decimals(d.data.line_percent), minimum, d.data.lines_covered, d.data.lines_total]),
	[d.digest],
) if {
	d.data.line_percent > minimum
} else := lib.fail(
	sprintf("line coverage %s%% is not above the %v%% this lane requires (%d/%d lines)", [lib.two_decimals(d.data.line_percent), minimum, d.data.lines_covered, d.data.lines_total]),
	[d.digest],
)
