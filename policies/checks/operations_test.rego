# Tests of the checks on readypolicy operations records.
package readiness.checks_test

import rego.v1

failed_record(type) := set("operations", type, "/result", "failed")

# Every operations check: fails on a failed record, is missing without its record.
operation_checks := {
	"shadow.traffic": "shadow-traffic",
	"load.capacity": "load-test",
	"gdpr.evidence": "gdpr",
	"audit.logging": "audit-logging",
	"dr.drill": "dr-drill",
	"canary.simulation": "canary",
}

test_operations_pass if {
	every id, _ in operation_checks {
		status(id, "production", good) == "pass"
	}
}

test_operations_fail_on_failed_record if {
	every id, type in operation_checks {
		r := res(id, "production", failed_record(type))
		r.status == "fail"
		contains(r.message, sprintf("the %s recorded result failed", [type]))
	}
}

test_operations_missing if {
	every id, type in operation_checks {
		r := res(id, "production", drop("operations", type))
		r.status == "missing"
		r.message == sprintf("no operations (type %s) evidence was ingested for this module revision", [type])
	}
}

test_operation_of_another_type_is_not_used if {
	inp := set("operations", "gdpr", "/type", "audit-logging")
	status("gdpr.evidence", "production", inp) == "missing"
}

# shadow.traffic

test_shadow_pass_message if message("shadow.traffic", "integration", good) == "shadowed live traffic for 26 hours with a mismatch rate of 0.002"

test_shadow_fail_short if message("shadow.traffic", "integration", op_set("shadow-traffic", "duration_hours", 6)) == "shadow traffic duration (hours) is 6; this lane requires at least 12"

test_shadow_fail_mismatch if message("shadow.traffic", "integration", op_set("shadow-traffic", "mismatch_rate", 0.2)) == "the shadow mismatch rate is 0.2; this lane requires at most 0.01"

# load.capacity

test_load_pass_message if message("load.capacity", "production", good) == "load test reached 2.50× the expected capacity (500 rps) with error rate 0.001"

test_load_fail_low_multiplier if {
	low := patch("operations", "load-test", [{"op": "add", "path": "/details/achieved_rps", "value": 300}, {"op": "add", "path": "/details/multiplier_of_expected", "value": 1.5}])
	message("load.capacity", "production", low) == "the load test reached 1.50× the expected capacity; this lane requires 2×"
}

test_load_claimed_multiplier_is_recomputed if {
	overclaim := op_set("load-test", "achieved_rps", 10)
	message("load.capacity", "production", overclaim) == "the load test reached 0.05× the expected capacity (the record's claimed 2.50× is ignored); this lane requires 2×"
	underclaim := op_set("load-test", "multiplier_of_expected", 1.5)
	message("load.capacity", "production", underclaim) == "load test reached 2.50× the expected capacity (500 rps) (the record's claimed 1.50× is ignored) with error rate 0.001"
	rounded := op_set("load-test", "multiplier_of_expected", 2.51)
	message("load.capacity", "production", rounded) == "load test reached 2.50× the expected capacity (500 rps) with error rate 0.001"
}

test_load_multiplier_from_rps if {
	no_multiplier := set("operations", "load-test", "/details", {"achieved_rps": 450, "error_rate": 0})
	message("load.capacity", "production", no_multiplier) == "load test reached 2.25× the expected capacity (450 rps) with error rate 0"
	low := set("operations", "load-test", "/details", {"achieved_rps": 300, "error_rate": 0})
	message("load.capacity", "production", low) == "the load test reached 1.50× the expected capacity; this lane requires 2×"
}

test_load_fail_without_measure if {
	cannot := "the load test's capacity multiple cannot be computed: it needs the record's achieved_rps and the manifest's capacity.expected_rps"
	claim_only := set("operations", "load-test", "/details", {"multiplier_of_expected": 2.5, "error_rate": 0})
	message("load.capacity", "production", claim_only) == cannot
	no_capacity := json.patch(good, [{"op": "remove", "path": "/manifest/capacity"}])
	message("load.capacity", "production", no_capacity) == cannot
}

test_load_fail_error_rate if message("load.capacity", "production", op_set("load-test", "error_rate", 0.05)) == "the load-test error rate is 0.05; this lane requires at most 0.01"

# gdpr.evidence

test_gdpr_fail_without_consent if {
	message("gdpr.evidence", "production", op_set("gdpr", "consent", false)) == "consent is not shown (false)"
}

test_gdpr_erasure_must_be_under_limit if {
	message("gdpr.evidence", "production", op_set("gdpr", "erasure_latency_ms", 500)) == "erasure latency (ms) is 500; this lane requires under 500"
	status("gdpr.evidence", "production", op_set("gdpr", "erasure_latency_ms", 499)) == "pass"
}

# audit.logging

test_audit_fail_disabled if message("audit.logging", "production", op_set("audit-logging", "enabled", false)) == "enabled is not shown (false)"

test_audit_fail_short_retention if message("audit.logging", "production", op_set("audit-logging", "retention_days", 30)) == "audit log retention (days) is 30; this lane requires at least 365"

# dr.drill

test_dr_fail_slow_recovery if message("dr.drill", "production", op_set("dr-drill", "rto_minutes", 120)) == "recovery time (minutes) is 120; this lane requires at most 60"

test_dr_fail_unverified if message("dr.drill", "production", op_set("dr-drill", "restore_verified", false)) == "restore_verified is not shown (false)"

test_dr_fail_old if message("dr.drill", "production", set("operations", "dr-drill", "/performed_at", "2026-01-20T15:30:00Z")) == "the dr-drill was performed 304 days ago; this lane accepts 30 at most"

# canary.simulation

test_canary_fail_rolled_back if message("canary.simulation", "production", op_set("canary", "rolled_back", true)) == "the canary was rolled back"

test_canary_fail_few_steps if message("canary.simulation", "production", op_set("canary", "steps", 2)) == "the number of canary steps is 2; this lane requires at least 3"

test_canary_fail_budget_burn if message("canary.simulation", "production", op_set("canary", "error_budget_burn", 0.8)) == "the error-budget burn is 0.8; this lane requires at most 0.5"

# health.endpoints (used by other packs)

health := {
	"digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
	"scope": "health-endpoints", "format": "readypolicy-operations", "producer": {"tool": "fixture", "version": "1"},
	"collected_at": "2026-11-20T12:00:00Z",
	"data": {"type": "health-endpoints", "result": "passed", "performed_at": "2026-11-20T11:00:00Z", "details": {"endpoints": {
		"health": {"path": "/healthz", "ok": true},
		"ready": {"path": "/readyz", "ok": true},
		"live": {"path": "/livez", "ok": true},
	}}},
}

test_health_pass if message("health.endpoints", "candidate", add_doc("operations", health)) == "health (/healthz), live (/livez), ready (/readyz) endpoint(s) answer"

test_health_fail_not_ready if {
	inp := add_doc("operations", json.patch(health, [{"op": "add", "path": "/data/details/endpoints/ready/ok", "value": false}]))
	message("health.endpoints", "candidate", inp) == "ready endpoint is not shown answering ({\"ok\": false, \"path\": \"/readyz\"})"
}

test_health_fail_absent_endpoint if {
	inp := add_doc("operations", json.patch(health, [{"op": "remove", "path": "/data/details/endpoints/live"}]))
	message("health.endpoints", "candidate", inp) == "live endpoint is not shown answering (not recorded)"
}

test_health_missing if status("health.endpoints", "candidate", good) == "missing"
