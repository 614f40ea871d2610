# Security scan checks
package readiness.checks

import data.readiness.lib
import rego.v1

rank(severity) := lib.config.severity_rank[severity]

# Findings above the lane's allowed severity, from every SAST report (bandit, semgrep, SARIF).
sast_blocking(lane) := [f |
	some d in lib.docs("sast")
	some f in d.data.findings
	rank(f.severity) > rank(lib.threshold(lane, "sast_max_severity"))
]

sast_errors := sum([d.data.scan_errors | some d in lib.docs("sast")])

result("security.sast", lane) := r if {
	ds := lib.docs("sast")
	count(ds) > 0
	r := sast_verdict(lane, ds)
} else := lib.missing("sast")

sast_verdict(lane, ds) := lib.fail(
	sprintf("%d finding(s) above %s, first: %s %s at %s:%v", [
		count(blocking), lib.threshold(lane, "sast_max_severity"),
		blocking[0].tool, blocking[0].rule, blocking[0].file, blocking[0].line,
	]),
	lib.digests(ds),
) if {
	blocking := sast_blocking(lane)
	count(blocking) > 0
} else := lib.fail(
	sprintf("scanners reported %d scan error(s): unscanned files are not clean files", [sast_errors]),
	lib.digests(ds),
) if {
	sast_errors > 0
} else := lib.pass(
	sprintf("%d report(s) from %s, no finding above %s", [count(ds), concat(", ", sort({d.data.tool | some d in ds})), lib.threshold(lane, "sast_max_severity")]),
	lib.digests(ds),
)
