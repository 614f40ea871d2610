# Tests of the telemetry, schema and docs checks.
package readiness.checks_test

import rego.v1

# telemetry.rule_tests

test_rule_tests_pass if message("telemetry.rule_tests", "candidate", good) == "6 rule test(s) pass for 4 alerting and 3 recording rule(s)"

test_rule_tests_fail_on_failures if {
	inp := patch("telemetry", "rule-tests", [{"op": "add", "path": "/passed", "value": false}, {"op": "add", "path": "/failures", "value": ["HighErrorRate"]}])
	r := res("telemetry.rule_tests", "candidate", inp)
	r.status == "fail"
	r.message == "rule tests failed: HighErrorRate"
}

test_rule_tests_fail_when_count_unknown if message("telemetry.rule_tests", "candidate", set("telemetry", "rule-tests", "/tests", null)) == data.readiness.checks.uncounted_rule_tests

test_rule_tests_fail_without_rules if {
	inp := patch("telemetry", "rules", [{"op": "add", "path": "/alerting_rules", "value": 0}, {"op": "add", "path": "/recording_rules", "value": 0}])
	message("telemetry.rule_tests", "candidate", inp) == "the rule files define no alerting or recording rule"
}

test_rule_tests_missing if {
	status("telemetry.rule_tests", "candidate", drop("telemetry", "rule-tests")) == "missing"
	message("telemetry.rule_tests", "candidate", drop("telemetry", "rules")) == "no telemetry (scope rules) evidence was ingested for this module revision"
}

# telemetry.cardinality

test_cardinality_pass if message("telemetry.cardinality", "candidate", good) == "24 series over 4 label(s), every label declared and bounded"

test_cardinality_fail_on_violation if {
	inp := set("telemetry", "exposition", "/violations", [{"metric": "requests_total", "label": "request_id", "value": "8c1f", "reason": "id-label-name"}])
	message("telemetry.cardinality", "candidate", inp) == "requests_total{request_id=\"8c1f\"}: id-label-name"
}

test_cardinality_fail_on_undeclared_label if {
	message("telemetry.cardinality", "candidate", set("telemetry", "exposition", "/label_values/tenant", ["a"])) == "label tenant is not declared in the manifest's telemetry.allowed_labels"
}

test_cardinality_fail_on_undeclared_value if {
	message("telemetry.cardinality", "candidate", set("telemetry", "exposition", "/label_values/status", ["ok", "teapot"])) == "label status has undeclared value(s) teapot"
}

test_cardinality_fail_on_many_values if {
	inp := patch("telemetry", "exposition", [{"op": "add", "path": "/label_cardinality", "value": {"operation": 45}}])
	message("telemetry.cardinality", "candidate", inp) == "label operation has 45 distinct values; at most 20 allowed"
}

test_cardinality_values_unlisted_label_is_any_value if {
	inp := manifest_set("/telemetry/allowed_labels/status", [])
	status("telemetry.cardinality", "candidate", inp) == "pass"
}

test_cardinality_missing if {
	status("telemetry.cardinality", "candidate", no_manifest) == "missing"
	status("telemetry.cardinality", "candidate", drop("telemetry", "exposition")) == "missing"
}

# telemetry.contracts

test_contracts_pass if message("telemetry.contracts", "integration", good) == "3 declared label(s), each with its values enumerated; 6 rule test(s) cover 4 alerting rule(s)"

test_contracts_fail_on_unenumerated_label if {
	r := res("telemetry.contracts", "integration", manifest_set("/telemetry/allowed_labels/status", []))
	r.status == "fail"
	r.message == "declared label status lists no values"
}

test_contracts_fail_on_untested_alerts if message("telemetry.contracts", "integration", set("telemetry", "rule-tests", "/tests", 3)) == "3 rule test(s) for 4 alerting rule(s): every alerting rule needs a test"

test_contracts_fail_without_labels if message("telemetry.contracts", "integration", manifest_set("/telemetry/allowed_labels", {})) == "the manifest declares no telemetry label"

