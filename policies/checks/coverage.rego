# Coverage checks
package readiness.checks

import data.readiness.lib
import rego.v1

result("coverage.line", lane) := r if {
	some d in lib.docs("coverage")
	d.scope in {"default", "unit"}
	minimum := lib.threshold(lane, "coverage_line_min")
	pct := d.data.line_percent
	r := coverage_verdict(pct, minimum, d)
} else := lib.missing("coverage")

coverage_verdict(pct, minimum, d) := lib.pass(
	sprintf("line coverage %.2f%% > %v%% (%d/%d lines)", [pct, minimum, d.data.lines_covered, d.data.lines_total]),
	[d.digest],
) if {
	pct > minimum
} else := lib.fail(
	sprintf("line coverage %.2f%% is not above the %v%% this lane requires (%d/%d lines)", [pct, minimum, d.data.lines_covered, d.data.lines_total]),
	[d.digest],
)
