# Security scan checks
# Static analysis must come from every scanner the lane names (bandit and semgrep), with no
# finding above the lane's severity ceiling, no scan errors and no report that says it read no
# file (a scan of nothing is not a clean scan). A dependency audit is strict:
# a skipped package is an unaudited package, not a clean one.
# A check's `result` is one line, its body only the id equality OPA indexes, calling a rule or
#   function named after the check; never an else under it (see lib.lane_decision).
package readiness.checks

import data.readiness.lib
import rego.v1

# Findings above the lane's allowed severity, from every SAST report (bandit, semgrep, SARIF).
# (The ceiling's rank is taken once, not once per finding.)
sast_blocking(lane) := [f |
	ceiling := lib.severity_rank(lib.threshold(lane, "sast_severity_max"))
	some d in lib.docs("sast")
	some f in d.data.findings
	lib.scales.severity[f.severity] > ceiling
]

sast_errors := sum([d.data.scan_errors | some d in lib.docs("sast")])

# Which scanner ran is read from what the report says, never from the scope it was uploaded under:
# data.tool is set by the normalizer from the report's content (bandit, semgrep, or the SARIF
# runs' driver names, slugged and joined with "+"), so a bandit report uploaded as `--scope
# semgrep` is still only a bandit report.
sast_tool_ran(tool) if {
	some d in lib.docs("sast")
	some name in split(d.data.tool, "+")
	lower(name) == lower(tool)
}

# Reports that say their scanner read nothing: a wrong folder, a moved source layout or an ignore
# file that excludes everything makes a real tool exit 0 with no finding; so does a folder left
# with an empty __init__.py (bandit: one file, no line of code). A report that does not say how
# much it read (SARIF without analysis targets, a document stored before files_scanned existed)
# is judged as before, and the passing message says its count is unknown.
sast_unscanned contains sprintf("%s read no file", [d.data.tool]) if {
	some d in lib.docs("sast")
	sast_read_none(d.data, "files_scanned")
}

sast_unscanned contains sprintf("%s read no line of code", [d.data.tool]) if {
	some d in lib.docs("sast")
	not sast_read_none(d.data, "files_scanned")
	sast_read_none(d.data, "lines_scanned")
}

# Whether a report's count says it read nothing (an absent count says nothing).
sast_read_none(report, field) if {
	is_number(report[field])
	report[field] < 1
}

# "bandit 12" or "bandit unknown": what a report says about the files it read.
sast_files_scanned(d) := sprintf("%s %d", [d.data.tool, d.data.files_scanned]) if {
	is_number(d.data.files_scanned)
} else := sprintf("%s unknown", [d.data.tool])

sast_absent_tools(lane) := [t | some t in lib.threshold(lane, "sast_tools_required"); not sast_tool_ran(t)]

# METADATA
# title: "Static analysis (bandit, semgrep) passes"
# description: >-
#   Every scanner the lane requires reported, with no finding above the lane's sast_severity_max,
#   no scan error and no report that read no file.
# custom:
#   id: security.sast
#   severity: high
#   remediation: >-
#     Run bandit and semgrep, fix or justify the findings at or above the lane's severity limit,
#     ingest both reports.
result(id, lane) := security_sast(lane) if id == "security.sast"

security_sast(lane) := lib.verdict(
	sast_problems(lane),
	sprintf("%d report(s) from %s, no finding above %s; files scanned: %s", [
		count(ds), concat(", ", sort({d.data.tool | some d in ds})), lib.threshold(lane, "sast_severity_max"),
		concat(", ", sort({sast_files_scanned(d) | some d in ds})),
	]),
	lib.digests(ds),
) if {
	ds := lib.docs("sast")
	count(ds) > 0
} else := lib.missing("sast")

# One problem at a time, the gravest first: findings, then scan errors, then a scan of no file,
# then a missing scanner.
sast_problems(lane) := {sprintf("%d finding(s) above %s, first: %s %s at %s:%v", [
	count(blocking), lib.threshold(lane, "sast_severity_max"),
	blocking[0].tool, blocking[0].rule, blocking[0].file, blocking[0].line,
])} if {
	blocking := sast_blocking(lane)
	count(blocking) > 0
} else := {sprintf("scanners reported %d scan error(s): unscanned files are not clean files", [sast_errors])} if {
	sast_errors > 0
} else := {sprintf("%s: a scan of nothing is not a clean scan", [concat(", ", sort(sast_unscanned))])} if {
	count(sast_unscanned) > 0
} else := {sprintf("no report from %s, which this lane requires", [concat(", ", absent)])} if {
	absent := sast_absent_tools(lane)
	count(absent) > 0
} else := set() if {
	# Clean only when each problem is positively absent: a finding whose message cannot be built
	# (a field missing) leaves the check without a result, never a pass.
	count(sast_blocking(lane)) == 0
	sast_errors == 0
	count(sast_unscanned) == 0
	count(sast_absent_tools(lane)) == 0
}

