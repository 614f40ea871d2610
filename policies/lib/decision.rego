# METADATA
# title: Decision assembly shared by every lane
# description: >-
#   Turns per-check results into the lane decision: merges each check's catalog entry
#   (title, severity, remediation, evidence kinds), applies waivers, and denies unless every
#   check passed or was validly waived. A check without a result is `missing`, which denies.
package readiness.lib

import data.readiness.checks
import rego.v1

config := data.readiness.config

lane_order := ["candidate", "integration", "production"]

lane_index(lane) := i if {
	some i, l in lane_order
	l == lane
}

# Check ids of a lane: its own plus every lower lane's, in lane order.
lane_checks(lane) := checks_by_lane[lane]

# Thresholds of a lane: lower lanes' values overridden by higher lanes' up to this one.
lane_thresholds(lane) := thresholds_by_lane[lane]

# Both tables are rules, not function bodies, so OPA computes them once per evaluation instead
# of once per check and threshold lookup (functions are not memoized).
checks_by_lane := {lane: [id |
	some i, l in lane_order
	i <= lane_index(lane)
	some id in config.lanes[l].checks
] |
	some lane in lane_order
}

thresholds_by_lane := {lane: object.union_n([object.get(config.lanes[l], "thresholds", {}) |
	some i, l in lane_order
	i <= lane_index(lane)
]) |
	some lane in lane_order
}

# Ordered scales for thresholds whose values are words: a higher rank is more severe
# (severity) or stricter (safety mode).
scales := {
	"severity": {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4},
	"safety_mode": {"off": 0, "advisory": 1, "strict": 2},
}

severity_rank(severity) := scales.severity[severity]

# The scale a word belongs to (scales share no words).
scale_of(word) := name if {
	some name, ranks in scales
	ranks[word]
}

# A threshold after the manifest's overrides, which may tighten but never loosen it.
# By name and type: numbers ending in _min are floors (the higher wins) and in _max or _below
# ceilings (the lower wins); words on a scale compare by rank the same way; booleans ending in
# _required can only be switched on; lists ending in _required can only grow. An override of
# another type than the pack's value is ignored, so a typo cannot loosen anything either.
threshold(lane, name) := tightened(name, base, override) if {
	base := lane_thresholds(lane)[name]
	override := input.manifest.thresholds[lane][name]
	type_name(override) == type_name(base)
} else := lane_thresholds(lane)[name]

tightened(name, base, override) := max({base, override}) if {
	is_number(base)
	endswith(name, "_min")
} else := min({base, override}) if {
	is_number(base)
	ceiling(name)
} else := stricter_word(name, base, override) if {
	is_string(base)
	scale_of(base) == scale_of(override)
} else := or_true(base, override) if {
	is_boolean(base)
	endswith(name, "_required")
} else := sort(array.concat(base, [x | some x in override; not x in base])) if {
	is_array(base)
	endswith(name, "_required")
} else := base

or_true(a, b) if {
	true in {a, b}
} else := false

stricter_word(name, base, override) := pick_rank(scales[scale_of(base)], base, override, ceiling(name))

ceiling(name) if {
	endswith(name, "_max")
} else if {
	endswith(name, "_below")
} else := false

# For a ceiling keep the lower-ranked word, for a floor the higher-ranked one.
pick_rank(ranks, a, b, true) := a if ranks[a] <= ranks[b]

pick_rank(ranks, a, b, true) := b if ranks[b] < ranks[a]

pick_rank(ranks, a, b, false) := a if ranks[a] >= ranks[b]

pick_rank(ranks, a, b, false) := b if ranks[b] > ranks[a]

# Whether a lane manifest was ingested (input.manifest is null otherwise).
has_manifest if is_object(input.manifest)

# Evidence documents of a kind (latest per scope), possibly empty.
docs(kind) := object.get(input.evidence, kind, [])

# The document of a kind in a given scope.
doc_in_scope(kind, scope) := d if {
	some d in docs(kind)
	d.scope == scope
}

# An operations record of a type (its scope is its type).
operation(type) := d if {
	d := doc_in_scope("operations", type)
	d.data.type == type
}

missing_operation(type) := missing(sprintf("operations (type %s)", [type]))

# Whole days between a moment and the evaluation time (input.now, never the clock).
age_days(moment) := (time.parse_rfc3339_ns(input.now) - time.parse_rfc3339_ns(moment)) / ((24 * 3600) * 1000000000)

# Numbers for messages: `sprintf("%.2f")` cannot format integers, these can.
two_decimals(x) := sprintf("%s.00", [format_int(x, 10)]) if {
	x == round(x)
} else := sprintf("%.2f", [x])

one_decimal(x) := sprintf("%s.0", [format_int(x, 10)]) if {
	x == round(x)
} else := sprintf("%.1f", [x])

digests(ds) := [d.digest | some d in ds]

pass(message, evidence) := {"status": "pass", "message": message, "evidence": evidence}

fail(message, evidence) := {"status": "fail", "message": message, "evidence": evidence}

missing(kind) := {
	"status": "missing",
	"message": sprintf("no %s evidence was ingested for this module revision", [kind]),
	"evidence": [],
}

# A failing verdict listing every problem, or a pass with its message.
verdict(problems, ok_message, evidence) := fail(concat("; ", sort(problems)), evidence) if {
	count(problems) > 0
} else := pass(ok_message, evidence)

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
	"checks": assembled,
	"summary": {s: n | some s in ["pass", "fail", "missing", "waived"]; n := count([c | some c in assembled; c.status == s])},
} if {
	assembled := [with_catalog(id, apply_waiver(id, lane, object.get(results, id, undefined_result(id)))) |
		some id in lane_checks(lane)
	]
	blocking := [c | some c in assembled; c.status in {"fail", "missing"}]
}

# The decision of a lane from the checks library: what every lane package exposes.
lane_decision(lane) := decide(lane, {id: r | some id in lane_checks(lane); r := checks.result(id, lane)})
