# Tests of the decision library against a small configuration of their own.
package readiness.lib_test

import data.readiness.lib
import rego.v1

config := {
	"checks": {
		"a.one": {"title": "One", "severity": "high", "needs": ["tests"], "remediation": "fix one"},
		"b.two": {"title": "Two", "severity": "medium", "needs": ["coverage"], "remediation": "fix two"},
		"c.three": {"title": "Three", "severity": "critical", "needs": ["manifest"], "remediation": "fix three"},
	},
	"lanes": {
		"candidate": {"checks": ["a.one"], "thresholds": {
			"n_min": 70, "n_max": 10, "t_below": 250, "sev_max": "medium", "mode_min": "advisory",
			"flag_required": false, "on_required": true, "list_required": ["a", "b"],
		}},
		"integration": {"checks": ["b.two"], "thresholds": {"n_min": 90}},
		"production": {"checks": ["c.three"], "unwaivable": ["a.one"]},
	},
}

base_input := {"module": "m", "revision": "r", "lane": "candidate", "now": "2026-11-20T12:00:00Z", "manifest": null, "evidence": {}, "waivers": []}

manifest_with(lane, thresholds) := object.union(base_input, {"manifest": {"module": "m", "thresholds": {lane: thresholds}}})

threshold_of(lane, name, overrides) := v if {
	v := lib.threshold(lane, name) with data.readiness.config as config with input as manifest_with(lane, overrides)
}

# Lane inheritance

test_lane_checks_accumulate if {
	lib.lane_checks("candidate") == ["a.one"] with data.readiness.config as config
	lib.lane_checks("integration") == ["a.one", "b.two"] with data.readiness.config as config
	lib.lane_checks("production") == ["a.one", "b.two", "c.three"] with data.readiness.config as config
}

test_lane_thresholds_higher_lane_wins if {
	threshold_of("candidate", "n_min", {}) == 70
	threshold_of("integration", "n_min", {}) == 90
	threshold_of("production", "n_min", {}) == 90
	threshold_of("production", "n_max", {}) == 10
}

# Manifest tightening: every kind of threshold can be tightened and none can be loosened.

test_floor_tightens_not_loosens if {
	threshold_of("integration", "n_min", {"n_min": 95}) == 95
	threshold_of("integration", "n_min", {"n_min": 50}) == 90
}

test_ceiling_tightens_not_loosens if {
	threshold_of("candidate", "n_max", {"n_max": 5}) == 5
	threshold_of("candidate", "n_max", {"n_max": 20}) == 10
	threshold_of("candidate", "t_below", {"t_below": 200}) == 200
	threshold_of("candidate", "t_below", {"t_below": 900}) == 250
}

test_word_thresholds_follow_their_scale if {
	threshold_of("candidate", "sev_max", {"sev_max": "low"}) == "low"
	threshold_of("candidate", "sev_max", {"sev_max": "critical"}) == "medium"
	threshold_of("candidate", "mode_min", {"mode_min": "strict"}) == "strict"
	threshold_of("candidate", "mode_min", {"mode_min": "off"}) == "advisory"
}

test_word_from_another_scale_is_ignored if threshold_of("candidate", "sev_max", {"sev_max": "strict"}) == "medium"

test_required_flags_only_switch_on if {
	threshold_of("candidate", "flag_required", {"flag_required": true}) == true
	threshold_of("candidate", "on_required", {"on_required": false}) == true
	threshold_of("candidate", "flag_required", {"flag_required": false}) == false
}

test_required_lists_only_grow if {
	threshold_of("candidate", "list_required", {"list_required": ["c", "a"]}) == ["a", "b", "c"]
	threshold_of("candidate", "list_required", {"list_required": []}) == ["a", "b"]
}

test_override_of_another_type_is_ignored if {
	threshold_of("integration", "n_min", {"n_min": "0"}) == 90
	threshold_of("candidate", "list_required", {"list_required": "a"}) == ["a", "b"]
}

test_override_for_another_lane_does_not_apply if {
	v := lib.threshold("integration", "n_min") with data.readiness.config as config with input as manifest_with("candidate", {"n_min": 99})
	v == 90
}

test_unknown_threshold_is_undefined if {
	not lib.threshold("candidate", "nope_min") with data.readiness.config as config with input as base_input
}

# Decisions

pass_all := {"a.one": lib.pass("ok one", ["sha256:a"]), "b.two": lib.pass("ok two", []), "c.three": lib.pass("ok three", [])}

decide(lane, results, inp) := d if {
	d := lib.decide(lane, results) with data.readiness.config as config with input as inp
}

