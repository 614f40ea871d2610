# Telemetry checks
# Evidence comes in three scopes: rule-tests (promtool test results), rules (the alert and
#   recording rule files) and exposition (a /metrics scrape). Label values must stay bounded:
#   the exposition normalizer flags id-like names and values; the policy adds the manifest's
#   declared label sets and a ceiling on distinct values per label.
# A check's `result` is one line, its body only the id equality OPA indexes, calling a rule or
#   function named after the check; never an else under it (see lib.lane_decision).
package readiness.checks

import data.readiness.lib
import rego.v1

telemetry(source) := lib.doc_in_scope("telemetry", source)

declared_labels := object.get(object.get(object.get(input, "manifest", {}), "telemetry", {}), "allowed_labels", {})

# Labels Prometheus itself adds (histogram buckets, summary quantiles, scrape target).
builtin_labels := {l | some l in lib.config.telemetry.builtin_labels}

# METADATA
# title: Alert and recording rules have passing tests
# description: >-
#   promtool rule tests passed, at least telemetry_rule_tests_min of them, over rule files that
#   define rules.
# custom:
#   id: telemetry.rule_tests
#   severity: medium
#   remediation: >-
#     Write promtool rule tests, ingest the rule files (rules) and the test output (rule-tests).
result(id, lane) := telemetry_rule_tests(lane) if id == "telemetry.rule_tests"

telemetry_rule_tests(lane) := lib.missing("telemetry (scope rule-tests)") if {
	not telemetry("rule-tests")
} else := lib.missing("telemetry (scope rules)") if {
	not telemetry("rules")
} else := lib.verdict(
	rule_test_problems(lane),
	sprintf("%d rule test(s) pass for %d alerting and %d recording rule(s)", [t.data.tests, r.data.alerting_rules, r.data.recording_rules]),
	[t.digest, r.digest],
) if {
	t := telemetry("rule-tests")
	r := telemetry("rules")
}

rule_test_problems(lane) := (({sprintf("rule tests failed: %s", [concat(", ", t.data.failures)]) |
	t := telemetry("rule-tests")
	not t.data.passed
} | {sprintf("%v rule test(s) ran; at least %v required", [t.data.tests, minimum]) |
	t := telemetry("rule-tests")
	minimum := lib.threshold(lane, "telemetry_rule_tests_min")
	is_number(t.data.tests)
	not t.data.tests >= minimum
}) | {uncounted_rule_tests |
	not is_number(telemetry("rule-tests").data.tests)
}) | {"the rule files define no alerting or recording rule" |
	r := telemetry("rules")
	r.data.alerting_rules + r.data.recording_rules == 0
}

# promtool's text output has verdicts but no count; its --junit report has both.
uncounted_rule_tests := "the rule-test evidence does not say how many tests ran; ingest promtool's --junit report"

distinct_values(e, label) := n if {
	n := e.data.label_cardinality[label]
} else := count(e.data.label_values[label])

cardinality_problems(lane) := (({sprintf("%s{%s=%q}: %s", [v.metric, v.label, v.value, v.reason]) |
	some v in telemetry("exposition").data.violations
} | {sprintf("label %s has %d distinct values; at most %v allowed", [label, n, limit]) |
	e := telemetry("exposition")
	limit := lib.threshold(lane, "telemetry_label_values_max")
	some label, _ in e.data.label_values
	n := distinct_values(e, label)
	n > limit
}) | {sprintf("label %s is not declared in the manifest's telemetry.allowed_labels", [label]) |
	some label, _ in telemetry("exposition").data.label_values
	not label in builtin_labels
	not declared_labels[label]
}) | {sprintf("label %s has undeclared value(s) %s", [label, concat(", ", sort(extra))]) |
	some label, values in telemetry("exposition").data.label_values
	allowed := declared_labels[label]
	count(allowed) > 0
	extra := {v | some v in values; not v in allowed}
	count(extra) > 0
}

