# Operational-readiness checks from readypolicy operations records
# (apiVersion readypolicy.dev/v1; scope = type): shadow traffic, load test, GDPR, audit logging,
# disaster-recovery drill, canary simulation and health endpoints. A record whose result is not
# `passed` never passes, whatever its details say.
# A check's `result` is one line, its body only the id equality OPA indexes, calling a rule or
#   function named after the check; never an else under it (see lib.lane_decision).
package readiness.checks

import data.readiness.lib
import rego.v1

details(d) := object.get(d.data, "details", {})

# A detail for a message, which must read even when the detail was not recorded.
detail(d, key) := object.get(details(d), key, "not recorded")

# Problems common to every record: it failed.
outcome_problems(d) := {sprintf("the %s recorded result %s", [d.data.type, d.data.result]) |
	d.data.result != "passed"
}

# A number detail against a lane threshold, by the threshold's name: _min needs at least the
# value, _max at most, _below strictly less. A missing or non-numeric detail is a problem too.
bounded(d, key, lane, name, what) := {sprintf("%s is %v; this lane requires %s %v", [what, value, bound_word(name), limit]) |
	value := object.get(details(d), key, "not recorded")
	limit := lib.threshold(lane, name)
	not within(name, value, limit)
}

within(name, value, limit) if {
	is_number(value)
	endswith(name, "_min")
	value >= limit
}

within(name, value, limit) if {
	is_number(value)
	endswith(name, "_max")
	value <= limit
}

within(name, value, limit) if {
	is_number(value)
	endswith(name, "_below")
	value < limit
}

bound_word(name) := "at least" if {
	endswith(name, "_min")
} else := "at most" if {
	endswith(name, "_max")
} else := "under"

# Boolean details that must all be true.
all_true(d, keys) := {sprintf("%s is not shown (%v)", [key, object.get(details(d), key, "not recorded")]) |
	some key in keys
	object.get(details(d), key, null) != true
}

# METADATA
# title: Shadow traffic validated for 12 hours or more
# description: >-
#   A passed shadow-traffic record ran at least shadow_hours_min hours with a mismatch rate of at
#   most shadow_mismatch_rate_max.
# custom:
#   id: shadow.traffic
#   severity: high
#   remediation: >-
#     Shadow live traffic long enough, compare the outputs and ingest a ShadowTraffic record.
result(id, lane) := shadow_traffic(lane) if id == "shadow.traffic"

shadow_traffic(lane) := lib.verdict(
	((outcome_problems(d) | bounded(d, "duration_hours", lane, "shadow_hours_min", "shadow traffic duration (hours)")) | bounded(d, "mismatch_rate", lane, "shadow_mismatch_rate_max", "the shadow mismatch rate")),
	sprintf("shadowed live traffic for %v hours with a mismatch rate of %v", [detail(d, "duration_hours"), detail(d, "mismatch_rate")]),
	[d.digest],
) if {
	d := lib.operation("shadow-traffic")
} else := lib.missing_operation("shadow-traffic")

# The multiple of expected capacity a load test reached, always recomputed from what was measured:
# achieved rps / the manifest's capacity.expected_rps. The record's multiplier_of_expected is a
# claim: it never stands in for the measurement, and one that disagrees is named as ignored.
load_multiplier(d) := details(d).achieved_rps / input.manifest.capacity.expected_rps if {
	is_number(details(d).achieved_rps)
	is_number(input.manifest.capacity.expected_rps)
	input.manifest.capacity.expected_rps > 0
}

# A claimed multiplier more than 1% away from the recomputed one, as a remark for the message.
claim_note(d) := sprintf(" (the record's claimed %s× is ignored)", [lib.two_decimals(claimed)]) if {
	claimed := details(d).multiplier_of_expected
	is_number(claimed)
	abs(claimed - load_multiplier(d)) > 0.01 * load_multiplier(d)
} else := ""

# METADATA
# title: Load test at twice the expected capacity
# description: >-
#   A passed load test reached load_multiplier_min times the manifest's expected capacity
#   (recomputed from the measurement) within load_error_rate_max.
# custom:
#   id: load.capacity
#   severity: high
#   remediation: >-
#     Load-test at 2x the manifest's capacity.expected_rps and ingest a LoadTest record.
result(id, lane) := load_capacity(lane) if id == "load.capacity"

load_capacity(lane) := lib.verdict(
	((outcome_problems(d) | load_problems(d, lane)) | bounded(d, "error_rate", lane, "load_error_rate_max", "the load-test error rate")),
	sprintf("load test reached %s× the expected capacity (%v rps)%s with error rate %v", [multiplier_text(d), detail(d, "achieved_rps"), claim_note(d), detail(d, "error_rate")]),
	[d.digest],
) if {
	d := lib.operation("load-test")
} else := lib.missing_operation("load-test")

multiplier_text(d) := lib.two_decimals(load_multiplier(d)) if {
	load_multiplier(d)
} else := "an unknown multiple of"

load_problems(d, lane) := {sprintf("the load test reached %s× the expected capacity%s; this lane requires %v×", [lib.two_decimals(m), claim_note(d), minimum]) |
	m := load_multiplier(d)
	minimum := lib.threshold(lane, "load_multiplier_min")
	m < minimum
} if {
	load_multiplier(d)
} else := {"the load test's capacity multiple cannot be computed: it needs the record's achieved_rps and the manifest's capacity.expected_rps"}

