# Waivers given for a pattern of modules carry an explicit owner: they cover only modules whose
# manifest names that owner (readypolicy expands the pattern to the module before evaluation).
package readiness.waiver_owner_test

import data.readiness.lib
import rego.v1

config := {
	"checks": {"a.one": {"title": "A", "severity": "high", "needs": [], "remediation": "fix a"}},
	"waivers": {"lifetime_days_max": {"candidate": 30}},
	"lanes": {"candidate": {"checks": ["a.one"]}},
	"lane_order": ["candidate"],
}

waiver(extra) := object.union(
	{
		"check": "a.one", "module": "pay-api", "lane": "candidate", "reason": "r", "approver": "bob",
		"created": "2026-11-10T00:00:00Z", "expires": "2026-11-25T00:00:00Z",
	},
	extra,
)

with_manifest(manifest, ws) := {
	"module": "pay-api", "revision": "r", "lane": "candidate", "now": "2026-11-20T00:00:00Z",
	"manifest": manifest, "evidence": {}, "waivers": ws,
}

status(inp) := c.status if {
	d := lib.decide("candidate", {"a.one": lib.fail("broken", [])}) with data.readiness.config as config with input as inp
	some c in d.checks
}

owner_waiver := waiver({"pattern": "pay-*", "owner": "team-pay"})

test_pattern_waiver_covers_a_module_of_its_owner if {
	status(with_manifest({"owner": "team-pay"}, [owner_waiver])) == "waived"
}

test_pattern_waiver_ignores_a_module_of_another_owner if {
	status(with_manifest({"owner": "team-other"}, [owner_waiver])) == "fail"
}

test_pattern_waiver_ignores_a_module_without_manifest if {
	status(with_manifest(null, [owner_waiver])) == "fail"
}

test_waiver_without_owner_needs_no_manifest if {
	status(with_manifest(null, [waiver({})])) == "waived"
}