test_contracts_missing if {
	status("telemetry.contracts", "integration", no_manifest) == "missing"
	status("telemetry.contracts", "integration", drop("telemetry", "rules")) == "missing"
	status("telemetry.contracts", "integration", drop("telemetry", "rule-tests")) == "missing"
}

# monitoring.alerting

test_alerting_pass if message("monitoring.alerting", "production", good) == "4 alerting rule(s), each with a runbook, tested by 6 rule test(s)"

test_alerting_fail_without_runbooks if {
	r := res("monitoring.alerting", "production", set("telemetry", "rules", "/alerts_without_runbook", ["Slow", "Down"]))
	r.status == "fail"
	r.message == "alert(s) without a runbook_url: Down, Slow"
}

test_alerting_fail_without_alerts if message("monitoring.alerting", "production", set("telemetry", "rules", "/alerting_rules", 0)) == "0 alerting rule(s); at least 1 required"

test_alerting_missing if {
	status("monitoring.alerting", "production", drop("telemetry", "rules")) == "missing"
	status("monitoring.alerting", "production", drop("telemetry", "rule-tests")) == "missing"
}

# schema.compat / schema.evolution

breaking := patch("schema", "decision", [
	{"op": "add", "path": "/breaking", "value": [{"path": "#/properties/id", "change": "removed-property", "detail": "id was removed"}]},
	{"op": "add", "path": "/breaking_count", "value": 1},
])

test_schema_compat_pass if message("schema.compat", "candidate", good) == "1 schema(s) without breaking drift from their snapshot"

test_schema_compat_fail if {
	r := res("schema.compat", "candidate", breaking)
	r.status == "fail"
	r.message == "decision: 1 breaking change(s): removed-property at #/properties/id (id was removed)"
}

test_schema_compat_missing if status("schema.compat", "candidate", drop_kind("schema")) == "missing"

test_schema_evolution_pass if message("schema.evolution", "integration", good) == "1 schema(s) match their golden snapshot"

test_schema_evolution_fail_on_unrecorded_change if {
	inp := set("schema", "decision", "/compatible", [{"path": "#/properties/note", "change": "new-optional", "detail": "note added"}])
	message("schema.evolution", "integration", inp) == "decision: 1 change(s) not yet recorded in the snapshot (#/properties/note); at most 0 allowed"
}

test_schema_evolution_fail_without_snapshot if message("schema.evolution", "integration", set("schema", "decision", "/snapshot_digest", null)) == "decision: no golden snapshot to compare with"

test_schema_evolution_missing if status("schema.evolution", "integration", drop_kind("schema")) == "missing"

# docs.present

test_docs_pass if message("docs.present", "candidate", good) == "flags: docs/flags.md (512 bytes); public_api: docs/api.md (2048 bytes); runbook: docs/runbook.md (4096 bytes)"

test_docs_paths_match_below_a_prefix if {
	inp := manifest_set("/docs", {"public_api": "api.md", "flags": "flags.md", "runbook": "runbook.md"})
	status("docs.present", "candidate", inp) == "pass"
	nested := json.patch(
		set("docs", "default", "/files", [
			{"path": "site/docs/api.md", "bytes": 1, "sha256": "a"},
			{"path": "site/docs/flags.md", "bytes": 1, "sha256": "b"},
			{"path": "site/docs/runbook.md", "bytes": 1, "sha256": "c"},
		]),
		[{"op": "add", "path": "/manifest/docs/runbook", "value": "runbook.md"}],
	)
	status("docs.present", "candidate", nested) == "pass"
}

test_docs_fail_undeclared if {
	r := res("docs.present", "candidate", json.patch(good, [{"op": "remove", "path": "/manifest/docs/runbook"}]))
	r.status == "fail"
	r.message == "the manifest names no runbook document"
}

test_docs_fail_absent_file if message("docs.present", "candidate", manifest_set("/docs/flags", "docs/options.md")) == "flags document docs/options.md is not in the docs evidence"

test_docs_fail_empty_file if message("docs.present", "candidate", set("docs", "default", "/files/0/bytes", 0)) == "public_api document docs/api.md is empty"

test_docs_missing if {
	status("docs.present", "candidate", no_manifest) == "missing"
	status("docs.present", "candidate", drop_kind("docs")) == "missing"
}
