# Tests of the manifest, test-result, coverage, architecture, security and perf checks.
package readiness.checks_test

import rego.v1

# manifest.present

test_manifest_present_pass if status("manifest.present", "candidate", good) == "pass"

test_manifest_present_fail_other_module if {
	r := res("manifest.present", "candidate", manifest_set("/module", "billing"))
	r.status == "fail"
	r.message == "the manifest describes module \"billing\", not \"payments\""
}

test_manifest_present_missing if {
	r := res("manifest.present", "candidate", no_manifest)
	r.status == "missing"
	r.message == "no manifest evidence was ingested for this module revision"
}

# tests.unit / tests.smoke / tests.integration

test_suites_pass if {
	every id in ["tests.unit", "tests.smoke", "tests.integration"] {
		status(id, "integration", good) == "pass"
	}
}

test_unit_tests_fail_on_failures if {
	r := res("tests.unit", "candidate", set("tests", "unit", "/totals/failed", 2))
	r.status == "fail"
	r.message == "unit tests: 2 of 412 failed or errored"
}

test_smoke_tests_fail_on_errors if status("tests.smoke", "candidate", set("tests", "smoke", "/totals/errors", 1)) == "fail"

test_integration_tests_fail_when_none_ran if {
	r := res("tests.integration", "integration", patch("tests", "integration", [
		{"op": "add", "path": "/totals/tests", "value": 0},
		{"op": "add", "path": "/totals/passed", "value": 0},
	]))
	r.status == "fail"
	r.message == "integration tests: only 0 of 0 test(s) ran (0 skipped, 0 expected to fail); this lane requires at least 1"
}

test_suites_missing if {
	every scope in ["unit", "smoke", "integration"] {
		r := res(concat(".", ["tests", scope]), "integration", drop("tests", scope))
		r.status == "missing"
		r.message == sprintf("no tests (scope %s) evidence was ingested for this module revision", [scope])
	}
}

# coverage.line

test_coverage_pass if {
	r := res("coverage.line", "production", good)
	r.status == "pass"
	r.message == "line coverage 93.50% is above the 90% this lane requires (935/1000 lines)"
}

test_coverage_fail_message if {
	low := patch("coverage", "unit", [
		{"op": "add", "path": "/line_percent", "value": 84.2},
		{"op": "add", "path": "/lines_covered", "value": 842},
	])
	r := res("coverage.line", "integration", low)
	r.status == "fail"
	r.message == "line coverage 84.20% is not above the 90% this lane requires (842/1000 lines)"
	status("coverage.line", "candidate", low) == "pass"
}

test_coverage_is_strictly_above if status("coverage.line", "candidate", set("coverage", "unit", "/line_percent", 70)) == "fail"

test_coverage_default_scope_is_used if {
	inp := json.patch(good, [{"op": "add", "path": "/evidence/coverage/0/scope", "value": "default"}])
	status("coverage.line", "production", inp) == "pass"
}

test_coverage_missing if status("coverage.line", "candidate", drop_kind("coverage")) == "missing"

# architecture.imports

test_architecture_pass if message("architecture.imports", "candidate", good) == "3 import contract(s) kept"

test_architecture_fail_broken if {
	inp := patch("architecture", "default", [
		{"op": "add", "path": "/contracts_broken", "value": 1},
		{"op": "add", "path": "/broken", "value": ["lanes are layered"]},
	])
	message("architecture.imports", "candidate", inp) == "broken contract(s): lanes are layered"
}

test_architecture_fail_no_contracts if {
	r := res("architecture.imports", "candidate", set("architecture", "default", "/contracts_kept", 0))
	r.status == "fail"
	r.message == "0 import contract(s) checked; at least 1 required"
}

test_architecture_missing if status("architecture.imports", "candidate", drop_kind("architecture")) == "missing"

# security.sast

