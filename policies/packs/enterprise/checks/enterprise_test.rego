# Tests of the enterprise pack: its own checks and its levels, with its real configuration.
package readiness.enterprise_test

import data.readiness.candidate
import data.readiness.checks
import data.readiness.checks_test
import data.readiness.integration
import data.readiness.lanes_test
import data.readiness.lib
import data.readiness.production
import rego.v1

# This pack's own configuration, wherever it was loaded: `readypolicy policy test` stages the pack
# as its bundle (data.readiness.config), `opa test policies/` loads every pack at once, each data
# file at its directory's path (policies/packs/enterprise/config → data.packs.enterprise.config). Everything
# below evaluates `with data.readiness.config as config`, so both runs test this pack's values.
config := data.packs.enterprise.config if {
	is_object(data.packs.enterprise.config)
} else := data.readiness.config

lane_checks(lane) := ids if {
	ids := lib.lane_checks(lane) with data.readiness.config as config
}

waivable(id, lane) if {
	lib.waivable(id, lane) with data.readiness.config as config
}

record(type, details) := {
	"digest": sprintf("sha256:%s", [crypto.sha256(type)]),
	"scope": type, "format": "readypolicy-operations", "producer": {"tool": "fixture", "version": "1"},
	"collected_at": "2026-11-20T12:00:00Z",
	"data": {"type": type, "result": "passed", "performed_at": "2026-11-02T09:00:00Z", "details": details},
}

backup := {"restore_verified": true, "rto_minutes": 42, "rpo_minutes": 10, "rto_target_minutes": 120, "rpo_target_minutes": 30}

endpoints := {"endpoints": {
	"health": {"path": "/health", "ok": true},
	"ready": {"path": "/ready", "ok": true},
	"live": {"path": "/live", "ok": true},
}}

ready := json.patch(checks_test.good, [{"op": "add", "path": "/evidence/operations", "value": array.concat(
	checks_test.good.evidence.operations,
	[record("backup-restore", backup), record("health-endpoints", endpoints)],
)}])

with_backup(details) := json.patch(ready, [{"op": "add", "path": "/evidence/operations", "value": array.concat(
	[d | some d in ready.evidence.operations; d.scope != "backup-restore"],
	[record("backup-restore", details)],
)}])

res(id, lane, inp) := r if {
	r := checks.result(id, lane) with input as inp with data.readiness.config as config
}

# Levels

test_levels_accumulate if {
	lane_checks("candidate") == ["manifest.present", "tests.unit", "coverage.line", "security.sast"]
	lanes_test.lanes_accumulate(config)
	every id in lane_checks("production") {
		config.checks[id].title
	}
}

test_ready_input_passes_every_level if {
	decisions := [candidate.decision, integration.decision, production.decision] with input as ready with data.readiness.config as config
	every d in decisions {
		d.allow
		d.summary.pass == count(d.checks)
	}
}

test_ci_gate_coverage_is_above_80_in_every_level if {
	inp := json.patch(ready, [{"op": "add", "path": "/evidence/coverage/0/data/line_percent", "value": 85}])
	production.decision.allow with input as inp with data.readiness.config as config
	low := json.patch(ready, [{"op": "add", "path": "/evidence/coverage/0/data/line_percent", "value": 80}])
	r := res("coverage.line", "production", low)
	r.message == "line coverage 80.00% is not above the 80% this lane requires (935/1000 lines)"
}

test_liveness_endpoint_required if {
	inp := json.patch(ready, [{"op": "add", "path": "/evidence/operations", "value": array.concat(
		[d | some d in ready.evidence.operations; d.scope != "health-endpoints"],
		[record("health-endpoints", {"endpoints": {"health": {"path": "/health", "ok": true}, "ready": {"path": "/ready", "ok": true}}})],
	)}])
	res("health.endpoints", "integration", inp).message == "live endpoint is not shown answering (not recorded)"
}

# backup.restore

test_backup_pass if res("backup.restore", "production", ready).message == "backup restored and verified on 2026-11-02T09:00:00Z"

test_backup_fail_unverified if {
	r := res("backup.restore", "production", with_backup(object.union(backup, {"restore_verified": false})))
	r.status == "fail"
	r.message == "restore_verified is not shown (false)"
}

test_backup_fail_stale if {
	inp := json.patch(ready, [{"op": "add", "path": "/now", "value": "2027-03-01T09:00:00Z"}])
	res("backup.restore", "production", inp).message == "the backup-restore was performed 119 days ago; this lane accepts 90 at most"
}

production_waiver(inp, check_id) := json.patch(inp, [{"op": "add", "path": "/waivers", "value": [{
	"check": check_id, "module": "payments", "lane": "production", "reason": "r",
	"approver": "a", "created": "2026-11-18T00:00:00Z", "expires": "2026-11-24T00:00:00Z",
}]}])

test_backup_cannot_be_waived if {
	not production.decision.allow with input as production_waiver(with_backup(object.union(backup, {"restore_verified": false})), "backup.restore") with data.readiness.config as config
	every lane in config.lane_order {
		not waivable("backup.restore", lane)
	}
}

test_recovery_objectives_can_be_waived_for_the_production_lifetime if {
	missed := with_backup(object.union(backup, {"rpo_minutes": 45}))
	production.decision.allow with input as production_waiver(missed, "recovery.objectives") with data.readiness.config as config
	too_long := json.patch(production_waiver(missed, "recovery.objectives"), [{"op": "add", "path": "/waivers/0/expires", "value": "2026-11-26T00:00:00Z"}])
	not production.decision.allow with input as too_long with data.readiness.config as config
}

test_backup_missing if res("backup.restore", "production", checks_test.good).status == "missing"

# recovery.objectives

test_objectives_pass if res("recovery.objectives", "production", ready).message == "RTO 42 min (target 120), RPO 10 min (target 30)"

test_objectives_fail_undefined if {
	r := res("recovery.objectives", "production", with_backup({"restore_verified": true, "rto_minutes": 42, "rpo_minutes": 10}))
	r.status == "fail"
	r.message == "the RPO target (minutes) is not recorded; this lane requires at most 60; the RTO target (minutes) is not recorded; this lane requires at most 240"
}

test_objectives_fail_target_too_loose if {
	res("recovery.objectives", "production", with_backup(object.union(backup, {"rto_target_minutes": 600}))).message == "the RTO target (minutes) is 600; this lane requires at most 240"
}

test_objectives_fail_missed if {
	res("recovery.objectives", "production", with_backup(object.union(backup, {"rpo_minutes": 45}))).message == "the drill's RPO of 45 min misses its 30 min target"
}

test_objectives_missing if res("recovery.objectives", "production", checks_test.good).status == "missing"
