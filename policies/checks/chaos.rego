# Chaos checks
# A scenario counts as passed when some experiment tagged with it passed and none tagged with
#   it failed. Every lane needs the basic scenarios; integration needs every experiment to have
#   probed its steady state before and after; production needs the full matrix, and the
#   safety-control crash must fail closed within the budget measured by the kill-switch drill.
# A check's `result` is one line, its body only the id equality OPA indexes, calling a rule or
#   function named after the check; never an else under it (see lib.lane_decision).
package readiness.checks

import data.readiness.lib
import rego.v1

chaos_docs := lib.docs("chaos")

chaos_passed contains s if {
	some d in chaos_docs
	d.data.passed
	some s in d.data.scenarios
}

chaos_failed contains s if {
	some d in chaos_docs
	not d.data.passed
	some s in d.data.scenarios
}

scenario_problems(required) := {sprintf("%s: failed (%s)", [s, titles]) |
	some s in required
	s in chaos_failed
	titles := concat(", ", sort({d.data.title | some d in chaos_docs; not d.data.passed; s in d.data.scenarios}))
} | {sprintf("%s: no experiment", [s]) |
	some s in required
	not s in chaos_passed
	not s in chaos_failed
}

chaos_scenarios_verdict(lane, name) := lib.verdict(
	scenario_problems(required),
	sprintf("%d scenario(s) passed: %s", [count(required), concat(", ", required)]),
	lib.digests(chaos_docs),
) if {
	required := lib.threshold(lane, name)
}

# METADATA
# title: "Chaos experiments (partial failure, timeout, brownout, clock skew) pass"
# description: >-
#   Every scenario of the lane's chaos_scenarios_required has a passing experiment and none failing.
# custom:
#   id: chaos.basic
#   severity: high
#   remediation: >-
#     Run a chaos experiment per required scenario (tag it with the scenario) and ingest the
#     journals.
result(id, lane) := chaos_basic(lane) if id == "chaos.basic"

chaos_basic(lane) := chaos_scenarios_verdict(lane, "chaos_scenarios_required") if {
	count(chaos_docs) > 0
} else := lib.missing("chaos")

# METADATA
# title: Every chaos experiment validated its steady state
# description: >-
#   Every chaos experiment passed and probed its steady-state hypothesis before and after.
# custom:
#   id: chaos.validation
#   severity: high
#   remediation: >-
#     Give each experiment a steady-state hypothesis probed before and after the method; fix what
#     deviates.
result(id, _) := chaos_validation if id == "chaos.validation"

chaos_validation := lib.verdict(
	{sprintf("%s: %s", [d.data.title, chaos_flaw(d.data)]) | some d in chaos_docs; chaos_flaw(d.data)},
	sprintf("all %d experiment(s) verified their steady state before and after", [count(chaos_docs)]),
	lib.digests(chaos_docs),
) if {
	count(chaos_docs) > 0
} else := lib.missing("chaos")

# Each phase is told as it was: a hypothesis probed and not met is "not met", never "not probed".
# A method that did not run as written (a dry run, a failed or non-zero action) is told first: its
#   steady state held because no fault was injected.
chaos_flaw(e) := sprintf("the method did not run as written: %s", [concat("; ", e.method_problems)]) if {
	count(object.get(e, "method_problems", [])) > 0
} else := "no steady-state hypothesis was probed" if {
	e.steady_state_before == null
	e.steady_state_after == null
} else := sprintf("run %s, deviated %v, steady state before: %s / after: %s", [e.status, e.deviated, steady_word[e.steady_state_before], steady_word[e.steady_state_after]]) if {
	not chaos_verified(e)
}

chaos_verified(e) if {
	e.passed
	e.steady_state_before == true
	e.steady_state_after == true
}

steady_word := {true: "met", false: "not met", null: "not probed"}

# METADATA
# title: Full chaos matrix passes (safety-control crash fails closed in time)
# description: >-
#   Every scenario of the lane's chaos_matrix_required passes, and the kill-switch drill shows the
#   safety control failing closed within fail_closed_ms_below.
# custom:
#   id: chaos.matrix
#   severity: critical
#   remediation: >-
#     Run the safety-crash, network-partition, memory-corruption, timeout and high-load experiments;
#     make the safety control fail closed fast.
result(id, lane) := chaos_matrix(lane) if id == "chaos.matrix"

chaos_matrix(lane) := lib.missing("chaos") if {
	count(chaos_docs) == 0
} else := lib.missing_operation("killswitch-drill") if {
	not lib.operation("killswitch-drill")
} else := lib.verdict(
	scenario_problems(required) | fail_closed_problems(lane),
	sprintf("%d scenario(s) passed: %s; the safety control fails closed in %v ms", [count(required), concat(", ", required), fail_closed_ms]),
	array.concat(lib.digests(chaos_docs), [lib.operation("killswitch-drill").digest]),
) if {
	required := lib.threshold(lane, "chaos_matrix_required")
	fail_closed_ms := object.get(details(lib.operation("killswitch-drill")), "fail_closed_ms", "not recorded")
}

fail_closed_problems(lane) := bounded(lib.operation("killswitch-drill"), "fail_closed_ms", lane, "fail_closed_ms_below", "the safety control's fail-closed time (ms)")