medium_finding := {"rule": "B608", "severity": "medium", "confidence": "high", "file": "pay/db.py", "line": 12, "tool": "bandit", "message": "sql"}

test_sast_pass if message("security.sast", "candidate", good) == "2 report(s) from bandit, semgrep, no finding above medium; files scanned: bandit unknown, semgrep unknown"

test_sast_severity_ceiling_tightens_by_lane if {
	inp := set("sast", "bandit", "/findings", [medium_finding])
	status("security.sast", "candidate", inp) == "pass"
	message("security.sast", "integration", inp) == "1 finding(s) above low, first: bandit B608 at pay/db.py:12"
}

test_sast_fail_on_scan_errors if {
	message("security.sast", "candidate", set("sast", "semgrep", "/scan_errors", 2)) == "scanners reported 2 scan error(s): unscanned files are not clean files"
}

test_sast_fail_without_semgrep if {
	r := res("security.sast", "candidate", drop("sast", "semgrep"))
	r.status == "fail"
	r.message == "no report from semgrep, which this lane requires"
}

test_sast_tool_found_by_name if {
	inp := json.patch(good, [{"op": "add", "path": "/evidence/sast/1/scope", "value": "sarif"}, {"op": "add", "path": "/evidence/sast/1/format", "value": "sarif"}])
	status("security.sast", "candidate", inp) == "pass"
}

test_sast_one_sarif_with_both_scanners_counts_for_both if {
	inp := json.patch(drop("sast", "bandit"), [{"op": "add", "path": "/evidence/sast/0/scope", "value": "bandit-semgrep"}, {"op": "add", "path": "/evidence/sast/0/data/tool", "value": "bandit+semgrep"}])
	status("security.sast", "candidate", inp) == "pass"
}

test_sast_scope_does_not_name_the_scanner if {
	bandit_as_semgrep := json.patch(drop("sast", "semgrep"), [{"op": "add", "path": "/evidence/sast/0/scope", "value": "semgrep"}])
	r := res("security.sast", "candidate", bandit_as_semgrep)
	r.status == "fail"
	r.message == "no report from semgrep, which this lane requires"
}

test_sast_missing if status("security.sast", "candidate", drop_kind("sast")) == "missing"

# security.dependencies

vuln(severity) := {"id": "PYSEC-1", "package": "requests", "version": "2.0.0", "severity": severity, "fix_versions": ["2.32.0"], "aliases": []}

test_dependencies_pass if message("security.dependencies", "candidate", good) == "42 package(s) audited by pip-audit, none skipped, no vulnerability above medium"

test_dependencies_fail_on_skipped if {
	inp := set("dependencies", "pip-audit", "/skipped", [{"name": "localpkg", "version": "0.1", "reason": "not on PyPI"}])
	message("security.dependencies", "candidate", inp) == "pip-audit skipped 1 package(s) (localpkg): skipped packages are not audited"
}

test_dependencies_fail_when_nothing_audited if message("security.dependencies", "candidate", set("dependencies", "pip-audit", "/audited", 0)) == "pip-audit audited no package"

test_dependencies_severity_by_lane if {
	high := set("dependencies", "pip-audit", "/vulnerabilities", [vuln("high")])
	message("security.dependencies", "candidate", high) == "pip-audit: PYSEC-1 in requests 2.0.0 is high, above the medium this lane allows"
	medium := set("dependencies", "pip-audit", "/vulnerabilities", [vuln("medium")])
	status("security.dependencies", "candidate", medium) == "pass"
	status("security.dependencies", "integration", medium) == "fail"
}

test_dependencies_missing if status("security.dependencies", "candidate", drop_kind("dependencies")) == "missing"

# security.no_critical_vulns

test_no_critical_pass if message("security.no_critical_vulns", "candidate", good) == "no vulnerability or finding above high in 3 report(s); 42 package(s) audited by pip-audit"

