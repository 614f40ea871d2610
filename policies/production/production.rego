# METADATA
# title: The production lane
# description: Every check of the lower lanes plus the production checks listed in config/data.yaml.
package readiness.production

import data.readiness.lib
import rego.v1

decision := lib.lane_decision("production")
