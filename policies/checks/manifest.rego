# Lane manifest checks
package readiness.checks

import data.readiness.lib
import rego.v1

result("manifest.present", _) := lib.pass(
	sprintf("manifest for %s owned by %s, target lane %s", [m.module, m.owner, m.target_lane]),
	lib.digests(lib.docs("manifest")),
) if {
	m := input.manifest
	m.module == input.module
} else := lib.fail(
	sprintf("the manifest describes module %q, not %q", [input.manifest.module, input.module]),
	lib.digests(lib.docs("manifest")),
) if {
	input.manifest.module != input.module
} else := lib.missing("manifest")
