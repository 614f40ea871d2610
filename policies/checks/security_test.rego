# Tests of security.sast's floor: a report that says it read no file is not a clean scan.
package readiness.checks_test

import rego.v1

test_sast_pass_names_the_files_each_scanner_read if {
	message("security.sast", "candidate", set("sast", "bandit", "/files_scanned", 12)) == "2 report(s) from bandit, semgrep, no finding above medium; files scanned: bandit 12, semgrep unknown"
	message("security.sast", "candidate", set("sast", "semgrep", "/files_scanned", 4)) == "2 report(s) from bandit, semgrep, no finding above medium; files scanned: bandit unknown, semgrep 4"
}

test_sast_fails_a_report_that_read_no_file if {
	r := res("security.sast", "candidate", set("sast", "bandit", "/files_scanned", 0))
	r.status == "fail"
	r.message == "bandit read no file: a scan of nothing is not a clean scan"
}

test_sast_names_every_scanner_that_read_no_file if {
	both := object.union(good, {"evidence": object.union(good.evidence, {"sast": [json.patch(d, [{"op": "add", "path": "/data/files_scanned", "value": 0}]) | some d in good.evidence.sast]})})
	message("security.sast", "production", both) == "bandit read no file, semgrep read no file: a scan of nothing is not a clean scan"
}

test_sast_scan_errors_are_named_before_a_scan_of_no_file if {
	inp := patch("sast", "semgrep", [
		{"op": "add", "path": "/files_scanned", "value": 0},
		{"op": "add", "path": "/scan_errors", "value": 1},
	])
	message("security.sast", "candidate", inp) == "scanners reported 1 scan error(s): unscanned files are not clean files"
}

test_sast_a_scan_of_no_file_is_named_before_a_missing_scanner if {
	inp := json.patch(drop("sast", "semgrep"), [{"op": "add", "path": "/evidence/sast/0/data/files_scanned", "value": 0}])
	message("security.sast", "candidate", inp) == "bandit read no file: a scan of nothing is not a clean scan"
}

test_sast_fails_a_report_that_read_only_empty_files if {
	inp := patch("sast", "bandit", [
		{"op": "add", "path": "/files_scanned", "value": 1},
		{"op": "add", "path": "/lines_scanned", "value": 0},
	])
	message("security.sast", "candidate", inp) == "bandit read no line of code: a scan of nothing is not a clean scan"
}

test_sast_a_report_without_files_that_read_lines_is_judged_by_its_lines if {
	message("security.sast", "candidate", set("sast", "bandit", "/lines_scanned", 0)) == "bandit read no line of code: a scan of nothing is not a clean scan"
	status("security.sast", "candidate", set("sast", "bandit", "/lines_scanned", 3)) == "pass"
}

test_sast_a_report_that_read_no_file_is_named_once if {
	inp := patch("sast", "bandit", [
		{"op": "add", "path": "/files_scanned", "value": 0},
		{"op": "add", "path": "/lines_scanned", "value": 0},
	])
	message("security.sast", "candidate", inp) == "bandit read no file: a scan of nothing is not a clean scan"
}