# METADATA
# title: No high-cardinality telemetry labels
# description: >-
#   Every exposed label is declared in the manifest, has only declared values and at most
#   telemetry_label_values_max distinct values.
# custom:
#   id: telemetry.cardinality
#   severity: high
#   remediation: >-
#     Move ids, UUIDs and timestamps to span attributes; declare every metric label and its values
#     in the manifest.
result(id, lane) := telemetry_cardinality(lane) if id == "telemetry.cardinality"

telemetry_cardinality(lane) := lib.missing("manifest") if {
	not lib.has_manifest
} else := lib.missing("telemetry (scope exposition)") if {
	not telemetry("exposition")
} else := lib.verdict(
	cardinality_problems(lane),
	sprintf("%d series over %d label(s), every label declared and bounded", [e.data.series, count(e.data.label_values)]),
	[e.digest],
) if {
	e := telemetry("exposition")
}

# The contract: every label the manifest declares enumerates its values (a label without a
# value list is unbounded by contract), and every alerting rule has at least one rule test.
# METADATA
# title: Telemetry contracts validated
# description: >-
#   Every label the manifest declares enumerates its values, and every alerting rule has a rule
#   test.
# custom:
#   id: telemetry.contracts
#   severity: medium
#   remediation: >-
#     Enumerate every declared label's values in the manifest and give each alerting rule a rule
#     test.
result(id, _) := telemetry_contracts if id == "telemetry.contracts"

telemetry_contracts := lib.missing("manifest") if {
	not lib.has_manifest
} else := lib.missing("telemetry (scope rules)") if {
	not telemetry("rules")
} else := lib.missing("telemetry (scope rule-tests)") if {
	not telemetry("rule-tests")
} else := lib.verdict(
	contract_problems,
	sprintf("%d declared label(s), each with its values enumerated; %v rule test(s) cover %d alerting rule(s)", [count(declared_labels), t.data.tests, r.data.alerting_rules]),
	array.concat(lib.digests(lib.docs("manifest")), [r.digest, t.digest]),
) if {
	r := telemetry("rules")
	t := telemetry("rule-tests")
}

contract_problems := (({sprintf("declared label %s lists no values", [label]) |
	some label, values in declared_labels
	count(values) == 0
} | {sprintf("%v rule test(s) for %d alerting rule(s): every alerting rule needs a test", [t.data.tests, r.data.alerting_rules]) |
	t := telemetry("rule-tests")
	r := telemetry("rules")
	is_number(t.data.tests)
	not t.data.tests >= r.data.alerting_rules
}) | {uncounted_rule_tests |
	not is_number(telemetry("rule-tests").data.tests)
}) | {"the manifest declares no telemetry label" |
	count(declared_labels) == 0
}

# METADATA
# title: 24/7 monitoring with alerts that have runbooks
# description: >-
#   At least the lane's alerting_rules_min alerting rules exist, each with a runbook_url, and the
#   rules are tested.
# custom:
#   id: monitoring.alerting
#   severity: high
#   remediation: >-
#     Give every alerting rule a runbook_url annotation and ingest the rule files and their tests.
result(id, lane) := monitoring_alerting(lane) if id == "monitoring.alerting"

monitoring_alerting(lane) := lib.missing("telemetry (scope rules)") if {
	not telemetry("rules")
} else := lib.missing("telemetry (scope rule-tests)") if {
	not telemetry("rule-tests")
} else := lib.verdict(
	alerting_problems(lane),
	sprintf("%d alerting rule(s), each with a runbook, tested by %v rule test(s)", [r.data.alerting_rules, t.data.tests]),
	[r.digest, t.digest],
) if {
	r := telemetry("rules")
	t := telemetry("rule-tests")
}

alerting_problems(lane) := {sprintf("%d alerting rule(s); at least %v required", [r.data.alerting_rules, minimum]) |
	r := telemetry("rules")
	minimum := lib.threshold(lane, "alerting_rules_min")
	r.data.alerting_rules < minimum
} | {sprintf("alert(s) without a runbook_url: %s", [concat(", ", sort(r.data.alerts_without_runbook))]) |
	r := telemetry("rules")
	count(r.data.alerts_without_runbook) > 0
}
