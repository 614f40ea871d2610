# Tests of coverage.line on per-file counts: tests never count, the manifest's source paths and
# omit globs pick the module's files, and the message says which files counted.
package readiness.checks_test

import rego.v1

# A library at 86.6% of its lines whose tests, measured too, lift the report's totals to 92.3%.
source_and_tests := [
	{"path": "src/payments/api.py", "lines_covered": 366, "lines_total": 400, "branches_covered": null, "branches_total": null},
	{"path": "src/payments/conftest.py", "lines_covered": 40, "lines_total": 40, "branches_covered": null, "branches_total": null},
	{"path": "src/payments/core.py", "lines_covered": 500, "lines_total": 600, "branches_covered": null, "branches_total": null},
	{"path": "tests/test_core.py", "lines_covered": 700, "lines_total": 700, "branches_covered": null, "branches_total": null},
]

with_per_file(files) := patch("coverage", "unit", [
	{"op": "add", "path": "/line_percent", "value": 92.3},
	{"op": "add", "path": "/lines_covered", "value": sum([f.lines_covered | some f in files])},
	{"op": "add", "path": "/lines_total", "value": sum([f.lines_total | some f in files])},
	{"op": "add", "path": "/files", "value": count(files)},
	{"op": "add", "path": "/per_file", "value": files},
])

with_settings(files, settings) := json.patch(with_per_file(files), [{"op": "add", "path": "/manifest/coverage", "value": settings}])

file_of(path, covered, total) := {"path": path, "lines_covered": covered, "lines_total": total, "branches_covered": null, "branches_total": null}

test_coverage_tests_do_not_lift_the_library_over_the_floor if {
	r := res("coverage.line", "production", with_per_file(source_and_tests))
	r.status == "fail"
	r.message == "line coverage 86.60% over 2 of 4 measured file(s) (tests excluded) is not above the 90% this lane requires (866/1000 lines)"
}

# The same report judged on its totals (a document stored before per-file counts) passes: the attack.
test_coverage_totals_alone_would_pass if {
	inp := with_per_file(source_and_tests)
	totals_only := json.patch(inp, [{"op": "remove", "path": "/evidence/coverage/0/data/per_file"}])
	status("coverage.line", "production", totals_only) == "pass"
}

test_coverage_pass_names_the_counted_files if {
	r := res("coverage.line", "candidate", with_per_file(source_and_tests))
	r.status == "pass"
	r.message == "line coverage 86.60% over 2 of 4 measured file(s) (tests excluded) is above the 70% this lane requires (866/1000 lines)"
}

test_coverage_manifest_source_leaves_other_files_out if {
	files := array.concat(source_and_tests, [file_of("scripts/release.py", 0, 500)])
	message("coverage.line", "candidate", with_per_file(files)) == "line coverage 57.73% over 3 of 5 measured file(s) (tests excluded) is not above the 70% this lane requires (866/1500 lines)"
	r := res("coverage.line", "candidate", with_settings(files, {"source": ["src/payments"]}))
	r.message == "line coverage 86.60% over 2 of 5 measured file(s) (under src/payments, tests excluded) is above the 70% this lane requires (866/1000 lines)"
}

test_coverage_source_is_whole_path_segments if {
	files := [
		file_of("/ci/build/src/payments/core.py", 500, 600),
		file_of("/ci/build/src/payments-legacy/old.py", 0, 400),
		file_of("src/paymentsx/y.py", 0, 400),
	]
	message("coverage.line", "candidate", with_settings(files, {"source": ["src/payments"]})) == "line coverage 83.33% over 1 of 3 measured file(s) (under src/payments, tests excluded) is above the 70% this lane requires (500/600 lines)"
}

test_coverage_source_may_name_a_file if {
	settings := {"source": ["src/payments/api.py"]}
	message("coverage.line", "candidate", with_settings(source_and_tests, settings)) == "line coverage 91.50% over 1 of 4 measured file(s) (under src/payments/api.py, tests excluded) is above the 70% this lane requires (366/400 lines)"
}

test_coverage_omit_globs_cross_directories if {
	r := res("coverage.line", "production", with_settings(source_and_tests, {"omit": ["*/api.py"]}))
	r.message == "line coverage 83.33% over 1 of 4 measured file(s) (tests and 1 omit pattern(s) excluded) is not above the 90% this lane requires (500/600 lines)"
}

test_coverage_invalid_omit_glob_fails if {
	r := res("coverage.line", "candidate", with_settings(source_and_tests, {"omit": ["*/x.py", "src/[payments", "{a"]}))
	r.status == "fail"
	r.message == "coverage.omit entries [2, 3] of the manifest are not valid glob patterns"
}

test_coverage_report_without_module_source_fails if {
	only_tests := [f | some f in source_and_tests; startswith(f.path, "tests/")]
	r := res("coverage.line", "candidate", with_per_file(only_tests))
	r.status == "fail"
	r.message == "none of the 1 measured file(s) is module source with lines to cover (tests excluded): the report does not measure the module's code"
}

test_coverage_source_matching_nothing_fails if {
	r := res("coverage.line", "candidate", with_settings(source_and_tests, {"source": ["lib/payments"]}))
	r.status == "fail"
	startswith(r.message, "none of the 4 measured file(s) is module source with lines to cover (under lib/payments, tests excluded)")
}

test_coverage_empty_per_file_fails if status("coverage.line", "candidate", with_per_file([])) == "fail"

test_coverage_test_file_names if {
	tests := [
		"tests/test_a.py", "pkg/tests/helpers.py", "pkg/test/helpers.py", "web/__tests__/app.js", "pkg/test_x.py",
		"pkg/x_test.py", "pkg/conftest.py", "web/app.spec.ts", "web/app.test.jsx", "web/app.test.mjs",
	]
	sources := ["pkg/testing.py", "pkg/contest.py", "latest/x.py", "pkg/test_data.json", "tests", "pkg/attest.py", "web/spec.ts"]
	every path in tests {
		data.readiness.checks.coverage_is_test(path)
	}
	every path in sources {
		not data.readiness.checks.coverage_is_test(path)
	}
}

test_coverage_without_manifest_excludes_tests if {
	inp := object.union(with_per_file(source_and_tests), {"manifest": null})
	startswith(message("coverage.line", "candidate", inp), "line coverage 86.60% over 2 of 4 measured file(s) (tests excluded)")
}
