# METADATA
# title: The candidate lane
# description: Every check of the lower lanes plus the candidate checks listed in config/data.yaml.
package readiness.candidate

import data.readiness.lib
import rego.v1

decision := lib.lane_decision("candidate")