dependency_problems(lane) := (dependencies_unaudited | dependencies_skipped(lane)) | dependencies_vulnerable(lane)

dependencies_unaudited contains sprintf("%s audited no package", [d.data.tool]) if {
	some d in lib.docs("dependencies")
	d.data.audited == 0
}

dependencies_skipped(lane) := {sprintf("%s skipped %d package(s) (%s): skipped packages are not audited", [d.data.tool, count(d.data.skipped), names]) |
	some d in lib.docs("dependencies")
	count(d.data.skipped) > lib.threshold(lane, "dependency_skipped_max")
	names := concat(", ", sort([s.name | some s in d.data.skipped]))
}

dependencies_vulnerable(lane) := {sprintf("%s: %s in %s %v is %s, above the %s this lane allows", [d.data.tool, v.id, v.package, v.version, v.severity, ceiling]) |
	ceiling := lib.threshold(lane, "dependency_severity_max")
	rank := lib.severity_rank(ceiling)
	some d in lib.docs("dependencies")
	some v in d.data.vulnerabilities
	lib.scales.severity[v.severity] > rank
}

# METADATA
# title: Dependency audit passes (strict)
# description: >-
#   Every dependency audit audited some package, skipped at most dependency_skipped_max and found no
#   vulnerability above dependency_severity_max.
# custom:
#   id: security.dependencies
#   severity: high
#   remediation: >-
#     Upgrade vulnerable packages to a fixed version and make the auditor check every dependency
#     (none skipped).
result(id, lane) := security_dependencies(lane) if id == "security.dependencies"

security_dependencies(lane) := lib.verdict(
	dependency_problems(lane),
	sprintf("%d package(s) audited by %s, none skipped, no vulnerability above %s", [
		sum([d.data.audited | some d in ds]), concat(", ", sort({d.data.tool | some d in ds})),
		lib.threshold(lane, "dependency_severity_max"),
	]),
	lib.digests(ds),
) if {
	ds := lib.docs("dependencies")
	count(ds) > 0
} else := lib.missing("dependencies")

# Vulnerabilities and findings from every scanner above the lane's ceiling (critical ones by default).
severe(lane) := [sprintf("%s %s", [x.where, x.what]) | some x in severe_items(lib.severity_rank(lib.threshold(lane, "vuln_severity_max")))]

# The distinct items above a ceiling's rank. Each is judged before it is built: most are below.
severe_items(ceiling) := {{"where": v.package, "what": v.id, "severity": v.severity} |
	some d in lib.docs("dependencies")
	some v in d.data.vulnerabilities
	lib.scales.severity[v.severity] > ceiling
} | {{"where": sprintf("%s:%v", [f.file, f.line]), "what": f.rule, "severity": f.severity} |
	some d in lib.docs("sast")
	some f in d.data.findings
	lib.scales.severity[f.severity] > ceiling
}

# METADATA
# title: No critical vulnerabilities
# description: >-
#   No vulnerability or SAST finding above the lane's vuln_severity_max, and no dependency audit
#   that audited nothing.
# custom:
#   id: security.no_critical_vulns
#   severity: critical
#   remediation: >-
#     Fix every critical vulnerability or finding before anything else; these cannot wait for a
#     waiver.
result(id, lane) := security_no_critical_vulns(lane) if id == "security.no_critical_vulns"

security_no_critical_vulns(lane) := lib.missing("dependencies") if {
	count(lib.docs("dependencies")) == 0
} else := lib.verdict(
	no_critical_problems(lane),
	sprintf("no vulnerability or finding above %s in %d report(s); %d package(s) audited by %s", [
		lib.threshold(lane, "vuln_severity_max"), count(lib.docs("dependencies")) + count(lib.docs("sast")),
		sum([d.data.audited | some d in lib.docs("dependencies")]),
		concat(", ", sort({d.data.tool | some d in lib.docs("dependencies")})),
	]),
	lib.digests(array.concat(lib.docs("dependencies"), lib.docs("sast"))),
)

# Severe findings first; only without any, an audit that audited nothing.
no_critical_problems(lane) := {sprintf("%d vulnerability/finding(s) above %s: %s", [count(found), lib.threshold(lane, "vuln_severity_max"), concat(", ", sort(found))])} if {
	found := severe(lane)
	count(found) > 0
} else := {sprintf("%s: a report that audited no package is no evidence of no vulnerability", [concat("; ", sort(dependencies_unaudited))])} if {
	count(dependencies_unaudited) > 0
} else := set() if {
	count(severe(lane)) == 0
	count(dependencies_unaudited) == 0
}
