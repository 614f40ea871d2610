# METADATA
# title: Decision assembly shared by every lane
# description: >-
#   Turns per-check results into the lane decision: merges each check's catalog entry
#   (title, severity, remediation, evidence kinds), applies waivers, and denies unless every
#   check passed or was validly waived. A check without a result is `missing`, which denies.
package readiness.lib

import rego.v1

config := data.readiness.config

lane_order := ["candidate", "integration", "production"]

lane_index(lane) := i if {
	some i, l in lane_order
	l == lane
}

# Check ids of a lane: its own plus every lower lane's, in lane order.
lane_checks(lane) := [id |
	some i, l in lane_order
	i <= lane_index(lane)
	some id in config.lanes[l].checks
]

# Thresholds of a lane: lower lanes' values overridden by higher lanes' up to this one.
lane_thresholds(lane) := object.union_n([config.lanes[l].thresholds |
	some i, l in lane_order
	i <= lane_index(lane)
])

# A threshold after the manifest's overrides, which may tighten but never loosen it:
# names ending in _min are floors (the higher value wins), _max are ceilings (the lower wins).
threshold(lane, name) := max({base, override}) if {
	endswith(name, "_min")
	base := lane_thresholds(lane)[name]
	override := input.manifest.thresholds[lane][name]
	is_number(override)
} else := min({base, override}) if {
	endswith(name, "_max")
	base := lane_thresholds(lane)[name]
	override := input.manifest.thresholds[lane][name]
	is_number(override)
} else := lane_thresholds(lane)[name]

# Evidence documents of a kind (latest per scope), possibly empty.
docs(kind) := object.get(input.evidence, kind, [])

# The document of a kind in a given scope.
doc_in_scope(kind, scope) := d if {
	some d in docs(kind)
	d.scope == scope
}

digests(ds) := [d.digest | some d in ds]

pass(message, evidence) := {"status": "pass", "message": message, "evidence": evidence}

fail(message, evidence) := {"status": "fail", "message": message, "evidence": evidence}

missing(kind) := {
	"status": "missing",
	"message": sprintf("no %s evidence was ingested for this module revision", [kind]),
	"evidence": [],
}

# A waiver applies when it names this check, module and lane, has not expired at the
# evaluation time, and the lane does not forbid waiving the check.
waiver_for(id, lane) := w if {
	some w in object.get(input, "waivers", [])
	w.check == id
	w.module == input.module
	w.lane == lane
	time.parse_rfc3339_ns(w.expires) > time.parse_rfc3339_ns(input.now)
	not id in object.get(config.lanes[lane], "unwaivable", [])
}

apply_waiver(id, lane, r) := object.union(r, {
	"status": "waived",
	"message": sprintf("%s (waived until %s by %s: %s)", [r.message, w.expires, w.approver, w.reason]),
	"waiver": w,
}) if {
	r.status == "fail"
	w := waiver_for(id, lane)
} else := r

with_catalog(id, r) := object.union(
	{
		"id": id,
		"title": entry.title,
		"severity": entry.severity,
		"remediation": entry.remediation,
		"needs": entry.needs,
	},
	r,
) if entry := config.checks[id]

undefined_result(id) := {
	"status": "missing",
	"message": sprintf("check %s produced no result (no rule or no evidence shape matched)", [id]),
	"evidence": [],
}

# Assemble a lane decision from the results of the `result(id, lane)` function given.
decide(lane, results) := {
	"lane": lane,
	"allow": count(blocking) == 0,
	"checks": checks,
	"summary": {s: n | some s in ["pass", "fail", "missing", "waived"]; n := count([c | some c in checks; c.status == s])},
} if {
	checks := [with_catalog(id, apply_waiver(id, lane, object.get(results, id, undefined_result(id)))) |
		some id in lane_checks(lane)
	]
	blocking := [c | some c in checks; c.status in {"fail", "missing"}]
}
