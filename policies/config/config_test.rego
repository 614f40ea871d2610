# Tests of the readiness pack as shipped: its lanes, thresholds and unwaivable checks, evaluated
# through the lane packages with the real configuration.
package readiness.config_test

import data.readiness.candidate
import data.readiness.checks_test.good
import data.readiness.config
import data.readiness.integration
import data.readiness.lib
import data.readiness.production
import rego.v1

statuses(d) := {c.id: c.status | some c in d.checks}

check(d, id) := c if {
	some c in d.checks
	c.id == id
}

test_every_lane_check_is_in_the_catalog if {
	every spec in config.lanes {
		every id in spec.checks {
			entry := config.checks[id]
			entry.title != ""
			lib.scales.severity[entry.severity]
			count(entry.needs) > 0
			entry.remediation != ""
		}
	}
}

test_every_catalog_entry_is_used_by_a_lane if {
	used := {id | some spec in config.lanes; some id in spec.checks}
	every id, _ in config.checks {
		id in used
	}
}

test_higher_lanes_include_lower_lanes if {
	every id in lib.lane_checks("candidate") {
		id in lib.lane_checks("integration")
	}
	every id in lib.lane_checks("integration") {
		id in lib.lane_checks("production")
	}
	count(lib.lane_checks("candidate")) == 17
	count(lib.lane_checks("integration")) == 23
	count(lib.lane_checks("production")) == 30
}

test_production_ready_input_passes_every_lane if {
	decisions := [candidate.decision, integration.decision, production.decision] with input as good
	every d in decisions {
		d.allow
		d.summary.pass == count(d.checks)
	}
}

low_coverage := json.patch(good, [
	{"op": "add", "path": "/evidence/coverage/0/data/line_percent", "value": 84.2},
	{"op": "add", "path": "/evidence/coverage/0/data/lines_covered", "value": 842},
])

test_integration_requires_more_coverage_than_candidate if {
	candidate.decision.allow with input as low_coverage
	d := integration.decision with input as low_coverage
	not d.allow
	c := check(d, "coverage.line")
	c.status == "fail"
	c.message == "line coverage 84.20% is not above the 90% this lane requires (842/1000 lines)"
	c.severity == "high"
	c.needs == ["coverage"]
}

test_manifest_tightens_the_shipped_threshold if {
	strict := json.patch(good, [{"op": "add", "path": "/manifest/thresholds", "value": {"production": {"coverage_line_min": 95}}}])
	d := production.decision with input as strict
	check(d, "coverage.line").message == "line coverage 93.50% is not above the 95% this lane requires (935/1000 lines)"
}

test_manifest_cannot_loosen_the_shipped_threshold if {
	loose := json.patch(low_coverage, [{"op": "add", "path": "/manifest/thresholds", "value": {"integration": {"coverage_line_min": 50, "sast_severity_max": "critical"}}}])
	d := integration.decision with input as loose
	check(d, "coverage.line").status == "fail"
	check(d, "security.sast").message == "2 report(s) from bandit, semgrep, no finding above low"
}

waived(inp, check_id, lane) := json.patch(inp, [{"op": "add", "path": "/waivers", "value": [{
	"check": check_id, "module": "payments", "lane": lane, "reason": "tests being written",
	"approver": "qa-lead", "expires": "2026-12-31T00:00:00Z",
}]}])

test_waiver_turns_a_failure_into_waived if {
	d := integration.decision with input as waived(low_coverage, "coverage.line", "integration")
	d.allow
	check(d, "coverage.line").status == "waived"
}

test_expired_waiver_is_ignored if {
	inp := json.patch(waived(low_coverage, "coverage.line", "integration"), [{"op": "add", "path": "/now", "value": "2027-01-02T00:00:00Z"}])
	d := integration.decision with input as inp
	not d.allow
}

advisory := json.patch(good, [{"op": "add", "path": "/manifest/safety/mode", "value": "advisory"}])

test_production_forbids_waiving_safety if {
	d := production.decision with input as waived(advisory, "safety.mode", "production")
	not d.allow
	check(d, "safety.mode").status == "fail"
	integration.decision.allow with input as waived(advisory, "safety.mode", "integration")
}

test_missing_evidence_denies if {
	inp := json.patch(good, [{"op": "remove", "path": "/evidence/chaos"}])
	d := candidate.decision with input as inp
	not d.allow
	statuses(d)["chaos.basic"] == "missing"
	d.summary.missing == 1
}