gdpr_controls := ["processing_registry", "consent", "data_minimization", "access_audit_trail", "cross_border_protection"]

# METADATA
# title: GDPR evidence complete
# description: >-
#   A passed GDPR record shows every control and an erasure latency under gdpr_erasure_ms_below.
# custom:
#   id: gdpr.evidence
#   severity: critical
#   remediation: >-
#     Record processing registry, consent, erasure latency, data minimization, access audit trail
#     and cross-border protection in a GdprEvidence record.
result(id, lane) := gdpr_evidence(lane) if id == "gdpr.evidence"

gdpr_evidence(lane) := lib.verdict(
	((outcome_problems(d) | all_true(d, gdpr_controls)) | bounded(d, "erasure_latency_ms", lane, "gdpr_erasure_ms_below", "erasure latency (ms)")),
	sprintf("processing registry, consent, data minimization, access audit trail and cross-border protection shown; erasure in %v ms", [detail(d, "erasure_latency_ms")]),
	[d.digest],
) if {
	d := lib.operation("gdpr")
} else := lib.missing_operation("gdpr")

# METADATA
# title: Audit logging enabled with retention
# description: >-
#   A passed audit-logging record shows logging enabled with at least audit_retention_days_min days
#   of retention.
# custom:
#   id: audit.logging
#   severity: high
#   remediation: >-
#     Enable audit logging with the required retention and ingest an AuditLogging record.
result(id, lane) := audit_logging(lane) if id == "audit.logging"

audit_logging(lane) := lib.verdict(
	((outcome_problems(d) | all_true(d, ["enabled"])) | bounded(d, "retention_days", lane, "audit_retention_days_min", "audit log retention (days)")),
	sprintf("audit logging enabled with %v days of retention", [detail(d, "retention_days")]),
	[d.digest],
) if {
	d := lib.operation("audit-logging")
} else := lib.missing_operation("audit-logging")

# METADATA
# title: Disaster-recovery drill within RTO/RPO
# description: >-
#   A recent, passed disaster-recovery drill restored and verified data within the lane's RTO and
#   RPO ceilings.
# custom:
#   id: dr.drill
#   severity: high
#   remediation: >-
#     Run a restore drill, verify the restored data and ingest a DisasterRecoveryDrill record.
result(id, lane) := dr_drill(lane) if id == "dr.drill"

dr_drill(lane) := lib.verdict(
	(((drill_problems(d, lane) | all_true(d, ["restore_verified"])) | bounded(d, "rto_minutes", lane, "dr_rto_minutes_max", "recovery time (minutes)")) | bounded(d, "rpo_minutes", lane, "dr_rpo_minutes_max", "recovery point (minutes)")),
	sprintf("disaster-recovery drill restored and verified in %v min (RPO %v min) on %s", [detail(d, "rto_minutes"), detail(d, "rpo_minutes"), d.data.performed_at]),
	[d.digest],
) if {
	d := lib.operation("dr-drill")
} else := lib.missing_operation("dr-drill")

# METADATA
# title: Canary simulation promoted without rollback
# description: >-
#   A passed canary simulation went through canary_steps_min steps within
#   canary_error_budget_burn_max and was not rolled back.
# custom:
#   id: canary.simulation
#   severity: high
#   remediation: >-
#     Simulate a stepped canary rollout within the error budget and ingest a CanarySimulation
#     record.
result(id, lane) := canary_simulation(lane) if id == "canary.simulation"

canary_simulation(lane) := lib.verdict(
	(((outcome_problems(d) | bounded(d, "steps", lane, "canary_steps_min", "the number of canary steps")) | bounded(d, "error_budget_burn", lane, "canary_error_budget_burn_max", "the error-budget burn")) | {"the canary was rolled back" | object.get(details(d), "rolled_back", null) != false}),
	sprintf("canary promoted through %v steps burning %v of the error budget", [detail(d, "steps"), detail(d, "error_budget_burn")]),
	[d.digest],
) if {
	d := lib.operation("canary")
} else := lib.missing_operation("canary")

# Health endpoints: details.endpoints maps each probe (health, ready, live) to {path, ok}.
endpoints(d) := object.get(details(d), "endpoints", {})

# METADATA
# title: "Health, readiness and liveness endpoints answer"
# description: >-
#   A passed health-endpoints record shows every endpoint of the lane's health_endpoints_required
#   answering.
# custom:
#   id: health.endpoints
#   severity: high
#   remediation: >-
#     Serve /health, /ready and /live, probe them, and ingest a HealthEndpoints record.
result(id, lane) := health_endpoints(lane) if id == "health.endpoints"

health_endpoints(lane) := lib.verdict(
	outcome_problems(d) | {sprintf("%s endpoint is not shown answering (%v)", [name, object.get(endpoints(d), name, "not recorded")]) |
		some name in lib.threshold(lane, "health_endpoints_required")
		object.get(object.get(endpoints(d), name, {}), "ok", false) != true
	},
	sprintf("%s endpoint(s) answer", [concat(", ", [sprintf("%s (%v)", [name, object.get(object.get(endpoints(d), name, {}), "path", "?")]) |
		some name in lib.threshold(lane, "health_endpoints_required")
	])]),
	[d.digest],
) if {
	d := lib.operation("health-endpoints")
} else := lib.missing_operation("health-endpoints")
