# METADATA
# title: The integration lane
# description: Every check of the lower lanes plus the integration checks listed in config/data.yaml.
package readiness.integration

import data.readiness.lib
import rego.v1

decision := lib.lane_decision("integration")
