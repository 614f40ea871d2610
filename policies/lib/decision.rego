# METADATA
# title: Decision assembly shared by every lane
# description: >-
#   Turns per-check results into the lane decision: merges each check's catalog entry
#   (title, severity, remediation, evidence kinds), applies enforcement and waivers, and denies
#   unless every check passed, was validly waived, or is advisory at the evaluation time. A check
#   without a result is `missing`, which denies unless the check is advisory.
package readiness.lib

import data.readiness.checks
import rego.v1

config := data.readiness.config

# Lanes in promotion order: the config's `lane_order`, the one place a pack writes its lane list
# (readypolicy reads the pack's lanes from it too; OPA keeps no order among object keys).
lane_order := config.lane_order

# Check ids of a lane: its own plus every lower lane's, in lane order.
lane_checks(lane) := checks_by_lane[lane]

# Thresholds of a lane: lower lanes' values overridden by higher lanes' up to this one.
lane_thresholds(lane) := thresholds_by_lane[lane]

# Both tables are rules, not function bodies, so OPA computes them once per evaluation instead
# of once per check and threshold lookup. The lane's own position j is bound in the body, not
# looked up again for every lower lane.
checks_by_lane[lane] := [id |
	some i, l in lane_order
	i <= j
	some id in config.lanes[l].checks
] if {
	some j, lane in lane_order
}

