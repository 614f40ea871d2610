# Tests of the readiness pack as shipped: its lanes, thresholds and unwaivable checks, evaluated
# through the lane packages with the real configuration.
package readiness.config_test

import data.readiness.candidate
import data.readiness.checks_test
import data.readiness.integration
import data.readiness.lanes_test
import data.readiness.lib
import data.readiness.licenses_test
import data.readiness.production
import rego.v1

# This pack's own configuration, wherever it was loaded: `readypolicy policy test` stages the pack
# as its bundle (data.readiness.config), `opa test policies/` loads every pack at once, each data
# file at its directory's path (policies/config → data.config). Everything
# below evaluates `with data.readiness.config as config`, so both runs test this pack's values.
config := data.config if {
	is_object(data.config)
} else := data.readiness.config

lane_checks(lane) := ids if {
	ids := lib.lane_checks(lane) with data.readiness.config as config
}

waivable(id, lane) if {
	lib.waivable(id, lane) with data.readiness.config as config
}

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
	every id in lane_checks("candidate") {
		id in lane_checks("integration")
	}
	every id in lane_checks("integration") {
		id in lane_checks("production")
	}
	lanes_test.lanes_accumulate(config)
}

# The checks' production-ready input plus what only this pack's lanes ask for.
ready := json.patch(checks_test.good, [{"op": "add", "path": "/evidence/sbom", "value": [licenses_test.sbom("default", ["Apache-2.0", "MIT"], 0)]}])

test_production_ready_input_passes_every_lane if {
	decisions := [candidate.decision, integration.decision, production.decision] with input as ready with data.readiness.config as config
	every d in decisions {
		d.allow
		d.summary.pass == count(d.checks)
	}
}

low_coverage := json.patch(checks_test.good, [
	{"op": "add", "path": "/evidence/coverage/0/data/line_percent", "value": 84.2},
	{"op": "add", "path": "/evidence/coverage/0/data/lines_covered", "value": 842},
])

test_integration_requires_more_coverage_than_candidate if {
	candidate.decision.allow with input as low_coverage with data.readiness.config as config
	d := integration.decision with input as low_coverage with data.readiness.config as config
	not d.allow
	c := check(d, "coverage.line")
	c.status == "fail"
	c.message == "line coverage 84.20% is not above the 90% this lane requires (842/1000 lines)"
	c.severity == "high"
	c.needs == ["coverage"]
}

test_manifest_tightens_the_shipped_threshold if {
	strict := json.patch(checks_test.good, [{"op": "add", "path": "/manifest/thresholds", "value": {"production": {"coverage_line_min": 95}}}])
	d := production.decision with input as strict with data.readiness.config as config
	check(d, "coverage.line").message == "line coverage 93.50% is not above the 95% this lane requires (935/1000 lines)"
}

test_manifest_cannot_loosen_the_shipped_threshold if {
	loose := json.patch(low_coverage, [{"op": "add", "path": "/manifest/thresholds", "value": {"integration": {"coverage_line_min": 50, "sast_severity_max": "critical"}}}])
	d := integration.decision with input as loose with data.readiness.config as config
	check(d, "coverage.line").status == "fail"
	check(d, "security.sast").message == "2 report(s) from bandit, semgrep, no finding above low; files scanned: bandit unknown, semgrep unknown"
}

waived(inp, check_id, lane) := json.patch(inp, [{"op": "add", "path": "/waivers", "value": [{
	"check": check_id, "module": "payments", "lane": lane, "reason": "tests being written",
	"approver": "qa-lead", "created": "2026-11-18T00:00:00Z", "expires": "2026-11-24T00:00:00Z",
}]}])

test_waiver_turns_a_failure_into_waived if {
	d := integration.decision with input as waived(low_coverage, "coverage.line", "integration") with data.readiness.config as config
	d.allow
	check(d, "coverage.line").status == "waived"
}

test_expired_waiver_is_ignored if {
	inp := json.patch(waived(low_coverage, "coverage.line", "integration"), [{"op": "add", "path": "/now", "value": "2026-11-24T00:00:00Z"}])
	d := integration.decision with input as inp with data.readiness.config as config
	not d.allow
}

advisory := json.patch(checks_test.good, [{"op": "add", "path": "/manifest/safety/mode", "value": "advisory"}])

test_production_forbids_waiving_safety if {
	d := production.decision with input as waived(advisory, "safety.mode", "production") with data.readiness.config as config
	not d.allow
	check(d, "safety.mode").status == "fail"
	integration.decision.allow with input as waived(advisory, "safety.mode", "integration") with data.readiness.config as config
}

# Waivers as the pack ships them: which checks, in which lane, for how long.

test_waivability_is_declared_only_in_the_catalog if {
	every spec in config.lanes {
		not spec.unwaivable
	}
	every _, entry in config.checks {
		is_boolean(object.get(entry, "waivable", true))
		is_array(object.get(entry, "unwaivable_in", []))
		every lane in object.get(entry, "unwaivable_in", []) {
			lane in config.lane_order
		}
	}
}

test_every_lane_has_a_waiver_lifetime if {
	config.waivers.lifetime_days_max == {"candidate": 30, "integration": 14, "production": 7}
}

test_critical_vulns_unwaivable_in_every_lane if {
	every lane in config.lane_order {
		not waivable("security.no_critical_vulns", lane)
	}
}

test_unwaivable_checks_per_lane if {
	{id | some id in lane_checks("candidate"); not waivable(id, "candidate")} == {"security.no_critical_vulns"}
	{id | some id in lane_checks("integration"); not waivable(id, "integration")} == {"security.no_critical_vulns"}
	never := {"security.no_critical_vulns", "chaos.matrix", "gdpr.evidence", "audit.logging"}
	in_production := {"manifest.present", "safety.default_on", "safety.mode", "safety.killswitch_drill"}
	{id | some id in lane_checks("production"); not waivable(id, "production")} == never | in_production
}

test_waiver_longer_than_the_production_lifetime_is_ignored if {
	# 6 days run: fine in production (7); 8 days: not, although integration would take it.
	check(production.decision, "coverage.line").status == "waived" with input as waived(low_coverage, "coverage.line", "production") with data.readiness.config as config
	long := json.patch(waived(low_coverage, "coverage.line", "production"), [{"op": "add", "path": "/waivers/0/expires", "value": "2026-11-26T00:00:00Z"}])
	check(production.decision, "coverage.line").status == "fail" with input as long with data.readiness.config as config
	check(integration.decision, "coverage.line").status == "waived" with input as json.patch(long, [{"op": "add", "path": "/waivers/0/lane", "value": "integration"}]) with data.readiness.config as config
}

test_missing_evidence_denies if {
	inp := json.patch(checks_test.good, [{"op": "remove", "path": "/evidence/chaos"}])
	d := candidate.decision with input as inp with data.readiness.config as config
	not d.allow
	statuses(d)["chaos.basic"] == "missing"
	d.summary.missing == 1
}
