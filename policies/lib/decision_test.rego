# Tests of the decision library against a small configuration of their own.
package readiness.lib_test

import data.readiness.lib
import rego.v1

config := {
	"checks": {
		"a.one": {"title": "One", "severity": "high", "needs": ["tests"], "remediation": "fix one", "unwaivable_in": ["production"]},
		"b.two": {"title": "Two", "severity": "medium", "needs": ["coverage"], "remediation": "fix two"},
		"c.three": {"title": "Three", "severity": "critical", "needs": ["manifest"], "remediation": "fix three", "waivable": false},
	},
	"waivers": {"lifetime_days_max": {"candidate": 30, "integration": 14}},
	"lane_order": ["candidate", "integration", "production"],
	"lanes": {
		"candidate": {"checks": ["a.one"], "thresholds": {
			"n_min": 70, "n_max": 10, "t_below": 250, "sev_max": "medium", "mode_min": "advisory",
			"flag_required": false, "on_required": true, "list_required": ["a", "b"],
		}},
		"integration": {"checks": ["b.two"], "thresholds": {"n_min": 90}},
		"production": {"checks": ["c.three"]},
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
	d.summary == {"pass": 3, "fail": 0, "missing": 0, "waived": 0, "warn": 0}
	d.checks[0] == {
		"id": "a.one", "title": "One", "severity": "high", "needs": ["tests"], "remediation": "fix one",
		"status": "pass", "message": "ok one", "evidence": ["sha256:a"], "enforcement": "blocking",
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

waiver(check, lane, created, expires) := {
	"check": check, "module": "m", "lane": lane, "reason": "vendor fix pending", "approver": "sec-lead",
	"created": created, "expires": expires,
}

failing_one := object.union(pass_all, {"a.one": lib.fail("one is broken", [])})

with_waivers(ws) := object.union(base_input, {"waivers": ws})

status_of(lane, results, ws, id) := c.status if {
	some c in decide(lane, results, with_waivers(ws)).checks
	c.id == id
}

test_valid_waiver_waives_a_failure if {
	d := decide("candidate", failing_one, with_waivers([waiver("a.one", "candidate", "2026-11-10T00:00:00Z", "2026-12-01T00:00:00Z")]))
	d.allow
	d.checks[0].status == "waived"
	d.checks[0].message == "one is broken (waived until 2026-12-01T00:00:00Z by sec-lead: vendor fix pending)"
	d.checks[0].waiver.approver == "sec-lead"
	d.summary.waived == 1
}

test_expired_waiver_does_not_apply if {
	d := decide("candidate", failing_one, with_waivers([waiver("a.one", "candidate", "2026-11-01T00:00:00Z", "2026-11-20T11:59:59Z")]))
	not d.allow
	d.checks[0].status == "fail"
}

test_waiver_for_another_module_or_lane_does_not_apply if {
	other_module := object.union(waiver("a.one", "candidate", "2026-11-19T00:00:00Z", "2026-12-01T00:00:00Z"), {"module": "x"})
	other_lane := waiver("a.one", "integration", "2026-11-19T00:00:00Z", "2026-12-01T00:00:00Z")
	status_of("candidate", failing_one, [other_module, other_lane], "a.one") == "fail"
}

test_waiver_does_not_cover_missing_evidence if {
	ws := [waiver("a.one", "candidate", "2026-11-19T00:00:00Z", "2026-12-01T00:00:00Z")]
	status_of("candidate", {"a.one": lib.missing("tests")}, ws, "a.one") == "missing"
}

# Which checks are waivable: the catalog entry, and nothing else.

test_unwaivable_in_a_lane_stays_failed_there_only if {
	ws := [waiver("a.one", "production", "2026-11-19T00:00:00Z", "2026-11-21T00:00:00Z")]
	lifetimes := {"waivers": {"lifetime_days_max": {"production": 7}}}
	d := lib.decide("production", failing_one) with data.readiness.config as object.union(config, lifetimes) with input as with_waivers(ws)
	not d.allow
	d.checks[0].status == "fail"
	lib.waivable("a.one", "candidate") with data.readiness.config as config
	not lib.waivable("a.one", "production") with data.readiness.config as config
}

test_never_waivable_check_stays_failed_in_every_lane if {
	every lane in config.lane_order {
		not lib.waivable("c.three", lane) with data.readiness.config as config
	}
	failing_three := object.union(pass_all, {"c.three": lib.fail("three is broken", [])})
	ws := [waiver("c.three", "integration", "2026-11-19T00:00:00Z", "2026-11-21T00:00:00Z")]
	lanes_three := json.patch(config, [{"op": "add", "path": "/lanes/integration/checks", "value": ["b.two", "c.three"]}])
	d := lib.decide("integration", failing_three) with data.readiness.config as lanes_three with input as with_waivers(ws)
	[c.status | some c in d.checks; c.id == "c.three"] == ["fail"]
}

test_waivable_needs_a_catalog_entry_and_a_true_flag if {
	not lib.waivable("z.unknown", "candidate") with data.readiness.config as config
	odd := json.patch(config, [{"op": "add", "path": "/checks/b.two/waivable", "value": "yes"}])
	not lib.waivable("b.two", "candidate") with data.readiness.config as odd
	typo := json.patch(config, [{"op": "add", "path": "/checks/b.two/unwaivable_in", "value": "production"}])
	not lib.waivable("b.two", "candidate") with data.readiness.config as typo
	lib.waivable("b.two", "candidate") with data.readiness.config as config
}

# Lifetimes: counted from `created`, bounded per lane by the pack.

test_waiver_longer_than_the_lane_lifetime_does_not_apply if {
	# 30 days in candidate, 14 in integration: the same waiver is in force in one lane only.
	w := waiver("a.one", "candidate", "2026-11-10T00:00:00Z", "2026-12-10T00:00:00Z")
	status_of("candidate", failing_one, [w], "a.one") == "waived"
	failing_integration := object.union(failing_one, {"b.two": lib.pass("ok", [])})
	status_of("integration", failing_integration, [object.union(w, {"lane": "integration"})], "a.one") == "fail"
}

test_waiver_expiring_in_2199_does_not_apply if {
	status_of("candidate", failing_one, [waiver("a.one", "candidate", "2026-11-19T00:00:00Z", "2199-12-31T00:00:00Z")], "a.one") == "fail"
}

test_waiver_at_exactly_the_lifetime_applies if {
	status_of("candidate", failing_one, [waiver("a.one", "candidate", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")], "a.one") == "waived"
	status_of("candidate", failing_one, [waiver("a.one", "candidate", "2026-11-01T00:00:00Z", "2026-12-01T00:00:01Z")], "a.one") == "fail"
}

test_waiver_created_after_now_does_not_apply if {
	status_of("candidate", failing_one, [waiver("a.one", "candidate", "2026-11-20T12:00:01Z", "2026-11-25T00:00:00Z")], "a.one") == "fail"
}

test_waiver_without_created_does_not_apply if {
	w := object.remove(waiver("a.one", "candidate", "2026-11-19T00:00:00Z", "2026-11-25T00:00:00Z"), ["created"])
	status_of("candidate", failing_one, [w], "a.one") == "fail"
}

test_lane_without_a_lifetime_has_no_waivers if {
	# config sets no production lifetime: b.two is waivable by its catalog entry, yet stays failed.
	failing_two := object.union(pass_all, {"b.two": lib.fail("two is broken", [])})
	ws := [waiver("b.two", "production", "2026-11-19T00:00:00Z", "2026-11-21T00:00:00Z")]
	status_of("production", failing_two, ws, "b.two") == "fail"
}

test_of_several_waivers_the_first_to_expire_applies if {
	late := waiver("a.one", "candidate", "2026-11-19T00:00:00Z", "2026-12-01T00:00:00Z")
	early := object.union(waiver("a.one", "candidate", "2026-11-19T00:00:00Z", "2026-11-25T00:00:00Z"), {"approver": "qa-lead"})
	d := decide("candidate", failing_one, with_waivers([late, early]))
	d.checks[0].waiver.approver == "qa-lead"
	d2 := decide("candidate", failing_one, with_waivers([early, late]))
	d2.checks[0] == d.checks[0]
}

# Helpers

test_number_formatting if {
	lib.two_decimals(84.2) == "84.20"
	lib.two_decimals(100) == "100.00"
	lib.two_decimals(48.0) == "48.00"
}

test_age_days_uses_input_now if {
	lib.age_days("2026-11-10T12:00:00Z") == 10 with input as base_input
}

test_verdict if {
	lib.verdict({"b", "a"}, "fine", ["sha256:x"]) == {"status": "fail", "message": "a; b", "evidence": ["sha256:x"]}
	lib.verdict(set(), "fine", []) == {"status": "pass", "message": "fine", "evidence": []}
}

# The pass branch is tried first (most checks pass): a problem still fails whatever the passing
# message, and no problem without a passing message is no result (reported as missing), never a pass.
test_verdict_tries_the_pass_first_but_never_passes_a_problem if {
	lib.verdict({"a"}, "", []) == {"status": "fail", "message": "a", "evidence": []}
	lib.verdict({"a"}, "fine", []).status == "fail"
	not lib.verdict(set(), "", [])
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
