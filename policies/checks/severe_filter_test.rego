# Attacks on security.no_critical_vulns after its items are judged before they are built
# (docs/performance.md): a severe item hidden among many mild ones still fails the check, the
# same item reported twice counts once, a severity word off the scale counts as no severity,
# and a manifest that tightens the ceiling tightens it for every item.
package readiness.severe_filter_test

import data.readiness.checks_test
import rego.v1

named(id, severity) := object.union(checks_test.vuln(severity), {"id": id})

test_a_critical_vulnerability_among_mild_ones_fails if {
	mild := [named(sprintf("LOW-%d", [i]), "low") | some i in numbers.range(1, 40)]
	inp := checks_test.set("dependencies", "pip-audit", "/vulnerabilities", array.concat(mild, [named("CRIT-1", "critical")]))
	checks_test.message("security.no_critical_vulns", "candidate", inp) == "1 vulnerability/finding(s) above high: requests CRIT-1"
}

test_the_same_item_reported_twice_counts_once if {
	inp := checks_test.set("dependencies", "pip-audit", "/vulnerabilities", [named("CRIT-1", "critical"), named("CRIT-1", "critical")])
	checks_test.message("security.no_critical_vulns", "candidate", inp) == "1 vulnerability/finding(s) above high: requests CRIT-1"
}

test_a_severity_off_the_scale_is_not_severe if {
	inp := checks_test.set("dependencies", "pip-audit", "/vulnerabilities", [named("ODD-1", "catastrophic")])
	checks_test.res("security.no_critical_vulns", "candidate", inp).status == "pass"
}

test_a_tightened_ceiling_applies_to_every_item if {
	inp := checks_test.set("dependencies", "pip-audit", "/vulnerabilities", [named("HIGH-1", "high"), named("MED-1", "medium")])
	tightened := object.union(inp, {"manifest": object.union(inp.manifest, {"thresholds": {"candidate": {"vuln_severity_max": "low"}}})})
	checks_test.message("security.no_critical_vulns", "candidate", tightened) == "2 vulnerability/finding(s) above low: requests HIGH-1, requests MED-1"
}
