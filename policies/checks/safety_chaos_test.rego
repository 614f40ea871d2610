# Tests of the safety-control and chaos checks.
package readiness.checks_test

import rego.v1

# safety.default_on

test_safety_default_on_pass if message("safety.default_on", "candidate", good) == "payments-guard is enabled by default"

test_safety_default_on_fail if {
	r := res("safety.default_on", "candidate", manifest_set("/safety/enabled_by_default", false))
	r.status == "fail"
	r.message == "payments-guard is not enabled by default (manifest safety.enabled_by_default is false)"
}

test_safety_default_on_fail_when_unset if {
	message("safety.default_on", "candidate", manifest_set("/safety", {})) == "the safety control is not enabled by default (manifest safety.enabled_by_default is absent)"
}

test_safety_default_on_missing if status("safety.default_on", "candidate", no_manifest) == "missing"

# safety.mode

test_safety_mode_strict_passes_everywhere if {
	every lane in ["candidate", "integration", "production"] {
		status("safety.mode", lane, good) == "pass"
	}
}

test_safety_mode_advisory_only_for_candidate if {
	advisory := manifest_set("/safety/mode", "advisory")
	status("safety.mode", "candidate", advisory) == "pass"
	r := res("safety.mode", "integration", advisory)
	r.status == "fail"
	r.message == "payments-guard runs in advisory mode; this lane requires strict or stricter"
}

test_safety_mode_fail_when_absent if message("safety.mode", "candidate", manifest_set("/safety", {"control": "g"})) == "g runs in absent mode; this lane requires advisory or stricter"

test_safety_mode_missing if status("safety.mode", "candidate", no_manifest) == "missing"

# safety.killswitch_drill

test_killswitch_pass if message("safety.killswitch_drill", "production", good) == "kill-switch drill of payments-guard passed 2026-11-15T10:00:00Z (fail closed in 120 ms)"

test_killswitch_fail_result if {
	r := res("safety.killswitch_drill", "candidate", set("operations", "killswitch-drill", "/result", "failed"))
	r.status == "fail"
	r.message == "the killswitch-drill recorded result failed"
}

test_killswitch_age_limit_tightens_by_lane if {
	old := set("operations", "killswitch-drill", "/performed_at", "2026-10-01T10:00:00Z")
	status("safety.killswitch_drill", "candidate", old) == "pass"
	message("safety.killswitch_drill", "production", old) == "the killswitch-drill was performed 50 days ago; this lane accepts 30 at most"
}

test_killswitch_fail_undated if {
	message("safety.killswitch_drill", "candidate", set("operations", "killswitch-drill", "/performed_at", "last week")) == "the killswitch-drill has no RFC 3339 performed_at time (last week)"
}

test_killswitch_fail_other_control if {
	message("safety.killswitch_drill", "candidate", manifest_set("/safety/control", "other-guard")) == "the drill exercised payments-guard but the manifest names other-guard"
}

test_killswitch_missing if {
	r := res("safety.killswitch_drill", "candidate", drop("operations", "killswitch-drill"))
	r.status == "missing"
	r.message == "no operations (type killswitch-drill) evidence was ingested for this module revision"
}

# chaos.basic

test_chaos_basic_pass if message("chaos.basic", "candidate", good) == "4 scenario(s) passed: brownout, clock-skew, partial-failure, timeout"

failed_experiment(scope) := patch("chaos", scope, [
	{"op": "add", "path": "/passed", "value": false},
	{"op": "add", "path": "/deviated", "value": true},
	{"op": "add", "path": "/steady_state_after", "value": false},
])

test_chaos_basic_fail_on_failed_experiment if {
	r := res("chaos.basic", "candidate", failed_experiment("partial-failure"))
	r.status == "fail"
	r.message == "partial-failure: failed (partial failure)"
}

test_chaos_basic_fail_on_absent_scenario if message("chaos.basic", "candidate", drop("chaos", "clock-skew")) == "clock-skew: no experiment"

test_chaos_basic_manifest_adds_scenarios if {
	inp := manifest_set("/thresholds", {"candidate": {"chaos_scenarios_required": ["dns-outage"]}})
	message("chaos.basic", "candidate", inp) == "dns-outage: no experiment"
}

test_chaos_basic_missing if status("chaos.basic", "candidate", drop_kind("chaos")) == "missing"

# chaos.validation

test_chaos_validation_pass if message("chaos.validation", "integration", good) == "all 7 experiment(s) verified their steady state before and after"

test_chaos_validation_fail_without_hypothesis if {
	inp := set("chaos", "timeout", "/steady_state_before", null)
	message("chaos.validation", "integration", inp) == "timeouts: run completed, deviated false, steady state before: not probed / after: met"
}

test_chaos_validation_fail_without_any_hypothesis if {
	inp := patch("chaos", "timeout", [
		{"op": "add", "path": "/steady_state_before", "value": null},
		{"op": "add", "path": "/steady_state_after", "value": null},
	])
	message("chaos.validation", "integration", inp) == "timeouts: no steady-state hypothesis was probed"
}

test_chaos_validation_not_met_before_method_is_not_called_unprobed if {
	inp := patch("chaos", "timeout", [
		{"op": "add", "path": "/steady_state_before", "value": false},
		{"op": "add", "path": "/steady_state_after", "value": null},
		{"op": "add", "path": "/passed", "value": false},
	])
	message("chaos.validation", "integration", inp) == "timeouts: run completed, deviated false, steady state before: not met / after: not probed"
}

test_chaos_validation_fail_on_deviation if {
	message("chaos.validation", "integration", failed_experiment("clock-skew")) == "clock skew: run completed, deviated true, steady state before: met / after: not met"
}

test_chaos_validation_fail_when_the_method_did_not_run_as_written if {
	inp := patch("chaos", "timeout", [
		{"op": "replace", "path": "/passed", "value": false},
		{"op": "add", "path": "/method_problems", "value": ["a dry run (dry: actions): activities were not executed", "action 'partition' failed"]},
	])
	message("chaos.validation", "integration", inp) == "timeouts: the method did not run as written: a dry run (dry: actions): activities were not executed; action 'partition' failed"
}

test_chaos_validation_missing if status("chaos.validation", "integration", drop_kind("chaos")) == "missing"

# chaos.matrix

test_chaos_matrix_pass if {
	message("chaos.matrix", "production", good) == "5 scenario(s) passed: high-load, memory-corruption, network-partition, safety-crash, timeout; the safety control fails closed in 120 ms"
}

test_chaos_matrix_fail_slow_fail_closed if {
	r := res("chaos.matrix", "production", op_set("killswitch-drill", "fail_closed_ms", 250))
	r.status == "fail"
	r.message == "the safety control's fail-closed time (ms) is 250; this lane requires under 250"
}

test_chaos_matrix_fail_unmeasured_fail_closed if {
	inp := set("operations", "killswitch-drill", "/details", {"safety_control": "payments-guard"})
	message("chaos.matrix", "production", inp) == "the safety control's fail-closed time (ms) is not recorded; this lane requires under 250"
}

test_chaos_matrix_fail_absent_scenario if message("chaos.matrix", "production", drop("chaos", "memory-corruption")) == "memory-corruption: no experiment"

test_chaos_matrix_missing if {
	status("chaos.matrix", "production", drop_kind("chaos")) == "missing"
	message("chaos.matrix", "production", drop("operations", "killswitch-drill")) == "no operations (type killswitch-drill) evidence was ingested for this module revision"
}
