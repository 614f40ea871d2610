# Coverage checks
# Unit-test coverage is the report ingested with scope `unit`, else the one in the default scope.
# A report totals every file it measured, and a bare `coverage run -m pytest` measures the tests
# too, whose lines are nearly all covered: the totals overstate the module. So the check sums the
# per-file counts of the files that are the module's source: those under the manifest's
# `coverage.source` paths (every measured file when it names none), minus its `coverage.omit`
# globs, minus test files, which never count. Documents stored before per-file counts existed
# are judged on their totals, and the message says so.
package readiness.checks

import data.readiness.lib
import rego.v1

coverage_doc := lib.doc_in_scope("coverage", "unit") if {
	lib.doc_in_scope("coverage", "unit")
} else := lib.doc_in_scope("coverage", "default")

# METADATA
# title: Unit-test line coverage
# description: >-
#   Line coverage of the module's own source files (the manifest's coverage.source, minus omit globs
#   and test files) is above the lane's coverage_line_min.
# custom:
#   id: coverage.line
#   severity: high
#   remediation: >-
#     Add tests for uncovered lines; ingest the coverage report (scope unit).
result(id, lane) := coverage_line(lane) if id == "coverage.line"

coverage_line(lane) := coverage_verdict(coverage_doc, lib.threshold(lane, "coverage_line_min")) if {
	coverage_doc
} else := lib.missing("coverage")

# The manifest's `coverage: {source: [...], omit: [...]}`, if any.
default coverage_settings := {}

coverage_settings := object.get(input.manifest, "coverage", {}) if lib.has_manifest

coverage_sources := object.get(coverage_settings, "source", [])

coverage_omits := object.get(coverage_settings, "omit", [])

# Directories holding tests, and file names that are tests, across the usual Python and JS layouts.
coverage_test_dirs := {"test", "tests", "__tests__"}

# The path is split once; the else-chain stops at the first rule that holds (OPA tries every
# sibling clause of a function, but not the rest of an else-chain).
coverage_is_test(path) if {
	parts := split(path, "/")
	coverage_test_parts(parts, parts[count(parts) - 1])
}

coverage_test_parts(parts, name) if {
	some i, part in parts
	i < count(parts) - 1
	part in coverage_test_dirs
} else if {
	startswith(name, "test_")
	endswith(name, ".py")
} else if {
	endswith(name, "_test.py")
} else if {
	name == "conftest.py"
} else if {
	regex.match(`\.(test|spec)\.[cm]?[jt]sx?$`, name)
}

# A source path names a file or a directory; it matches whole path segments anywhere in the
# reported path, so `src/payments` also matches LCOV's absolute `/ci/build/src/payments/x.py`.
coverage_in_source(_) if count(coverage_sources) == 0

coverage_in_source(path) if {
	some source in coverage_sources
	contains(concat("", ["/", path, "/"]), concat("", ["/", source, "/"]))
}

# Omit patterns are globs whose `*` also crosses `/`, as coverage.py's `omit` reads them.
coverage_omitted(path) if {
	some pattern in coverage_omits
	glob.match(pattern, null, path)
}

# An omit pattern OPA cannot parse would silently omit nothing: refuse it instead. (The check is a
# function of its own: a built-in error directly under `not` makes OPA drop the whole body.)
coverage_bad_omits := [n |
	some i, p in coverage_omits
	not coverage_valid_glob(p)
	n := i + 1
]

coverage_valid_glob(pattern) if is_boolean(glob.match(pattern, null, ""))

coverage_counted(d) := [f |
	some f in d.data.per_file
	coverage_in_source(f.path)
	not coverage_is_test(f.path)
	not coverage_omitted(f.path)
]

# Which files counted, for the message: "under src/payments, tests and 1 omit pattern(s) excluded".
coverage_rule_text := concat("", [coverage_under_text, coverage_excluded_text])

coverage_under_text := "" if {
	count(coverage_sources) == 0
} else := sprintf("under %s, ", [concat(", ", coverage_sources)])

coverage_excluded_text := "tests excluded" if {
	count(coverage_omits) == 0
} else := sprintf("tests and %d omit pattern(s) excluded", [count(coverage_omits)])

coverage_verdict(d, minimum) := lib.verdict(
	coverage_problems(d, counted, minimum),
	coverage_summary(d, counted, minimum),
	[d.digest],
) if {
	counted := coverage_counts(d)
}

# What the report can be judged on: its totals (stored before per-file counts existed), nothing
# (omit patterns OPA cannot parse: glob.match would raise, so no file is matched against them), or
# the module's files and lines.
coverage_counts(d) := {"kind": "totals"} if {
	not is_array(object.get(d.data, "per_file", null))
} else := {"kind": "bad omits"} if {
	count(coverage_bad_omits) > 0
} else := {
	"kind": "per file",
	"files": count(files),
	"covered": sum([f.lines_covered | some f in files]),
	"total": sum([f.lines_total | some f in files]),
} if {
	files := coverage_counted(d)
}

# One problem: a report with totals only is judged on them; otherwise unusable omit patterns, then
# no module lines at all, then the module's coverage.
coverage_problems(d, counted, minimum) := {sprintf("line coverage %s%% is not above the %v%% this lane requires (%d/%d lines)", [lib.two_decimals(d.data.line_percent), minimum, d.data.lines_covered, d.data.lines_total])} if {
	counted.kind == "totals"
	not d.data.line_percent > minimum
} else := set() if {
	counted.kind == "totals"
	d.data.line_percent > minimum
} else := {sprintf("coverage.omit entries %v of the manifest are not valid glob patterns", [coverage_bad_omits])} if {
	counted.kind == "bad omits"
} else := {sprintf("none of the %d measured file(s) is module source with lines to cover (%s): the report does not measure the module's code", [count(d.data.per_file), coverage_rule_text])} if {
	counted.total == 0
} else := {coverage_lines_message(d, counted, "is not above", minimum)} if {
	not coverage_percent(counted) > minimum
} else := set() if {
	# Clean only on a measured pass: a report whose failure message cannot be built has no result.
	counted.kind == "per file"
	coverage_percent(counted) > minimum
}

# The passing message; "" for a report that cannot pass (lib.verdict shows it only without a problem).
coverage_summary(d, counted, minimum) := sprintf("line coverage %s%% is above the %v%% this lane requires (%d/%d lines)", [lib.two_decimals(d.data.line_percent), minimum, d.data.lines_covered, d.data.lines_total]) if {
	counted.kind == "totals"
} else := coverage_lines_message(d, counted, "is above", minimum) if {
	counted.total > 0
} else := ""

# Rounded to two decimals before the comparison, as the normalizers round line_percent.
coverage_percent(counted) := round((10000 * counted.covered) / counted.total) / 100

coverage_lines_message(d, counted, verdict, minimum) := sprintf(
	"line coverage %s%% over %d of %d measured file(s) (%s) %s the %v%% this lane requires (%d/%d lines)",
	[
		lib.two_decimals(coverage_percent(counted)), counted.files, count(d.data.per_file),
		coverage_rule_text, verdict, minimum, counted.covered, counted.total,
	],
)
