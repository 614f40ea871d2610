# Advisory vs blocking checks and scheduled enforcement (enforce_from), judged at input.now.
package readiness.enforcement_test

import data.readiness.lib
import rego.v1

config := {
	"enforcement": {"default": "blocking"},
	"checks": {
		"a.block": {"title": "A", "severity": "high", "needs": [], "remediation": "fix a"},
		"b.advise": {"title": "B", "severity": "medium", "needs": [], "remediation": "fix b", "enforcement": "advisory"},
		"c.later": {"title": "C", "severity": "high", "needs": [], "remediation": "fix c", "enforce_from": "2027-01-15"},
		"d.typo": {"title": "D", "severity": "high", "needs": [], "remediation": "fix d", "enforcement": "Advisory"},
		"e.baddate": {"title": "E", "severity": "high", "needs": [], "remediation": "fix e", "enforce_from": "15/01/2027"},
	},
	"waivers": {"lifetime_days_max": {"candidate": 30}},
	"lane_order": ["candidate"],
	"lanes": {"candidate": {"checks": ["a.block", "b.advise", "c.later", "d.typo", "e.baddate"]}},
}

at(now) := {"module": "m", "revision": "r", "lane": "candidate", "now": now, "manifest": null, "evidence": {}, "waivers": []}

all_fail[id] := lib.fail(sprintf("%s broke", [id]), []) if some id in config.lanes.candidate.checks

all_pass[id] := lib.pass("ok", []) if some id in config.lanes.candidate.checks

decide(results, now) := d if {
	d := lib.decide("candidate", results) with data.readiness.config as config with input as at(now)
}

by_id(d) := {c.id: c | some c in d.checks}

test_advisory_failure_warns_and_does_not_block if {
	d := decide(object.union(all_pass, {"b.advise": lib.fail("b broke", [])}), "2026-12-01T00:00:00Z")
	d.allow
	c := by_id(d)["b.advise"]
	c.status == "warn"
	c.enforcement == "advisory"
	c.message == "b broke (advisory: does not block)"
	d.summary.warn == 1
}

test_advisory_missing_evidence_warns_too if {
	d := decide(object.remove(all_pass, ["b.advise"]), "2026-12-01T00:00:00Z")
	d.allow
	by_id(d)["b.advise"].status == "warn"
}

test_scheduled_check_is_advisory_before_its_date if {
	d := decide(object.union(all_pass, {"c.later": lib.fail("c broke", [])}), "2027-01-14T23:59:59Z")
	d.allow
	c := by_id(d)["c.later"]
	c.status == "warn"
	c.enforcement == "advisory"
	c.enforce_from == "2027-01-15"
	c.message == "c broke (advisory until 2027-01-15: does not block)"
}

test_scheduled_check_blocks_from_its_date if {
	d := decide(object.union(all_pass, {"c.later": lib.fail("c broke", [])}), "2027-01-15T00:00:00Z")
	not d.allow
	c := by_id(d)["c.later"]
	c.status == "fail"
	c.enforcement == "blocking"
	c.enforce_from == "2027-01-15"
}

test_typo_and_bad_date_are_blocking if {
	d := decide(all_fail, "2026-12-01T00:00:00Z")
	not d.allow
	by_id(d)["d.typo"].status == "fail"
	by_id(d)["d.typo"].enforcement == "blocking"
	by_id(d)["e.baddate"].status == "fail"
	by_id(d)["e.baddate"].enforcement == "blocking"
	by_id(d)["a.block"].status == "fail"
	d.summary == {"pass": 0, "fail": 3, "missing": 0, "waived": 0, "warn": 2}
}

test_pack_default_advisory_applies_to_checks_without_their_own if {
	advisory := object.union(config, {"enforcement": {"default": "advisory"}})
	d := lib.decide("candidate", all_fail) with data.readiness.config as advisory with input as at("2026-12-01T00:00:00Z")
	by_id(d)["a.block"].status == "warn"
	by_id(d)["d.typo"].status == "fail"
	by_id(d)["c.later"].status == "warn"
}