thresholds_by_lane[lane] := object.union_n([object.get(config.lanes[l], "thresholds", {}) |
	some i, l in lane_order
	i <= j
]) if {
	some j, lane in lane_order
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
# (The override is looked up first: most thresholds have none, so one table lookup, in the else
# branch, is all they cost.)
threshold(lane, name) := tightened(name, base, override) if {
	override := input.manifest.thresholds[lane][name]
	base := lane_thresholds(lane)[name]
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
	some d in object.get(input.evidence, kind, []) # docs(kind), without a call per lookup
	d.scope == scope
}

# An operations record of a type (its scope is its type).
operation(type) := d if {
	d := doc_in_scope("operations", type)
	d.data.type == type
}

missing_operation(type) := missing(sprintf("operations (type %s)", [type]))

day_ns := (24 * 3600) * 1000000000

# The evaluation time (input.now, never the clock) in nanoseconds, parsed once per evaluation.
now_ns := time.parse_rfc3339_ns(input.now)

# Whole days between a moment and the evaluation time.
age_days(moment) := (now_ns - time.parse_rfc3339_ns(moment)) / day_ns

# Numbers for messages: `sprintf("%.2f")` cannot format integers, these can.
two_decimals(x) := sprintf("%s.00", [format_int(x, 10)]) if {
	x == round(x)
} else := sprintf("%.2f", [x])

digests(ds) := [d.digest | some d in ds]

pass(message, evidence) := {"status": "pass", "message": message, "evidence": evidence}

fail(message, evidence) := {"status": "fail", "message": message, "evidence": evidence}

missing(kind) := {
	"status": "missing",
	"message": sprintf("no %s evidence was ingested for this module revision", [kind]),
	"evidence": [],
}

# A failing verdict listing every problem, or a pass with its message. No pass without a message:
# a check whose passing message could not be built (a field its evidence lacks) has no result,
# which the assembly reports as missing.
# (The objects of `fail` and `pass`, written out: every check ends here, and a call costs more than
# the object. The pass is tried first, as most checks pass: one count instead of two.)
verdict(problems, ok_message, evidence) := {"status": "pass", "message": ok_message, "evidence": evidence} if {
	count(problems) == 0
	ok_message != ""
} else := {"status": "fail", "message": concat("; ", sort(problems)), "evidence": evidence} if {
	count(problems) > 0
}

# Whether a waiver may turn check `id` green in `lane`. The catalog entry is the one place that
# says so: `waivable: false` (never) or `unwaivable_in: [lanes]`. A check the catalog does not
# list, or an entry whose `waivable` is anything but true or whose `unwaivable_in` is not a list
# (a typo must not make a check waivable), is not waivable.
waivable(id, lane) if {
	entry := config.checks[id]
	object.get(entry, "waivable", true) == true
	unwaivable_in := object.get(entry, "unwaivable_in", [])
	is_array(unwaivable_in)
	not lane in unwaivable_in
}

# A waiver is in force at the evaluation time (input.now) when it was created by then, has not
# expired, and runs no longer than the pack allows in the lane (waivers.lifetime_days_max, from
# its `created`): a waiver expiring in 2199 never is. A lane without a lifetime has no waivers.
in_force(w, lane) if {
	created := time.parse_rfc3339_ns(w.created)

	# Both times are parsed before either is compared: under --strict-builtin-errors a malformed
	# `expires` is an error whatever `created` says, never a waiver silently skipped.
	# regal ignore:defer-assignment
	expires := time.parse_rfc3339_ns(w.expires)
	created <= now_ns
	now_ns < expires
	expires - created <= config.waivers.lifetime_days_max[lane] * day_ns
}

# The waiver applying to a check: one naming this check, module and lane, in force, for a check
# the catalog lets be waived in the lane. Of several, the one expiring first (then the least in
# sort order), so the answer is one waiver whatever their order in the input.
# (Whether the check is waivable is asked last: most failing checks have no waiver at all.)
waiver_for(id, lane) := ranked[0][1] if {
	ranked := sort([[time.parse_rfc3339_ns(w.expires), w] |
		some w in object.get(input, "waivers", [])
		w.check == id
		w.module == input.module
		w.lane == lane
		owned(w)
		in_force(w, lane)
	])
	count(ranked) > 0
	waivable(id, lane)
}

# How a check is enforced at the evaluation time (input.now, so a replay agrees): `blocking` or
# `advisory`. A check with `enforce_from: "YYYY-MM-DD"` is advisory before that day (00:00 UTC)
# and blocking from it; otherwise its catalog `enforcement`, else the pack's `enforcement.default`,
# else blocking. Anything but the exact word "advisory" is blocking and an unparseable date is
# never advisory (an error under --strict-builtin-errors, as readypolicy evaluates), so a
# malformed entry can never relax a check; readypolicy refuses such a catalog before evaluating.
# A check the catalog does not list is blocking.
enforcement(id) := object.get(enforcement_fields, [id, "enforcement"], "blocking")

default_enforcement := object.get(object.get(config, "enforcement", {}), "default", "blocking")

# The enforcement fields of every catalog entry with an `enforce_from`, whichever lane lists it,
# so under --strict-builtin-errors a malformed date is an error in every lane (see below). A
# deciding lane reads the whole table, so every such entry is judged.
scheduled_checks[id] := scheduled_fields(entry) if {
	some id, entry in config.checks
	object.get(entry, "enforce_from", null) != null
}

# The enforcement fields: what readypolicy re-derives from the catalog and input.now before it
# stores or signs the decision. A check without `enforce_from` (or with `enforce_from: null`, as
# readypolicy reads it too) takes its `enforcement` or the pack default through a table lookup
# (written out as in decide, where a function call would cost more than the lookup).
# Every catalog entry is judged, so under --strict-builtin-errors a malformed `enforce_from` is
# an error in every lane, not only in the lanes that list the check.
enforcement_fields[id] := object.get(scheduled_checks, id, {"enforcement": advisory_if[object.get(entry, "enforcement", default_enforcement) == "advisory"]}) if {
	some id, entry in config.checks
}

advisory_if := {true: "advisory", false: "blocking"}

scheduled_fields(entry) := {"enforcement": scheduled_enforcement(entry), "enforce_from": entry.enforce_from} if {
	enforce_from_ns(entry)
} else := {"enforcement": "blocking"}

# Advisory only before the day; from it, or without an evaluation time, blocking.
scheduled_enforcement(entry) := "advisory" if {
	now_ns < enforce_from_ns(entry)
} else := "blocking"

enforce_from_ns(entry) := time.parse_ns("2006-01-02", entry.enforce_from)

# An advisory check that fails or lacks evidence warns (`warn`) instead of blocking.
apply_enforcement(enforcement, r) := object.union(r, {
	"status": "warn",
	"message": sprintf("%s (advisory%s: does not block)", [r.message, enforce_note(enforcement)]),
}) if {
	enforcement.enforcement == "advisory"
} else := r

enforce_note(enforcement) := sprintf(" until %s", [enforcement.enforce_from]) if {
	enforcement.enforce_from
} else := ""

# A waiver naming an `owner` (a waiver given for a pattern of modules must) covers only a module
# the pack's data gives that team: `waivers.owners: {<team>: [<module>, ...]}`, exact module names
# kept by the platform with the pack (and so bound into the policy digest). Never the module's
# manifest: its `owner` is the module's own claim. A team or module the table does not list, or a
# team whose entry is not a list, owns nothing: an unknown ownership never widens a waiver.
owned(w) if not "owner" in object.keys(w)

owned(w) if {
	modules := config.waivers.owners[w.owner]
	is_array(modules)
	input.module in modules
}

apply_waiver(id, lane, r) := object.union(r, {
	"status": "waived",
	"message": sprintf("%s (waived until %s by %s: %s)", [r.message, w.expires, w.approver, w.reason]),
	"waiver": w,
}) if {
	r.status == "fail"
	w := waiver_for(id, lane)
} else := r

# The input holds an empty waiver list, or none.
no_waivers if object.get(input, "waivers", []) == []

undefined_result(id) := {
	"status": "missing",
	"message": sprintf("check %s produced no result (no rule or no evidence shape matched)", [id]),
	"evidence": [],
}

# The result of check `id` after enforcement and waivers. Most results pass and are left as they
# are, which the first branch decides with one comparison; a failing one may turn `warn`
# (advisory) and a failing blocking one `waived`; a check without a result is `missing`, which
# only enforcement can soften.
settled(id, lane, enforcement, results) := r if {
	r := results[id]
	not r.status in {"fail", "missing"}
} else := r if {
	# A blocking check's result stands as it is when the input holds no waiver at all (as in
	# most evaluations): what the next branch would conclude, without its chain of calls.
	r := results[id]
	enforcement.enforcement != "advisory"
	no_waivers
} else := apply_waiver(id, lane, apply_enforcement(enforcement, r)) if {
	r := results[id]
} else := apply_enforcement(enforcement, undefined_result(id))

# Assemble a lane decision from the results of the `result(id, lane)` function given.
decide(lane, results) := {
	"lane": lane,
	"allow": ((summary.pass + summary.waived) + summary.warn) == count(assembled),
	"checks": assembled,
	"summary": summary,
} if {
	# A lane the pack does not list (or a config without `lane_order`) has no decision, never an
	# empty one: with no checks to block it, it would allow.
	lane_checks(lane)

	# Each check of the lane: its catalog fields under its result, its enforcement fields over it,
	# written out in this one comprehension (no table of fields per check first, no function call:
	# each costs more than the objects it returns). A check the catalog does not list (or lists
	# without these fields) yields nothing here, which the count below turns into no decision.
	# The enforcement of every catalog entry with an `enforce_from` is judged (scheduled_checks),
	# so under --strict-builtin-errors a malformed date is an error in every lane, even one with no
	# check of its own to assemble: the table is taken whole here, outside the comprehension.
	# regal ignore:pointless-reassignment
	scheduled := scheduled_checks
	assembled := [object.union_n([
		{"id": id, "title": entry.title, "severity": entry.severity, "remediation": entry.remediation, "needs": entry.needs},
		settled(id, lane, enforcement, results),
		enforcement,
	]) |
		some id in lane_checks(lane)
		entry := config.checks[id]
		enforcement := object.get(scheduled, id, {"enforcement": advisory_if[object.get(entry, "enforcement", default_enforcement) == "advisory"]})
	]

	# Every check of the lane is in the decision, or there is no decision: a check dropped by a
	# catalog entry or enforcement setting OPA cannot read would otherwise leave nothing to block.
	count(assembled) == count(lane_checks(lane))

	# Every status is counted, zero included, so a failing or missing check always shows here.
	summary := {s: n | some s in ["pass", "fail", "missing", "waived", "warn"]; n := count([c | some c in assembled; c.status == s])}
}

# The decision of a lane from the checks library: what every lane package exposes.
# OPA indexes a function by equalities on its arguments in rule bodies, not by the constants in
# its heads: with `result("docs.present", lane) := ...` each `checks.result(id, lane)` call would
# try every `result` head of the pack. So a check's `result` is one line whose body is only the id
# equality, calling a rule or function named after the check that holds its branches
# (`result(id, lane) := docs_present(lane) if id == "docs.present"`), and the indexer picks the
# one head. Never an else under such a head: the head matches any id, so the else would answer
# for every other check (tests/test_policy_indexed_dispatch.py and `policy check` refuse it).
lane_decision(lane) := decide(lane, {id: r | some id in lane_checks(lane); r := checks.result(id, lane)})