test_decide_allows_when_all_pass if {
	d := decide("production", pass_all, base_input)
	d.allow
	d.lane == "production"
	d.summary == {"pass": 3, "fail": 0, "missing": 0, "waived": 0}
	d.checks[0] == {
		"id": "a.one", "title": "One", "severity": "high", "needs": ["tests"], "remediation": "fix one",
		"status": "pass", "message": "ok one", "evidence": ["sha256:a"],
	}
}

test_decide_denies_on_fail if {
	d := decide("integration", object.union(pass_all, {"b.two": lib.fail("bad two", [])}), base_input)
	not d.allow
	d.summary.fail == 1
}

test_decide_denies_on_missing_evidence if {
	d := decide("candidate", {"a.one": lib.missing("tests")}, base_input)
	not d.allow
	d.checks[0].message == "no tests evidence was ingested for this module revision"
}

test_decide_a_check_without_result_is_missing if {
	d := decide("integration", {"a.one": lib.pass("ok", [])}, base_input)
	not d.allow
	d.checks[1].status == "missing"
	d.checks[1].message == "check b.two produced no result (no rule or no evidence shape matched)"
}

test_lane_decision_uses_the_checks_library if {
	d := lib.lane_decision("candidate") with data.readiness.config as config with input as base_input
	d.checks[0].id == "a.one"
	d.checks[0].status == "missing"
}

# Waivers

waiver(check, lane, expires) := {"check": check, "module": "m", "lane": lane, "reason": "vendor fix pending", "approver": "sec-lead", "expires": expires}

failing_one := object.union(pass_all, {"a.one": lib.fail("one is broken", [])})

test_valid_waiver_waives_a_failure if {
	inp := object.union(base_input, {"waivers": [waiver("a.one", "candidate", "2026-12-01T00:00:00Z")]})
	d := decide("candidate", failing_one, inp)
	d.allow
	d.checks[0].status == "waived"
	d.checks[0].message == "one is broken (waived until 2026-12-01T00:00:00Z by sec-lead: vendor fix pending)"
	d.checks[0].waiver.approver == "sec-lead"
	d.summary.waived == 1
}

test_expired_waiver_does_not_apply if {
	inp := object.union(base_input, {"waivers": [waiver("a.one", "candidate", "2026-11-20T11:59:59Z")]})
	d := decide("candidate", failing_one, inp)
	not d.allow
	d.checks[0].status == "fail"
}

test_waiver_for_another_module_or_lane_does_not_apply if {
	other_module := object.union(waiver("a.one", "candidate", "2027-01-01T00:00:00Z"), {"module": "x"})
	inp := object.union(base_input, {"waivers": [other_module, waiver("a.one", "integration", "2027-01-01T00:00:00Z")]})
	decide("candidate", failing_one, inp).checks[0].status == "fail"
}

test_unwaivable_check_stays_failed if {
	inp := object.union(base_input, {"waivers": [waiver("a.one", "production", "2027-01-01T00:00:00Z")]})
	d := decide("production", failing_one, inp)
	not d.allow
	d.checks[0].status == "fail"
}

test_waiver_does_not_cover_missing_evidence if {
	inp := object.union(base_input, {"waivers": [waiver("a.one", "candidate", "2027-01-01T00:00:00Z")]})
	decide("candidate", {"a.one": lib.missing("tests")}, inp).checks[0].status == "missing"
}

# Helpers

test_number_formatting if {
	lib.two_decimals(84.2) == "84.20"
	lib.two_decimals(100) == "100.00"
	lib.two_decimals(48.0) == "48.00"
	lib.one_decimal(89.74) == "89.7"
	lib.one_decimal(120) == "120.0"
}

test_age_days_uses_input_now if {
	lib.age_days("2026-11-10T12:00:00Z") == 10 with input as base_input
}

test_verdict if {
	lib.verdict({"b", "a"}, "fine", ["sha256:x"]) == {"status": "fail", "message": "a; b", "evidence": ["sha256:x"]}
	lib.verdict(set(), "fine", []) == {"status": "pass", "message": "fine", "evidence": []}
}

test_has_manifest if {
	not lib.has_manifest with input as base_input
	lib.has_manifest with input as manifest_with("candidate", {})
}

test_operation_needs_matching_type if {
	record := {"scope": "gdpr", "digest": "sha256:g", "data": {"type": "gdpr", "result": "passed"}}
	lib.operation("gdpr").digest == "sha256:g" with input as object.union(base_input, {"evidence": {"operations": [record]}})
	mislabeled := object.union(record, {"data": {"type": "canary"}})
	not lib.operation("gdpr") with input as object.union(base_input, {"evidence": {"operations": [mislabeled]}})
}
