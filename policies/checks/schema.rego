# Schema checks
# Each schema document compares a module's current JSON Schema with its golden snapshot.
#   No lane accepts breaking drift; integration also wants the snapshot kept current, so the
#   next change is judged against the shape that really ships.
# A check's `result` is one line, its body only the id equality OPA indexes, calling a rule or
#   function named after the check; never an else under it (see lib.lane_decision).
package readiness.checks

import data.readiness.lib
import rego.v1

schema_docs := lib.docs("schema")

# METADATA
# title: No breaking schema drift from the golden snapshot
# description: >-
#   No schema has more breaking changes from its golden snapshot than the lane's
#   schema_breaking_max.
# custom:
#   id: schema.compat
#   severity: high
#   remediation: >-
#     Restore the removed or narrowed schema parts, or version the schema as a new major.
result(id, lane) := schema_compat(lane) if id == "schema.compat"

schema_compat(lane) := lib.verdict(
	{sprintf("%s: %d breaking change(s): %s", [d.scope, d.data.breaking_count, changes]) |
		some d in schema_docs
		d.data.breaking_count > lib.threshold(lane, "schema_breaking_max")
		changes := concat("; ", sort([sprintf("%s at %s (%s)", [b.change, b.path, b.detail]) | some b in d.data.breaking]))
	},
	sprintf("%d schema(s) without breaking drift from their snapshot", [count(schema_docs)]),
	lib.digests(schema_docs),
) if {
	count(schema_docs) > 0
} else := lib.missing("schema")

# METADATA
# title: Schema evolution protected (snapshot current)
# description: >-
#   Every schema has a golden snapshot that records all but schema_unrecorded_changes_max of its
#   changes.
# custom:
#   id: schema.evolution
#   severity: medium
#   remediation: >-
#     Review the compatible changes and update the golden snapshot so the next change is judged
#     against it.
result(id, lane) := schema_evolution(lane) if id == "schema.evolution"

schema_evolution(lane) := lib.verdict(
	{sprintf("%s: %d change(s) not yet recorded in the snapshot (%s); at most %v allowed", [d.scope, n, concat(", ", sort({c.path | some c in d.data.compatible})), limit]) |
		some d in schema_docs
		limit := lib.threshold(lane, "schema_unrecorded_changes_max")
		n := count(d.data.compatible) + count(d.data.breaking)
		n > limit
	} | {sprintf("%s: no golden snapshot to compare with", [d.scope]) |
		some d in schema_docs
		object.get(d.data, "snapshot_digest", null) in {null, ""}
	},
	sprintf("%d schema(s) match their golden snapshot", [count(schema_docs)]),
	lib.digests(schema_docs),
) if {
	count(schema_docs) > 0
} else := lib.missing("schema")
