# Documentation checks
# The manifest names the public API, flags and runbook documents (docs: {public_api, flags,
#   runbook}); the docs evidence lists the ingested directory. A manifest path matches a listed
#   file when they are equal or one is the other below a directory prefix.
# A check's `result` is one line, its body only the id equality OPA indexes, calling a rule or
#   function named after the check; never an else under it (see lib.lane_decision).
package readiness.checks

import data.readiness.lib
import rego.v1

docs_declared := object.get(object.get(input, "manifest", {}), "docs", {})

doc_files := [f | some d in lib.docs("docs"); some f in d.data.files]

doc_file(path) := f if {
	some f in doc_files
	path_matches(path, f.path)
}

path_matches(a, b) if a == b

path_matches(a, b) if endswith(a, concat("", ["/", b]))

path_matches(a, b) if endswith(b, concat("", ["/", a]))

docs_problems(lane) := ({sprintf("the manifest names no %s document", [key]) |
	some key in lib.threshold(lane, "docs_required")
	not docs_declared[key]
} | {sprintf("%s document %s is not in the docs evidence", [key, path]) |
	some key in lib.threshold(lane, "docs_required")
	path := docs_declared[key]
	not doc_file(path)
}) | {sprintf("%s document %s is empty", [key, path]) |
	some key in lib.threshold(lane, "docs_required")
	path := docs_declared[key]
	doc_file(path).bytes == 0
}

# METADATA
# title: "Public API, flags and runbook documented"
# description: >-
#   Each document the lane's docs_required names is declared in the manifest, present in the docs
#   evidence and not empty.
# custom:
#   id: docs.present
#   severity: medium
#   remediation: >-
#     Write the documents the manifest's docs section names and ingest the docs directory.
result(id, lane) := docs_present(lane) if id == "docs.present"

docs_present(lane) := lib.missing("manifest") if {
	not lib.has_manifest
} else := lib.missing("docs") if {
	count(lib.docs("docs")) == 0
} else := lib.verdict(
	docs_problems(lane),
	concat("; ", [sprintf("%s: %s (%d bytes)", [key, docs_declared[key], doc_file(docs_declared[key]).bytes]) |
		some key in lib.threshold(lane, "docs_required")
	]),
	lib.digests(lib.docs("docs")),
)