test_no_critical_fails_when_nothing_audited if {
	r := res("security.no_critical_vulns", "candidate", set("dependencies", "pip-audit", "/audited", 0))
	r.status == "fail"
	r.message == "pip-audit audited no package: a report that audited no package is no evidence of no vulnerability"
}

test_no_critical_fail_on_dependency if {
	r := res("security.no_critical_vulns", "candidate", set("dependencies", "pip-audit", "/vulnerabilities", [vuln("critical")]))
	r.status == "fail"
	r.message == "1 vulnerability/finding(s) above high: requests PYSEC-1"
}

test_no_critical_fail_on_sast_finding if {
	inp := set("sast", "semgrep", "/findings", [object.union(medium_finding, {"severity": "critical", "tool": "semgrep"})])
	message("security.no_critical_vulns", "candidate", inp) == "1 vulnerability/finding(s) above high: pay/db.py:12 B608"
}

test_no_critical_high_is_not_critical if status("security.no_critical_vulns", "candidate", set("dependencies", "pip-audit", "/vulnerabilities", [vuln("high")])) == "pass"

test_no_critical_missing if status("security.no_critical_vulns", "candidate", drop_kind("dependencies")) == "missing"

# perf.baseline

test_perf_baseline_pass if {
	message("perf.baseline", "candidate", good) == "decide p50 20.1 ms / p95 41.8 ms / p99 48.0 ms, p95 CI95 [40.2 ms, 43.5 ms]; tick p50 12.3 ms / p95 87.4 ms / p99 134 ms, p95 CI95 [85.1 ms, 89.7 ms]"
}

test_perf_baseline_fail_without_ci if {
	r := res("perf.baseline", "candidate", set("perf", "default", "/metrics/tick/ci95", null))
	r.status == "fail"
	r.message == "metric(s) without a CI95 of p95: tick"
}

test_perf_baseline_missing if status("perf.baseline", "candidate", drop_kind("perf")) == "missing"

# perf.slo

test_perf_slo_pass if message("perf.slo", "integration", good) == "decide p95 CI95 upper 43.5 ms <= 50.0 ms (manifest budget); tick p95 CI95 upper 89.7 ms <= 100 ms (manifest budget)"

test_perf_slo_judged_on_ci_upper_bound if {
	# p95 itself (87.4) is within 88, its CI95 upper bound (89.7) is not
	r := res("perf.slo", "integration", manifest_set("/slo/tick_p95_ms", 88))
	r.status == "fail"
	r.message == "tick: p95 CI95 upper bound 89.7 ms exceeds the 88.0 ms budget (manifest budget)"
}

test_perf_slo_fail_without_metric if message("perf.slo", "integration", manifest_set("/slo/reflect_p95_ms", 10)) == "reflect: no perf metric named \"reflect\""

test_perf_slo_fail_without_ci if message("perf.slo", "integration", set("perf", "default", "/metrics/tick/ci95", null)) == "tick: no CI95 to judge p95 on"

test_perf_slo_fail_without_budgets if message("perf.slo", "integration", manifest_set("/slo", {})) == "the manifest declares no <op>_p95_ms SLO budget"

test_perf_slo_slower_report_speaks if {
	slow := object.union(good.evidence.perf[0], {
		"scope": "e2e",
		"digest": "sha256:0000000000000000000000000000000000000000000000000000000000000001",
		"data": {"metrics": {"tick": object.union(good.evidence.perf[0].data.metrics.tick, {"ci95": {"statistic": "p95", "lower_ms": 100, "upper_ms": 120}})}},
	})
	message("perf.slo", "integration", add_doc("perf", slow)) == "tick: p95 CI95 upper bound 120 ms exceeds the 100 ms budget (manifest budget)"
}

test_perf_slo_missing if {
	r := res("perf.slo", "integration", no_manifest)
	r.status == "missing"
	r.message == "no manifest evidence was ingested for this module revision"
	status("perf.slo", "integration", drop_kind("perf")) == "missing"
}
