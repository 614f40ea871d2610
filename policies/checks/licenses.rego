# Licence checks
package readiness.checks

import data.readiness.lib
import rego.v1

sboms := lib.docs("sbom")

# SPDX ids compare case-insensitively; an allow-list entry may also be a licence name as an SBOM
# tool writes it, compared the same way.
allowed_licenses contains lower(l) if some l in lib.config.licenses.allowed

# The licence ids of one SBOM licence entry: an SPDX expression is split into its ids, so
# `MIT OR GPL-3.0-only` needs both MIT and GPL-3.0-only allowed (the choice an OR offers is not
# recorded in the SBOM, so the stricter reading is taken), and a `WITH` exception must be allowed
# itself. An entry that is no expression (a licence name with spaces) is judged whole.
license_ids(entry) := {lower(entry)} if {
	lower(entry) in allowed_licenses
} else := {lower(t) |
	some t in regex.split(`[\s()]+`, entry)
	t != ""
	not upper(t) in {"AND", "OR", "WITH"}
}

disallowed(entry) := [id | some id in license_ids(entry); not id in allowed_licenses]

license_problems(lane) := {sprintf("%s: %s is not on the allow-list (%s)", [s.scope, entry, concat(", ", sort(disallowed(entry)))]) |
	some s in sboms
	some entry in s.data.licenses
	count(disallowed(entry)) > 0
} | {sprintf("%s: %d component(s) declare no licence; at most %v allowed", [s.scope, s.data.components_without_license, limit]) |
	limit := lib.threshold(lane, "licenses_unknown_max")
	some s in sboms
	s.data.components_without_license > limit
}

license_summary(s) := sprintf("%s: %d licence(s) allowed (%s)%s", [
	s.scope, count(s.data.licenses), concat(", ", s.data.licenses),
	unknown_note(s.data.components_without_license),
]) if {
	count(s.data.licenses) > 0
} else := sprintf("%s: the SBOM declares no licence%s", [s.scope, unknown_note(s.data.components_without_license)])

unknown_note(0) := ""

unknown_note(n) := sprintf("; %d component(s) declare no licence", [n]) if n > 0

# METADATA
# title: SBOM licences on the allow-list
# description: >-
#   Every licence the module's SBOM names (CycloneDX or SPDX, any scope) is on the pack's
#   allow-list, data.readiness.config.licenses.allowed. Components that declare no licence are named
#   in the message, and fail the check above the lane's licenses_unknown_max when the lane sets one.
#   No SBOM is missing evidence.
# custom:
#   id: licenses.allowed
#   severity: high
#   remediation: >-
#     Replace or get legal approval for each dependency whose licence is not in licenses.allowed,
#     then ingest the SBOM (CycloneDX or SPDX JSON).
result(id, lane) := licenses_allowed(lane) if id == "licenses.allowed"

licenses_allowed(lane) := lib.verdict(
	license_problems(lane),
	concat("; ", sort([license_summary(s) | some s in sboms])),
	lib.digests(sboms),
) if {
	count(sboms) > 0
} else := lib.missing("sbom")
