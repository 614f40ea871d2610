# Checks of the enterprise pack: tested backups and defined recovery objectives.
# A check's `result` is one line, its body only the id equality OPA indexes, calling a rule or
#   function named after the check; never an else under it (see lib.lane_decision).
package readiness.checks

import data.readiness.lib
import rego.v1

# backup-restore {restore_verified: bool, rto_minutes, rpo_minutes, rto_target_minutes,
# rpo_target_minutes}: a backup was restored into a fresh environment and checked.
# METADATA
# title: Backup restore tested
# description: >-
#   A recent, passed backup-restore drill restored a backup into a fresh environment and verified
#   it.
# custom:
#   id: backup.restore
#   severity: critical
#   remediation: >-
#     Restore a backup into a fresh environment, verify the data, ingest a BackupRestore record.
result(id, lane) := backup_restore(lane) if id == "backup.restore"

backup_restore(lane) := lib.verdict(
	drill_problems(d, lane) | all_true(d, ["restore_verified"]),
	sprintf("backup restored and verified on %s", [d.data.performed_at]),
	[d.digest],
) if {
	d := lib.operation("backup-restore")
} else := lib.missing_operation("backup-restore")

# RTO/RPO are defined (targets within the pack's ceilings) and the restore met them.
# METADATA
# title: RTO and RPO defined and met
# description: >-
#   The RTO and RPO targets are within the pack's ceilings and the backup-restore drill met them.
# custom:
#   id: recovery.objectives
#   severity: high
#   remediation: >-
#     Define RTO/RPO targets within the enterprise ceilings and show a restore meeting them.
result(id, lane) := recovery_objectives(lane) if id == "recovery.objectives"

recovery_objectives(lane) := lib.verdict(
	((bounded(d, "rto_target_minutes", lane, "rto_target_minutes_max", "the RTO target (minutes)") | bounded(d, "rpo_target_minutes", lane, "rpo_target_minutes_max", "the RPO target (minutes)")) | objective_misses(d)),
	sprintf("RTO %v min (target %v), RPO %v min (target %v)", [detail(d, "rto_minutes"), detail(d, "rto_target_minutes"), detail(d, "rpo_minutes"), detail(d, "rpo_target_minutes")]),
	[d.digest],
) if {
	d := lib.operation("backup-restore")
} else := lib.missing_operation("backup-restore")

objective_misses(d) := {sprintf("the drill's %s of %v min misses its %v min target", [upper(kind), detail(d, measured), detail(d, target)]) |
	some kind in ["rto", "rpo"]
	measured := concat("_", [kind, "minutes"])
	target := concat("_", [kind, "target_minutes"])
	not detail(d, measured) <= detail(d, target)
}