test_without_a_pack_default_checks_block if {
	bare := object.remove(config, ["enforcement"])
	lib.enforcement("a.block") == "blocking" with data.readiness.config as bare with input as at("2026-12-01T00:00:00Z")
}

test_a_passing_advisory_check_stays_pass if {
	d := decide(all_pass, "2026-12-01T00:00:00Z")
	by_id(d)["b.advise"].status == "pass"
	by_id(d)["b.advise"].enforcement == "advisory"
}

test_waiver_does_not_touch_an_advisory_warning if {
	w := {
		"check": "b.advise", "module": "m", "lane": "candidate", "reason": "r", "approver": "x",
		"created": "2026-11-30T00:00:00Z", "expires": "2026-12-05T00:00:00Z",
	}
	inp := object.union(at("2026-12-01T00:00:00Z"), {"waivers": [w]})
	d := lib.decide("candidate", all_fail) with data.readiness.config as config with input as inp
	by_id(d)["b.advise"].status == "warn"
}

# The enforcement table (computed once per evaluation) must agree with the rules above in the
# corners the table form could get wrong.

test_without_an_evaluation_time_a_scheduled_check_blocks if {
	inp := object.remove(at("2026-12-01T00:00:00Z"), ["now"])
	d := lib.decide("candidate", all_fail) with data.readiness.config as config with input as inp
	c := by_id(d)["c.later"]
	c.status == "fail"
	c.enforcement == "blocking"
	c.enforce_from == "2027-01-15"
	not d.allow
}

test_a_null_enforce_from_is_unscheduled_as_readypolicy_reads_it if {
	nulls := object.union(config, {"checks": {
		"a.block": {"enforce_from": null},
		"b.advise": {"enforce_from": null},
	}})
	d := lib.decide("candidate", all_fail) with data.readiness.config as nulls with input as at("2026-12-01T00:00:00Z")
	by_id(d)["a.block"].status == "fail"
	by_id(d)["a.block"].enforcement == "blocking"
	by_id(d)["b.advise"].status == "warn"
	not "enforce_from" in object.keys(by_id(d)["b.advise"])
}

test_a_check_the_catalog_does_not_list_is_blocking if {
	lib.enforcement("z.unknown") == "blocking" with data.readiness.config as config with input as at("2026-12-01T00:00:00Z")
}

# A lane listing a check the catalog lacks has no decision at all (readypolicy: exit 2), never one
# that leaves the check out and allows on the rest.
test_a_lane_check_the_catalog_lacks_leaves_no_decision if {
	widened := object.union(config, {"lanes": {"candidate": {"checks": ["a.block", "z.unknown"]}}})
	not decided("candidate", widened)
}

# An enforcement setting OPA cannot read (a word where an object belongs) drops no check: there is
# no decision, never an allow over the checks that remain.
test_an_unreadable_enforcement_setting_leaves_no_decision if {
	not decided("candidate", object.union(config, {"enforcement": "advisory"}))
}

decided(lane, cfg) if lib.decide(lane, all_fail) with data.readiness.config as cfg with input as at("2026-12-01T00:00:00Z")

test_every_failure_is_enforced_in_lane_order if {
	# the assembly's shortcut leaves passing results alone; every failing one still goes through
	# enforcement, and the checks keep the lane's order
	reordered := object.union(config, {"lanes": {"candidate": {"checks": ["e.baddate", "d.typo", "c.later", "b.advise", "a.block"]}}})
	d := lib.decide("candidate", all_fail) with data.readiness.config as reordered with input as at("2026-12-01T00:00:00Z")
	[c.id | some c in d.checks] == ["e.baddate", "d.typo", "c.later", "b.advise", "a.block"]
	d.summary == {"pass": 0, "fail": 3, "missing": 0, "waived": 0, "warn": 2}
}
