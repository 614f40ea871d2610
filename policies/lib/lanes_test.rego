# What a lane's check list must be, derived from a configuration rather than counted by hand, so
# adding a check to a pack's catalog and lane list breaks no test that is not about that check.
package readiness.lanes_test

import data.readiness.lib
import rego.v1

# The checks lane `lane` decides under `cfg`: the ones it lists and those of every lower lane.
catalog_lane_checks(cfg, lane) := {id |
	some last, current in cfg.lane_order
	current == lane
	some l in array.slice(cfg.lane_order, 0, last + 1)
	some id in cfg.lanes[l].checks
}

# lib.lane_checks decides each catalog check of the lane exactly once (a check listed by two lanes
# would be decided twice), and only those.
lanes_accumulate(cfg) if {
	every lane in cfg.lane_order {
		ids := lib.lane_checks(lane) with data.readiness.config as cfg
		expected := catalog_lane_checks(cfg, lane)
		count(ids) == count(expected)
		{id | some id in ids} == expected
	}
}

small := {"lane_order": ["candidate", "integration", "production"], "lanes": {
	"candidate": {"checks": ["a"]},
	"integration": {"checks": ["b", "c"]},
	"production": {"checks": ["d"]},
}}

test_lane_checks_follow_the_catalog if {
	catalog_lane_checks(small, "integration") == {"a", "b", "c"}
	lanes_accumulate(small)
}

test_a_check_listed_by_two_lanes_is_caught if {
	not lanes_accumulate(json.patch(small, [{"op": "add", "path": "/lanes/production/checks/-", "value": "a"}]))
}
