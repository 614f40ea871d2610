# Waivers given for a pattern of modules carry an explicit owner: they cover only modules the
# pack's data (`waivers.owners`, team -> exact module names) gives that owner. The module's
# manifest, which the module writes itself, never decides (readypolicy expands the pattern to the
# module before evaluation).
package readiness.waiver_owner_test

import data.readiness.lib
import rego.v1

owners := {"team-pay": ["pay-api", "pay-worker"], "team-other": ["ledger"]}

config_with(table) := {
	"checks": {"a.one": {"title": "A", "severity": "high", "needs": [], "remediation": "fix a"}},
	"waivers": object.union({"lifetime_days_max": {"candidate": 30}}, table),
	"lanes": {"candidate": {"checks": ["a.one"]}},
	"lane_order": ["candidate"],
}

config := config_with({"owners": owners})

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

status_under(cfg, inp) := c.status if {
	d := lib.decide("candidate", {"a.one": lib.fail("broken", [])}) with data.readiness.config as cfg with input as inp
	some c in d.checks
}

status(inp) := status_under(config, inp)

owner_waiver := waiver({"pattern": "pay-*", "owner": "team-pay"})

test_pattern_waiver_covers_a_module_the_pack_gives_its_owner if {
	status(with_manifest({"owner": "team-pay"}, [owner_waiver])) == "waived"
}

test_pattern_waiver_covers_its_owners_module_whatever_the_manifest_says if {
	status(with_manifest(null, [owner_waiver])) == "waived"
	status(with_manifest({"owner": "team-other"}, [owner_waiver])) == "waived"
}

# The attack: a module of team-other names team-pay as its owner in its own manifest.
test_a_manifest_naming_another_team_does_not_join_it if {
	ledger := object.union(with_manifest({"owner": "team-pay"}, [waiver({"module": "ledger", "pattern": "*", "owner": "team-pay"})]), {"module": "ledger"})
	status(ledger) == "fail"
}

test_pattern_waiver_ignores_a_module_of_another_owner if {
	status(with_manifest({"owner": "team-pay"}, [waiver({"pattern": "pay-*", "owner": "team-other"})])) == "fail"
}

test_an_unknown_owner_owns_nothing if {
	status(with_manifest({"owner": "team-new"}, [waiver({"pattern": "pay-*", "owner": "team-new"})])) == "fail"
}

test_a_module_no_team_lists_is_owned_by_nobody if {
	unlisted := object.union(with_manifest({"owner": "team-pay"}, [waiver({"module": "pay-new", "pattern": "pay-*", "owner": "team-pay"})]), {"module": "pay-new"})
	status(unlisted) == "fail"
}

test_without_an_owners_table_a_pattern_waiver_covers_nothing if {
	status_under(config_with({}), with_manifest({"owner": "team-pay"}, [owner_waiver])) == "fail"
}

test_an_owners_entry_that_is_not_a_list_owns_nothing if {
	status_under(config_with({"owners": {"team-pay": "pay-api"}}), with_manifest({"owner": "team-pay"}, [owner_waiver])) == "fail"
	status_under(config_with({"owners": {"team-pay": {"x": "pay-api"}}}), with_manifest({"owner": "team-pay"}, [owner_waiver])) == "fail"
}

test_waiver_without_owner_needs_no_owners_table if {
	status_under(config_with({}), with_manifest(null, [waiver({})])) == "waived"
}
