# The lane order comes from the config's `lane_order`, the one place a pack writes its lane list,
# and a lane outside it, or a config without it, gets no decision rather than an empty one that
# would allow.
package readiness.lane_order_test

import data.readiness.lib

config := {
	"lane_order": ["integration", "candidate"],
	"checks": {},
	"lanes": {"candidate": {"checks": ["c.one"]}, "integration": {"checks": ["i.one"]}},
}

test_lane_order_is_the_config_list if {
	order := lib.lane_order with data.readiness.config as config
	order == ["integration", "candidate"]
	checks := lib.lane_checks("candidate") with data.readiness.config as config
	checks == ["i.one", "c.one"]
}

test_a_lane_the_pack_does_not_list_has_no_decision if {
	not lib.decide("production", {}) with data.readiness.config as config
}

test_without_the_lane_list_no_lane_has_a_decision if {
	every lane in config.lane_order {
		not lib.decide(lane, {}) with data.readiness.config as object.remove(config, ["lane_order"])
	}
}
