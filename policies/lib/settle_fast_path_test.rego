# Attacks on the assembly's shortcuts (docs/performance.md): the branch that leaves a blocking
# check's result as it is when the input holds no waiver, the catalog table written out in one
# pass, and the waivable question asked after the waiver search. None may turn a check green, or
# drop one from the decision, where the long way would not.
package readiness.settle_fast_path_test

import data.readiness.lib
import rego.v1

config := {
	"checks": {
		"a.one": {"title": "One", "severity": "high", "needs": ["tests"], "remediation": "fix one"},
		"b.two": {"title": "Two", "severity": "high", "needs": ["tests"], "remediation": "fix two", "waivable": false},
	},
	"waivers": {"lifetime_days_max": {"candidate": 30}},
	"lane_order": ["candidate"],
	"lanes": {"candidate": {"checks": ["a.one", "b.two"]}},
}

base := {"module": "m", "revision": "r", "lane": "candidate", "now": "2026-11-20T12:00:00Z", "manifest": null, "evidence": {}}

waiver(check) := {
	"check": check, "module": "m", "lane": "candidate", "approver": "lead", "reason": "known",
	"created": "2026-11-19T00:00:00Z", "expires": "2026-11-30T00:00:00Z",
}

failing := {"a.one": lib.fail("a broke", []), "b.two": lib.fail("b broke", [])}

decide(inp) := d if {
	d := lib.decide("candidate", failing) with data.readiness.config as config with input as inp
}

by_id(d) := {c.id: c | some c in d.checks}

test_an_input_without_a_waiver_field_keeps_failures_blocking if {
	d := decide(base)
	not d.allow
	by_id(d)["a.one"].status == "fail"
	by_id(d)["a.one"].message == "a broke"
	d.summary.fail == 2
}

test_an_empty_waiver_list_keeps_failures_blocking if {
	d := decide(object.union(base, {"waivers": []}))
	not d.allow
	by_id(d)["b.two"].status == "fail"
}

test_a_waiver_field_that_is_not_a_list_waives_nothing if {
	d := decide(object.union(base, {"waivers": "a.one"}))
	not d.allow
	by_id(d)["a.one"].status == "fail"
}

test_a_real_waiver_still_takes_the_long_way if {
	d := decide(object.union(base, {"waivers": [waiver("a.one")]}))
	by_id(d)["a.one"].status == "waived"
	by_id(d)["b.two"].status == "fail"
	not d.allow
}

test_a_waiver_for_an_unwaivable_check_is_asked_after_the_search_and_still_refused if {
	d := decide(object.union(base, {"waivers": [waiver("b.two")]}))
	by_id(d)["b.two"].status == "fail"
	not d.allow
}

test_a_missing_result_without_waivers_is_missing if {
	d := lib.decide("candidate", {"a.one": lib.pass("ok", [])}) with data.readiness.config as config with input as base
	by_id(d)["b.two"].status == "missing"
	not d.allow
}

test_a_catalog_entry_without_a_title_leaves_no_decision if {
	untitled := json.remove(config, ["checks/a.one/title"])
	not lib.decide("candidate", failing) with data.readiness.config as untitled with input as base
}

test_a_scheduled_entry_without_a_title_leaves_no_decision if {
	scheduled := json.patch(config, [
		{"op": "remove", "path": "/checks/a.one/title"},
		{"op": "add", "path": "/checks/a.one/enforce_from", "value": "2027-01-15"},
	])
	not lib.decide("candidate", failing) with data.readiness.config as scheduled with input as base
}
