# Tests that supply.sbom compares the SBOM's root component with the module it is evidence for.
package readiness.priority_test

import rego.v1

with_root_name(name) := json.patch(ready, [{"op": "add", "path": "/evidence/sbom/0/data/root_component/name", "value": name}])

test_sbom_root_naming_another_package_fails if {
	r := res("supply.sbom", "integration", with_root_name("left-pad"))
	r.status == "fail"
	r.message == "cyclonedx: the root component \"left-pad\" does not name the module \"payments\""
}

test_sbom_root_name_compares_like_a_package_index if {
	res("supply.sbom", "integration", with_root_name("Payments")).status == "pass"
	inp := json.patch(ready, [{"op": "add", "path": "/module", "value": "rp.sample"}])
	res("supply.sbom", "integration", json.patch(inp, [{"op": "add", "path": "/evidence/sbom/0/data/root_component/name", "value": "RP_sample"}])).status == "pass"
}
