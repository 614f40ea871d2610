# Helpers for the check tests: evaluate one check against the fixture configuration, and
# derive failing or incomplete inputs from the production-ready one.
package readiness.checks_test

import data.readiness.checks
import rego.v1

# The result of check `id` for `lane` on input `inp`.
res(id, lane, inp) := r if {
	r := checks.result(id, lane) with input as inp with data.readiness.config as config
}

status(id, lane, inp) := res(id, lane, inp).status

message(id, lane, inp) := res(id, lane, inp).message

# `good` with one value of a document's data replaced (or added): kind, scope, JSON pointer.
set(kind, scope, path, value) := patch(kind, scope, [{"op": "add", "path": path, "value": value}])

patch(kind, scope, ops) := object.union(good, {"evidence": object.union(good.evidence, {kind: [patched_doc(d, scope, ops) | some d in good.evidence[kind]]})})

patched_doc(d, scope, ops) := json.patch(d, [{"op": "add", "path": "/data", "value": json.patch(d.data, ops)}]) if {
	d.scope == scope
} else := d

# `good` without the document of a kind in a scope, or without any document of a kind.
drop(kind, scope) := object.union(good, {"evidence": object.union(good.evidence, {kind: [d | some d in good.evidence[kind]; d.scope != scope]})})

drop_kind(kind) := json.patch(good, [{"op": "remove", "path": sprintf("/evidence/%s", [kind])}])

# `good` with a document added to a kind.
add_doc(kind, d) := object.union(good, {"evidence": object.union(good.evidence, {kind: array.concat(good.evidence[kind], [d])})})

# `good` with manifest values replaced (JSON pointer below /manifest).
manifest_set(path, value) := json.patch(good, [{"op": "add", "path": concat("", ["/manifest", path]), "value": value}])

no_manifest := object.union(good, {"manifest": null})

op_set(type, key, value) := set("operations", type, concat("", ["/details/", key]), value)
