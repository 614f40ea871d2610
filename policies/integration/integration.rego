# METADATA
# title: The integration lane
# description: Every check of the lower lanes plus the integration checks listed in config/data.yaml.
package readiness.integration

import data.readiness.checks
import data.readiness.lib
import rego.v1

decision := lib.decide("integration", {id: r | some id in lib.lane_checks("integration"); r := checks.result(id, "integration")})
