# Tests of licenses.allowed: a configuration of their own (an allow-list, and an unknown-licence
# ceiling in production only) and SBOM documents shaped as the sbom normalizer writes them.
package readiness.licenses_test

import data.readiness.checks
import data.readiness.checks_test
import rego.v1

config := {
	"licenses": {"allowed": ["Apache-2.0", "BSD-3-Clause", "MIT", "Python Software Foundation License"]},
	"lane_order": ["candidate", "integration", "production"],
	"lanes": {
		"candidate": {"checks": []},
		"integration": {"checks": ["licenses.allowed"]},
		"production": {"checks": [], "thresholds": {"licenses_unknown_max": 0}},
	},
}

sbom(scope, licenses, unlicensed) := {
	"digest": sprintf("sha256:%s", [crypto.sha256(scope)]),
	"scope": scope, "format": "cyclonedx-json", "producer": {"tool": "fixture", "version": "1"},
	"collected_at": "2026-11-20T12:00:00Z",
	"data": {
		"format": "cyclonedx", "spec_version": "1.6", "components": 4, "has_root_component": true,
		"root_component": {"name": "payments", "version": "4.2.0"}, "licenses": licenses,
		"components_without_license": unlicensed,
	},
}

with_sboms(docs) := json.patch(checks_test.good, [{"op": "add", "path": "/evidence/sbom", "value": docs}])

res(lane, inp) := r if {
	r := checks.result("licenses.allowed", lane) with input as inp with data.readiness.config as config
}

test_allowed_licences_pass if {
	r := res("integration", with_sboms([sbom("default", ["Apache-2.0", "MIT"], 0)]))
	r.status == "pass"
	r.message == "default: 2 licence(s) allowed (Apache-2.0, MIT)"
	r.evidence == [sprintf("sha256:%s", [crypto.sha256("default")])]
}

test_ids_compare_case_insensitively if {
	res("integration", with_sboms([sbom("default", ["mit", "APACHE-2.0"], 0)])).status == "pass"
}

test_a_licence_off_the_list_fails if {
	r := res("integration", with_sboms([sbom("default", ["GPL-3.0-only", "MIT"], 0)]))
	r.status == "fail"
	r.message == "default: GPL-3.0-only is not on the allow-list (gpl-3.0-only)"
}

test_an_expression_needs_every_id_allowed if {
	res("integration", with_sboms([sbom("default", ["(MIT AND BSD-3-Clause)"], 0)])).status == "pass"
	r := res("integration", with_sboms([sbom("default", ["MIT OR GPL-2.0-only WITH Classpath-exception-2.0"], 0)]))
	r.message == "default: MIT OR GPL-2.0-only WITH Classpath-exception-2.0 is not on the allow-list (classpath-exception-2.0, gpl-2.0-only)"
}

test_a_listed_licence_name_is_judged_whole if {
	res("integration", with_sboms([sbom("default", ["Python Software Foundation License"], 0)])).status == "pass"
	r := res("integration", with_sboms([sbom("default", ["GNU General Public License v3"], 0)]))
	r.message == "default: GNU General Public License v3 is not on the allow-list (general, gnu, license, public, v3)"
}

test_every_sbom_is_judged if {
	r := res("integration", with_sboms([sbom("app", ["MIT"], 0), sbom("image", ["AGPL-3.0-only"], 0)]))
	r.status == "fail"
	r.message == "image: AGPL-3.0-only is not on the allow-list (agpl-3.0-only)"
	count(r.evidence) == 2
}

test_unknown_licences_are_named_and_judged_where_the_lane_sets_a_ceiling if {
	inp := with_sboms([sbom("default", ["MIT"], 2)])
	r := res("integration", inp)
	r.status == "pass"
	r.message == "default: 1 licence(s) allowed (MIT); 2 component(s) declare no licence"
	p := res("production", inp)
	p.status == "fail"
	p.message == "default: 2 component(s) declare no licence; at most 0 allowed"
}

test_an_sbom_without_licences_fails_only_where_unknown_ones_are_capped if {
	inp := with_sboms([sbom("default", [], 4)])
	res("integration", inp).message == "default: the SBOM declares no licence; 4 component(s) declare no licence"
	res("production", inp).status == "fail"
}

test_no_sbom_is_missing if {
	r := res("integration", object.union(checks_test.good, {"evidence": object.remove(checks_test.good.evidence, ["sbom"])}))
	r.status == "missing"
	r.message == "no sbom evidence was ingested for this module revision"
}

test_no_sbom_kind_is_missing if {
	res("integration", with_sboms([])).status == "missing"
}
