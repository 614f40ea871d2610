# Performance checks
# A baseline needs p50/p95/p99 and a CI95 for every metric. SLO compliance is judged on the
#   CI95 upper bound of p95, so a lucky sample cannot pass a budget its true p95 may exceed.
#   An SLO key <op>_p95_ms in the manifest is matched with the perf metric named <op>.
package readiness.checks

import data.readiness.lib
import rego.v1

perf_metrics := {name: {"metric": m, "digest": d.digest} |
	some d in lib.docs("perf")
	some name, m in d.data.metrics
}

result("perf.baseline", _) := r if {
	count(perf_metrics) > 0
	r := baseline_verdict
} else := lib.missing("perf")

baseline_verdict := lib.fail(
	sprintf("metric(s) without a CI95: %s", [concat(", ", sort(no_ci))]),
	sort({x.digest | some x in perf_metrics}),
) if {
	no_ci := {name | some name, x in perf_metrics; x.metric.ci95 == null}
	count(no_ci) > 0
} else := lib.pass(
	sprintf("%d metric(s) with p50/p95/p99 and CI95: %s", [count(perf_metrics), concat(", ", sort(object.keys(perf_metrics)))]),
	sort({x.digest | some x in perf_metrics}),
)

slo_budgets := {op: budget |
	some key, budget in object.get(object.get(input, "manifest", {}), "slo", {})
	endswith(key, "_p95_ms")
	op := trim_suffix(key, "_p95_ms")
}

slo_problems contains sprintf("%s: no perf metric named %q", [op, op]) if {
	some op, _ in slo_budgets
	not perf_metrics[op]
}

slo_problems contains sprintf("%s: no CI95 to judge p95 on", [op]) if {
	some op, _ in slo_budgets
	perf_metrics[op].metric.ci95 == null
}

slo_problems contains sprintf("%s: p95 CI95 upper bound %.1f ms exceeds the %v ms budget", [op, upper, budget]) if {
	some op, budget in slo_budgets
	upper := perf_metrics[op].metric.ci95.upper_ms
	upper > budget
}

result("perf.slo", _) := lib.missing("manifest") if {
	not input.manifest
} else := lib.missing("perf") if {
	count(perf_metrics) == 0
} else := lib.fail("the manifest declares no <op>_p95_ms SLO budget", []) if {
	count(slo_budgets) == 0
} else := lib.fail(concat("; ", sort(slo_problems)), sort({x.digest | some x in perf_metrics})) if {
	count(slo_problems) > 0
} else := lib.pass(
	concat("; ", sort([sprintf("%s p95 CI95 upper %.1f ms <= %v ms", [op, perf_metrics[op].metric.ci95.upper_ms, b]) |
		some op, b in slo_budgets
	])),
	sort({x.digest | some x in perf_metrics}),
)
