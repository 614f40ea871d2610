# Tests of the SLO budget bounds: the manifest may tighten a lane's ceiling but never raise it.
package readiness.checks_test

import rego.v1

# The fixture's integration ceilings: tick 100, decide 50, reflect 10, any other operation 100.

test_perf_slo_manifest_cannot_raise_a_budget_above_the_lane_maximum if {
	# tick's CI95 upper bound is 89.7 ms: over a 50 ms ceiling, whatever the manifest claims.
	inp := json.patch(manifest_set("/slo/tick_p95_ms", 100000), [{"op": "add", "path": "/manifest/thresholds", "value": {"integration": {"tick_p95_ms_max": 50}}}])
	r := res("perf.slo", "integration", inp)
	r.status == "fail"
	r.message == "tick: p95 CI95 upper bound 89.7 ms exceeds the 50.0 ms budget (lane maximum tick_p95_ms_max; the manifest claims 100000 ms)"
}

test_perf_slo_raised_claim_is_judged_on_the_lane_maximum if {
	r := res("perf.slo", "integration", manifest_set("/slo/decide_p95_ms", 5000))
	r.status == "pass"
	r.message == "decide p95 CI95 upper 43.5 ms <= 50.0 ms (lane maximum decide_p95_ms_max; the manifest claims 5000 ms); tick p95 CI95 upper 89.7 ms <= 100 ms (manifest budget)"
}

slow_decide := set("perf", "default", "/metrics/decide/ci95/upper_ms", 70)

test_perf_slo_lane_maximum_fails_what_the_manifest_would_pass if {
	r := res("perf.slo", "integration", json.patch(slow_decide, [{"op": "add", "path": "/manifest/slo/decide_p95_ms", "value": 80}]))
	r.status == "fail"
	r.message == "decide: p95 CI95 upper bound 70.0 ms exceeds the 50.0 ms budget (lane maximum decide_p95_ms_max; the manifest claims 80 ms)"
}

test_perf_slo_operation_left_out_of_the_manifest_is_still_judged if {
	inp := json.patch(slow_decide, [{"op": "remove", "path": "/manifest/slo/decide_p95_ms"}])
	r := res("perf.slo", "integration", inp)
	r.status == "fail"
	r.message == "decide: p95 CI95 upper bound 70.0 ms exceeds the 50.0 ms budget (lane maximum decide_p95_ms_max; the manifest sets no budget)"
}

reconcile := object.union(good.evidence.perf[0], {
	"scope": "reconcile",
	"digest": "sha256:0000000000000000000000000000000000000000000000000000000000000002",
	"data": {"metrics": {"reconcile": object.union(good.evidence.perf[0].data.metrics.tick, {"ci95": {"statistic": "p95", "lower_ms": 300, "upper_ms": 400}})}},
})

test_perf_slo_operation_without_its_own_ceiling_gets_the_general_one if {
	inp := json.patch(add_doc("perf", reconcile), [{"op": "add", "path": "/manifest/slo/reconcile_p95_ms", "value": 1000}])
	r := res("perf.slo", "integration", inp)
	r.status == "fail"
	r.message == "reconcile: p95 CI95 upper bound 400 ms exceeds the 100 ms budget (lane maximum slo_p95_ms_max; the manifest claims 1000 ms)"
}

test_perf_slo_unbudgeted_operation_without_a_ceiling_is_not_judged if {
	# Only the manifest or an operation's own ceiling makes a metric an SLO operation.
	status("perf.slo", "integration", add_doc("perf", reconcile)) == "pass"
}

test_perf_slo_manifest_thresholds_tighten_the_ceiling if {
	inp := json.patch(good, [{"op": "add", "path": "/manifest/thresholds", "value": {"integration": {"tick_p95_ms_max": 80}}}])
	r := res("perf.slo", "integration", inp)
	r.message == "tick: p95 CI95 upper bound 89.7 ms exceeds the 80.0 ms budget (lane maximum tick_p95_ms_max; the manifest claims 100 ms)"
}

test_perf_slo_budget_that_is_not_a_positive_number_fails if {
	for_string := res("perf.slo", "integration", manifest_set("/slo/tick_p95_ms", "1e9"))
	for_string.status == "fail"
	for_string.message == "tick: the manifest budget 1e9 is not a positive number of ms"
	for_zero := res("perf.slo", "integration", manifest_set("/slo/tick_p95_ms", 0))
	for_zero.message == "tick: the manifest budget 0 is not a positive number of ms"
}

test_perf_slo_fails_in_a_lane_without_a_ceiling if {
	r := res("perf.slo", "candidate", good)
	r.status == "fail"
	r.message == "decide: this lane's policy sets no SLO ceiling (decide_p95_ms_max or slo_p95_ms_max); tick: this lane's policy sets no SLO ceiling (tick_p95_ms_max or slo_p95_ms_max)"
}

test_perf_slo_ignores_a_manifest_slo_that_is_not_a_mapping if {
	message("perf.slo", "integration", manifest_set("/slo", [100])) == "the manifest declares no <op>_p95_ms SLO budget"
}
